//! Clock and formats: timestamps are stored as milliseconds since the epoch and written as
//! UTC with milliseconds and `Z`; days are `YYYY-MM-DD`; times of day are `HH:mm`.

use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, Utc};
use chrono_tz::Tz;

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// `2025-01-23T09:00:00.000Z`.
pub fn format_ms(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The payload's `date`: the day at midnight UTC.
pub fn day_at_midnight(day: &str) -> String {
    format!("{day}T00:00:00.000Z")
}

/// The day in the server's zone (`TZ`): the default clinic's "today" (each account may set
/// its own zone; see `http::account::clinic_today`).
pub fn today() -> NaiveDate {
    today_in(server_zone())
}

/// The server's IANA time zone name: `TZ` when set, else the system's, else `UTC`.
pub fn zone_name() -> String {
    std::env::var("TZ")
        .ok()
        .map(|tz| tz.trim_start_matches(':').to_string())
        .filter(|tz| !tz.is_empty())
        .or_else(|| iana_time_zone::get_timezone().ok())
        .unwrap_or_else(|| "UTC".to_string())
}

/// The server's zone as a `Tz` (`UTC` when its name is not an IANA zone, e.g. a POSIX `TZ`
/// string such as `BRT3`).
pub fn server_zone() -> Tz {
    parse_zone(&zone_name()).unwrap_or(Tz::UTC)
}

/// An IANA time zone name (`America/Sao_Paulo`), exactly as the tz database spells it.
pub fn parse_zone(name: &str) -> Option<Tz> {
    name.parse::<Tz>().ok()
}

/// The day it is now in `zone`.
pub fn today_in(zone: Tz) -> NaiveDate {
    Utc::now().with_timezone(&zone).date_naive()
}

/// Parses `YYYY-MM-DD`.
pub fn parse_day(s: &str) -> Option<NaiveDate> {
    if s.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// Parses `HH:mm`.
pub fn parse_time_of_day(s: &str) -> Option<NaiveTime> {
    if s.len() != 5 {
        return None;
    }
    NaiveTime::parse_from_str(s, "%H:%M").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_milliseconds_and_z() {
        assert_eq!(format_ms(1_737_622_800_000), "2025-01-23T09:00:00.000Z");
        assert_eq!(day_at_midnight("2025-01-23"), "2025-01-23T00:00:00.000Z");
    }

    #[test]
    fn zones_are_iana_names_and_give_their_own_day() {
        assert_eq!(
            parse_zone("America/Sao_Paulo"),
            Some(Tz::America__Sao_Paulo)
        );
        assert!(parse_zone("Mars/Olympus").is_none());
        assert!(parse_zone("").is_none());
        // 25 hours apart: the two days always differ.
        let east = today_in(Tz::Pacific__Kiritimati);
        let west = today_in(Tz::Pacific__Pago_Pago);
        assert!(east > west);
    }

    #[test]
    fn parses_strict_days_and_times() {
        assert!(parse_day("2025-01-23").is_some());
        assert!(parse_day("2025-1-23").is_none());
        assert!(parse_day("2025-02-30").is_none());
        assert!(parse_time_of_day("09:15").is_some());
        assert!(parse_time_of_day("9:15").is_none());
        assert!(parse_time_of_day("24:00").is_none());
    }
}
