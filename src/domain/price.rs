//! Prices: accepted as a JSON number or a decimal string, always written as a decimal string
//! (`"100"`, `"99.90"`): whole amounts stay whole, others get two decimals.

use serde_json::Value;

/// The canonical decimal string, or `None` for a negative, malformed or over-precise price.
pub fn normalize(value: &Value) -> Option<String> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        _ => return None,
    };
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (text.as_str(), None),
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 12 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) {
        return None;
    }
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    match fraction {
        None => Some(whole.to_string()),
        Some(f) if digits(f) && f.len() <= 2 => Some(format!("{whole}.{f:0<2}")),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_whole_and_cent_prices() {
        assert_eq!(normalize(&json!(100)).as_deref(), Some("100"));
        assert_eq!(normalize(&json!("100")).as_deref(), Some("100"));
        assert_eq!(normalize(&json!("99.90")).as_deref(), Some("99.90"));
        assert_eq!(normalize(&json!(99.9)).as_deref(), Some("99.90"));
        assert_eq!(normalize(&json!("0.5")).as_deref(), Some("0.50"));
    }

    #[test]
    fn rejects_negative_malformed_and_fractional_cents() {
        for bad in [
            json!(-1),
            json!("abc"),
            json!("1.234"),
            json!(true),
            json!(null),
            json!("1e3"),
            json!(""),
        ] {
            assert_eq!(normalize(&bad), None, "{bad}");
        }
    }
}
