//! Legal priority in the waiting queue (Lei 10.048/2000; Estatuto da Pessoa Idosa as amended by
//! Lei 13.466/2017): 80 or older first, then 60 or older and people with a priority flag, then
//! everyone else.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;

/// Flags the receptionist may set at check-in.
pub const FLAGS: [&str; 5] = [
    "gestante",
    "lactante",
    "crianca_colo",
    "deficiencia",
    "obesidade",
];

/// The payload's `priority`: `{"tier":1,"label":"Prioridade especial","reasons":["80+"]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Priority {
    /// 1 = 80 or older, 2 = 60 or older or flagged, 3 = everyone else.
    pub tier: i64,
    pub label: &'static str,
    pub reasons: Vec<String>,
    /// The flags were declared by the patient at the self check-in totem, not set by staff.
    #[serde(rename = "declaredByPatient")]
    pub declared_by_patient: bool,
}

/// Whole years between `birth` and `on`.
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> i32 {
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

/// Computes the tier from the birth date (on the appointment's day) and the flags set.
pub fn compute(birth: Option<NaiveDate>, on: NaiveDate, flags: &[String]) -> Priority {
    let age = birth.map(|b| age_on(b, on));
    let mut reasons = Vec::new();
    match age {
        Some(a) if a >= 80 => reasons.push("80+".to_string()),
        Some(a) if a >= 60 => reasons.push("60+".to_string()),
        _ => {}
    }
    reasons.extend(flags.iter().cloned());
    let tier = if age.is_some_and(|a| a >= 80) {
        1
    } else if !reasons.is_empty() {
        2
    } else {
        3
    };
    let label = match tier {
        1 => "Prioridade especial",
        2 => "Prioridade",
        _ => "Normal",
    };
    Priority {
        tier,
        label,
        reasons,
        declared_by_patient: false,
    }
}

/// Splits the stored comma-joined flags.
pub fn split_flags(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn age_counts_whole_years_on_the_day() {
        assert_eq!(age_on(day("1946-11-26"), day("2026-11-26")), 80);
        assert_eq!(age_on(day("1946-11-27"), day("2026-11-26")), 79);
    }

    #[test]
    fn tiers_follow_the_law() {
        let on = day("2026-11-26");
        assert_eq!(compute(Some(day("1940-01-01")), on, &[]).tier, 1);
        assert_eq!(compute(Some(day("1960-01-01")), on, &[]).tier, 2);
        assert_eq!(
            compute(Some(day("1990-01-01")), on, &["gestante".into()]).tier,
            2
        );
        assert_eq!(compute(Some(day("1990-01-01")), on, &[]).tier, 3);
        assert_eq!(compute(None, on, &[]).tier, 3);
        let p = compute(Some(day("1940-01-01")), on, &["deficiencia".into()]);
        assert_eq!(
            p.reasons,
            vec!["80+".to_string(), "deficiencia".to_string()]
        );
        assert_eq!(p.label, "Prioridade especial");
    }
}
