//! Every CSV the server writes goes through [`write`], and every cell of it through
//! [`neutralise`], so a spreadsheet opening the file never runs a cell as a formula (CSV
//! injection, OWASP): a doctor named `=HYPERLINK(...)` is written `'=HYPERLINK(...)`.
//!
//! The rule applies to every cell whatever its column, so a new column cannot forget it, with
//! one exception: a cell that is a plain number (`-2`, `+3.5`, `-1e3`) is left as it is. A
//! spreadsheet reads it as that number, not as a formula, and a negative figure the server
//! writes keeps its value for whoever sums the column. A cell that only starts like a number
//! (`-2+3+cmd|' /C calc'!A0`) is text and gets its `'`.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;

/// The characters that make a spreadsheet read a cell as a formula (or, for tab and carriage
/// return, hide one behind them), after OWASP's "CSV Injection".
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The cell as written to the CSV: prefixed with `'` when it starts with one of `=`, `+`, `-`,
/// `@`, tab or carriage return, unless it is a plain number.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) && !is_plain_number(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// An optional sign, digits with at most one decimal point (digits on at least one side), and
/// an optional exponent: what a spreadsheet reads as a number. Not `inf` or `NaN`, which
/// Rust's float parser would take.
fn is_plain_number(cell: &str) -> bool {
    let unsigned = cell.strip_prefix(['+', '-']).unwrap_or(cell);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (unsigned, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok =
        digits(whole) && digits(fraction) && !(whole.is_empty() && fraction.is_empty());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

/// One row's cell for a JSON value: text neutralised, `null` empty, numbers and booleans as
/// JSON writes them.
fn cell(value: Option<&Value>) -> Cow<'_, str> {
    match value {
        None | Some(Value::Null) => Cow::Borrowed(""),
        Some(Value::String(text)) => neutralise(text),
        Some(other) => Cow::Owned(neutralise(&other.to_string()).into_owned()),
    }
}

/// Writes `rows` as CSV: a header line with `columns` (the rows' JSON keys, in order), then one
/// line per row with each key's value, `null` as an empty cell, every cell neutralised.
pub fn write<T: Serialize>(columns: &[&str], rows: &[T]) -> anyhow::Result<Vec<u8>> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    writer
        .write_record(columns.iter().map(|c| neutralise(c).into_owned()))
        .map_err(|e| anyhow::anyhow!("writing a CSV header: {e}"))?;
    for row in rows {
        let value = serde_json::to_value(row)
            .map_err(|e| anyhow::anyhow!("turning a CSV row into values: {e}"))?;
        let record: Vec<Cow<'_, str>> = columns
            .iter()
            .map(|column| cell(value.get(column)))
            .collect();
        writer
            .write_record(record.iter().map(|c| c.as_bytes()))
            .map_err(|e| anyhow::anyhow!("writing a CSV row: {e}"))?;
    }
    writer
        .into_inner()
        .map_err(|e| anyhow::anyhow!("finishing a CSV: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_a_spreadsheet_would_run_get_a_quote() {
        for (cell, written) in [
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "'=HYPERLINK(\"http://x\",\"y\")",
            ),
            ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
            ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
            (
                "@SUM(1+1)*cmd|' /C calc'!A0",
                "'@SUM(1+1)*cmd|' /C calc'!A0",
            ),
            ("\t=1+1", "'\t=1+1"),
            ("\r=1+1", "'\r=1+1"),
            ("-", "'-"),
            ("-inf", "'-inf"),
            ("+NaN", "'+NaN"),
            ("-.", "'-."),
            ("-1e", "'-1e"),
            ("Dr. Ana", "Dr. Ana"),
            ("", ""),
            ("a=b", "a=b"),
            ("-2", "-2"),
            ("+3.5", "+3.5"),
            ("-0.25", "-0.25"),
            ("-.5", "-.5"),
            ("-1e3", "-1e3"),
            ("-1.5E-3", "-1.5E-3"),
            ("42", "42"),
        ] {
            assert_eq!(neutralise(cell), written, "{cell:?}");
        }
    }

    #[test]
    fn rows_are_written_by_their_columns_with_empty_nulls() {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Row {
            doctor_name: Option<String>,
            wait_seconds: Option<i64>,
            rate: f64,
        }
        let rows = [
            Row {
                doctor_name: Some("=1+1".into()),
                wait_seconds: Some(-2),
                rate: 0.25,
            },
            Row {
                doctor_name: None,
                wait_seconds: None,
                rate: 0.0,
            },
        ];
        let text = write(&["doctorName", "waitSeconds", "rate"], &rows).unwrap();
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "doctorName,waitSeconds,rate\n'=1+1,-2,0.25\n,,0.0\n"
        );
    }
}
