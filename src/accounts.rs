//! Creating an account (clinic licence) with its master user.

use crate::auth::password;
use crate::domain::time::now_ms;
use crate::error::{ApiError, Problems};
use crate::limits::{CLINIC_NAME_MAX, EMAIL_MAX, PASSWORD_MAX, check_len};
use crate::store::{self, Store};

/// Ids of a new account and its master user.
#[derive(Debug, Clone, Copy)]
pub struct CreatedAccount {
    pub account_id: i64,
    pub user_id: i64,
}

/// Checks the inputs, hashes the password and writes both rows in one transaction.
pub async fn create(
    store: &Store,
    name: &str,
    email: &str,
    password: &str,
) -> Result<CreatedAccount, ApiError> {
    let email = email.trim().to_lowercase();
    let mut problems = Problems::new();
    problems.check(!name.trim().is_empty(), "name must not be empty");
    problems.check(valid_email(&email), "email must be a valid email address");
    problems.check(
        password.chars().count() >= 8,
        "password must have at least 8 characters",
    );
    check_len(&mut problems, "name", name.trim(), CLINIC_NAME_MAX);
    check_len(&mut problems, "email", &email, EMAIL_MAX);
    check_len(&mut problems, "password", password, PASSWORD_MAX);
    problems.into_result()?;
    let hash = password::hash(password.to_string()).await?;
    let now = now_ms();
    let mut tx = store.begin_create().await?;
    let account_id = store::accounts::insert(&mut tx, name.trim(), now).await?;
    let user_id =
        store::accounts::insert_user(&mut tx, account_id, name.trim(), &email, &hash, true, now)
            .await
            .map_err(|e| {
                if store::is_unique_violation(&e) {
                    ApiError::Conflict("a user with this email already exists".into())
                } else {
                    e.into()
                }
            })?;
    tx.commit().await?;
    Ok(CreatedAccount {
        account_id,
        user_id,
    })
}

/// A light check: one `@`, something on each side, a dot in the domain, no spaces.
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.contains(char::is_whitespace)
        && !domain.contains('@')
        && email.len() <= 254
}
