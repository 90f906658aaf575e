//! Length limits of the text the API keeps or checks. Every other field is bounded where it is
//! validated (names of doctors, patients and procedures 200 characters, a room 50, a phone 40,
//! notes 2000), and every body by `http::BODY_LIMIT`.

use crate::error::Problems;

/// A clinic's name.
pub const CLINIC_NAME_MAX: usize = 200;
/// An API key's name.
pub const KEY_NAME_MAX: usize = 100;
/// An email (RFC 5321's longest path).
pub const EMAIL_MAX: usize = 254;
/// A password (argon2 reads all of it).
pub const PASSWORD_MAX: usize = 1024;
/// An API key as sent to `POST /api/auth/token` (ours have 37 characters).
pub const API_KEY_MAX: usize = 128;

/// Records a problem when `value` has more than `max` characters.
pub fn check_len(problems: &mut Problems, field: &str, value: &str, max: usize) {
    problems.check(
        value.chars().count() <= max,
        format!("{field} must have at most {max} characters"),
    );
}
