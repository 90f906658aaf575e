//! The clinic's clock, in one place: its time zone (the account's `timeZone` setting, else the
//! server's default zone), its today and the instants its days start and end. Every "today"
//! of the server (the queue's default day, self check-in, the end of a status link, the slots,
//! the reports' ranges, the demo) comes from here: never the server's own zone.
//!
//! Every function takes `now` (or the day) so that it can be tested at any instant.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// A clinic's day at one instant: its zone, the day it is there, and when that day ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClinicDay {
    /// The clinic's IANA time zone.
    pub zone: Tz,
    /// The day it is in the clinic.
    pub today: NaiveDate,
    /// The next local midnight (or, when the clocks skip it, the first instant of the next day).
    pub ends_at: DateTime<Utc>,
}

impl ClinicDay {
    /// `today` as `YYYY-MM-DD`.
    pub fn today_text(&self) -> String {
        self.today.format("%Y-%m-%d").to_string()
    }
}

/// The clinic's day at `now`: the zone of its `setting` (an IANA name, as stored on the
/// account) or else `default_zone`, the day in that zone and the end of that day.
pub fn clinic_day(setting: Option<&str>, default_zone: Tz, now: DateTime<Utc>) -> ClinicDay {
    let zone = zone_of(setting, default_zone);
    let today = now.with_timezone(&zone).date_naive();
    ClinicDay {
        zone,
        today,
        ends_at: day_end(zone, today),
    }
}

/// The zone of an account's setting, else `default_zone` (also for a name the tz database no
/// longer knows).
pub fn zone_of(setting: Option<&str>, default_zone: Tz) -> Tz {
    setting.and_then(parse_zone).unwrap_or(default_zone)
}

/// An IANA time zone name (`America/Sao_Paulo`), exactly as the tz database spells it.
pub fn parse_zone(name: &str) -> Option<Tz> {
    name.parse::<Tz>().ok()
}

/// The first instant of `day` in `zone`: its midnight, the first of two when the clocks go
/// back over it, or the earliest valid local time after it when they skip it (São Paulo's
/// 2018-11-04 began at 01:00).
pub fn day_start(zone: Tz, day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    // A gap lasts at most a few hours; minutes are the finest step offsets have moved by
    // since 1970.
    (0..=24 * 60)
        .map(|minutes| midnight + Duration::minutes(minutes))
        .find_map(|local| match zone.from_local_datetime(&local) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.with_timezone(&Utc)),
            LocalResult::None => None,
        })
        .unwrap_or_else(|| midnight.and_utc())
}

/// The instant `day` ends in `zone`: the start of the next day.
pub fn day_end(zone: Tz, day: NaiveDate) -> DateTime<Utc> {
    match day.succ_opt() {
        Some(next) => day_start(zone, next),
        None => DateTime::<Utc>::MAX_UTC,
    }
}

/// The instant of a local wall-clock time: `minutes` after the start of `day` in `zone`.
pub fn at_minute(zone: Tz, day: NaiveDate, minutes: f64) -> DateTime<Utc> {
    day_start(zone, day) + Duration::milliseconds((minutes * 60_000.0) as i64)
}

