//! A doctor's slots on a day: from `startTime` to `endTime` in steps of `intervalMinutes`, on
//! the doctor's working days; a slot is taken when a booked time overlaps it.

use chrono::{Datelike, NaiveDate, NaiveTime, Timelike, Weekday};

/// The canonical working-day name of a date (as `weekdays::parse` writes it).
pub fn day_name(day: NaiveDate) -> &'static str {
    match day.weekday() {
        Weekday::Mon => "Segunda",
        Weekday::Tue => "Terça",
        Weekday::Wed => "Quarta",
        Weekday::Thu => "Quinta",
        Weekday::Fri => "Sexta",
        Weekday::Sat => "Sábado",
        Weekday::Sun => "Domingo",
    }
}

/// A doctor's hours, as stored.
#[derive(Debug, Clone, Copy)]
pub struct Hours {
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub interval_minutes: u32,
}

/// One slot, `[start, end)` in minutes since midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub start: u32,
    pub end: u32,
    pub free: bool,
}

fn minutes(t: NaiveTime) -> u32 {
    t.hour() * 60 + t.minute()
}

/// `HH:mm` of minutes since midnight.
pub fn hhmm(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// Whole slots only: a remainder shorter than the interval before `end` is not offered.
/// `booked` holds `(start, end)` times of day; one that overlaps a slot takes it.
pub fn slots(hours: Hours, booked: &[(NaiveTime, NaiveTime)]) -> Vec<Slot> {
    let (start, end, step) = (
        minutes(hours.start),
        minutes(hours.end),
        hours.interval_minutes,
    );
    if step == 0 {
        return Vec::new();
    }
    let booked: Vec<(u32, u32)> = booked
        .iter()
        .map(|(s, e)| (minutes(*s), minutes(*e)))
        .collect();
    let mut out = Vec::new();
    let mut at = start;
    while at + step <= end {
        let slot_end = at + step;
        let taken = booked.iter().any(|(s, e)| *s < slot_end && *e > at);
        out.push(Slot {
            start: at,
            end: slot_end,
            free: !taken,
        });
        at = slot_end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveTime {
        NaiveTime::parse_from_str(s, "%H:%M").unwrap()
    }

    #[test]
    fn whole_slots_between_the_hours_and_overlaps_take_them() {
        let hours = Hours {
            start: t("08:00"),
            end: t("09:45"),
            interval_minutes: 30,
        };
        let got = slots(hours, &[(t("08:40"), t("08:50")), (t("09:00"), t("09:30"))]);
        let shown: Vec<(String, bool)> = got.iter().map(|s| (hhmm(s.start), s.free)).collect();
        assert_eq!(
            shown,
            [
                ("08:00".to_string(), true),
                ("08:30".to_string(), false),
                ("09:00".to_string(), false)
            ]
        );
        // Touching ends do not overlap.
        let edge = slots(hours, &[(t("07:30"), t("08:00")), (t("08:30"), t("09:00"))]);
        assert!(edge[0].free && !edge[1].free && edge[2].free);
    }

    #[test]
    fn names_the_day_as_working_days_do() {
        let monday = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        assert_eq!(day_name(monday), "Segunda");
        assert_eq!(day_name(monday.succ_opt().unwrap()), "Terça");
    }
}
