//! CPF (Cadastro de Pessoas Físicas): format and check digits.

/// Returns the 11 digits of a valid CPF given as `123.456.789-09` or `12345678909`.
pub fn normalize(input: &str) -> Option<String> {
    let trimmed = input.trim();
    let digits: String = if trimmed.len() == 14 {
        let b = trimmed.as_bytes();
        if b[3] != b'.' || b[7] != b'.' || b[11] != b'-' {
            return None;
        }
        trimmed.chars().filter(|c| *c != '.' && *c != '-').collect()
    } else {
        trimmed.to_string()
    };
    if digits.len() != 11 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let d: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
    if d.iter().all(|x| *x == d[0]) {
        return None;
    }
    (check_digit(&d[..9]) == d[9] && check_digit(&d[..10]) == d[10]).then_some(digits)
}

/// The check digit that follows `digits` (9 or 10 of them).
fn check_digit(digits: &[u32]) -> u32 {
    let weight = digits.len() as u32 + 1;
    let sum: u32 = digits
        .iter()
        .enumerate()
        .map(|(i, d)| d * (weight - i as u32))
        .sum();
    let rest = (sum * 10) % 11;
    if rest == 10 { 0 } else { rest }
}

/// Completes 9 base digits with their two check digits (for demo data and tests).
pub fn complete(base: u32) -> String {
    let mut d: Vec<u32> = format!("{:09}", base % 1_000_000_000)
        .bytes()
        .map(|b| u32::from(b - b'0'))
        .collect();
    d.push(check_digit(&d));
    d.push(check_digit(&d));
    d.iter()
        .map(|x| char::from_digit(*x, 10).unwrap_or('0'))
        .collect()
}

/// Formats 11 digits as `123.456.789-09` (anything else is returned as it is).
pub fn format(digits: &str) -> String {
    if digits.len() != 11 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return digits.to_string();
    }
    format!(
        "{}.{}.{}-{}",
        &digits[0..3],
        &digits[3..6],
        &digits[6..9],
        &digits[9..11]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_cpfs_in_both_forms() {
        assert_eq!(normalize("123.456.789-09").as_deref(), Some("12345678909"));
        assert_eq!(normalize("52998224725").as_deref(), Some("52998224725"));
        assert_eq!(format("52998224725"), "529.982.247-25");
        assert_eq!(complete(123_456_789), "12345678909");
        assert_eq!(complete(529_982_247), "52998224725");
    }

    #[test]
    fn rejects_bad_check_digits_and_shapes() {
        for bad in [
            "123.456.789-00",
            "12345678900",
            "111.111.111-11",
            "1234567890",
            "123456789099",
            "123-456.789.09",
            "abc.def.ghi-jk",
            "",
        ] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
    }
}