/// The server's default zone, read once at start: `TZ` when it names an IANA zone, else the
/// system's zone, else `UTC` (a POSIX `TZ` string such as `BRT3` gives `UTC`).
pub fn server_default_zone() -> Tz {
    let name = std::env::var("TZ")
        .ok()
        .map(|tz| tz.trim_start_matches(':').to_string())
        .filter(|tz| !tz.is_empty())
        .or_else(|| iana_time_zone::get_timezone().ok())
        .unwrap_or_else(|| "UTC".to_string());
    parse_zone(&name).unwrap_or(Tz::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_setting_names_the_zone_else_the_default_does() {
        let now = utc("2026-11-26T13:00:00Z");
        let set = clinic_day(Some("America/Sao_Paulo"), Tz::UTC, now);
        assert_eq!(set.zone, Tz::America__Sao_Paulo);
        assert_eq!(clinic_day(None, Tz::Asia__Tokyo, now).zone, Tz::Asia__Tokyo);
        assert_eq!(clinic_day(Some("Mars/Olympus"), Tz::UTC, now).zone, Tz::UTC);
        assert!(parse_zone("").is_none());
    }

    #[test]
    fn utc_days_run_from_midnight_to_midnight() {
        let clinic = clinic_day(None, Tz::UTC, utc("2026-11-26T23:59:59Z"));
        assert_eq!(clinic.today_text(), "2026-11-26");
        assert_eq!(clinic.ends_at, utc("2026-11-27T00:00:00Z"));
    }

    #[test]
    fn kiritimati_is_already_on_the_next_day_from_ten_in_the_morning_utc() {
        let zone = Some("Pacific/Kiritimati");
        let morning = clinic_day(zone, Tz::UTC, utc("2026-11-26T09:59:00Z"));
        assert_eq!(morning.today, day("2026-11-26"));
        assert_eq!(morning.ends_at, utc("2026-11-26T10:00:00Z"));
        let later = clinic_day(zone, Tz::UTC, utc("2026-11-26T10:00:00Z"));
        assert_eq!(later.today, day("2026-11-27"));
        assert_eq!(later.ends_at, utc("2026-11-27T10:00:00Z"));
    }

    #[test]
    fn sao_paulo_is_still_on_the_day_before_until_three_utc() {
        let zone = Some("America/Sao_Paulo");
        let night = clinic_day(zone, Tz::UTC, utc("2026-11-27T02:30:00Z"));
        assert_eq!(night.today, day("2026-11-26"));
        assert_eq!(night.ends_at, utc("2026-11-27T03:00:00Z"));
    }

    #[test]
    fn a_day_whose_midnight_the_clocks_skip_starts_when_they_jump() {
        // 2018-11-04: São Paulo went from 00:00 -03 straight to 01:00 -02.
        let zone = Tz::America__Sao_Paulo;
        assert_eq!(
            day_start(zone, day("2018-11-04")),
            utc("2018-11-04T03:00:00Z")
        );
        let saturday = clinic_day(
            Some("America/Sao_Paulo"),
            Tz::UTC,
            utc("2018-11-04T02:59:59Z"),
        );
        assert_eq!(saturday.today, day("2018-11-03"));
        assert_eq!(saturday.ends_at, utc("2018-11-04T03:00:00Z"));
        let sunday = clinic_day(
            Some("America/Sao_Paulo"),
            Tz::UTC,
            utc("2018-11-04T03:00:00Z"),
        );
        assert_eq!(sunday.today, day("2018-11-04"));
        // 23 hours long: it ends at the next midnight, -02.
        assert_eq!(sunday.ends_at, utc("2018-11-05T02:00:00Z"));
    }

    #[test]
    fn a_day_whose_midnight_repeats_starts_at_the_first_one() {
        // 2019-02-17: São Paulo went back from 00:00 -02 to 23:00 -03 on the 16th; the 16th is
        // 25 hours long and ends at the only midnight of the 17th, -03.
        let zone = Tz::America__Sao_Paulo;
        let start = day_start(zone, day("2019-02-16"));
        let end = day_end(zone, day("2019-02-16"));
        assert_eq!(start, utc("2019-02-16T02:00:00Z"));
        assert_eq!(end, utc("2019-02-17T03:00:00Z"));
        assert_eq!((end - start).num_hours(), 25);
    }

    #[test]
    fn a_local_minute_counts_from_the_start_of_the_day() {
        let at = at_minute(Tz::America__Sao_Paulo, day("2026-11-26"), 8.0 * 60.0 + 30.0);
        assert_eq!(at, utc("2026-11-26T11:30:00Z"));
    }
}
