//! Clock and formats: timestamps are stored as milliseconds since the epoch and written as
//! UTC with milliseconds and `Z`; days are `YYYY-MM-DD`; times of day are `HH:mm`. A clinic's
//! day (its zone, its today) is `domain::clinic_clock`'s.

use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, Utc};

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
    fn parses_strict_days_and_times() {
        assert!(parse_day("2025-01-23").is_some());
        assert!(parse_day("2025-1-23").is_none());
        assert!(parse_day("2025-02-30").is_none());
        assert!(parse_time_of_day("09:15").is_some());
        assert!(parse_time_of_day("9:15").is_none());
        assert!(parse_time_of_day("24:00").is_none());
    }
}
