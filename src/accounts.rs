//! Creating an account (clinic licence) with its master user, and the users of an account as
//! the operator's command line sees them (`fila users create`, `fila users list`: recovering a
//! clinic left without an active master). The checks of a user's name and password are the
//! ones `POST /api/users` makes.

use crate::auth::password;
use crate::domain::time::now_ms;
use crate::error::{ApiError, Problems};
use crate::limits::{CLINIC_NAME_MAX, EMAIL_MAX, PASSWORD_MAX, check_len};
use crate::store::{self, Store, accounts::UserRow};

/// The longest password a user may set (`POST /api/users`, `PATCH /api/users/{id}`).
pub const USER_PASSWORD_MAX: usize = 200;

/// Checks a user's name (already trimmed).
pub fn check_user_name(problems: &mut Problems, name: &str) {
    problems.check(!name.is_empty(), "name must not be empty");
    problems.check(
        name.chars().count() <= 200,
        "name must have at most 200 characters",
    );
}

/// Checks a user's password: 8 to 200 characters.
pub fn check_user_password(problems: &mut Problems, password: &str) {
    let length = password.chars().count();
    problems.check(length >= 8, "password must have at least 8 characters");
    problems.check(
        length <= USER_PASSWORD_MAX,
        "password must have at most 200 characters",
    );
}

/// The answer to a taken email: 409.
pub fn email_taken(err: sqlx::Error) -> ApiError {
    if store::is_unique_violation(&err) {
        ApiError::Conflict("a user with this email already exists".into())
    } else {
        err.into()
    }
}

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
            .map_err(email_taken)?;
    tx.commit().await?;
    Ok(CreatedAccount {
        account_id,
        user_id,
    })
}

/// A new user of an existing account (`fila users create`): the checks of `POST /api/users`,
/// then one write transaction of that account. Answers the user's id; 404 for an unknown
/// account, 409 for a taken email, 400 for a bad name, email or password.
pub async fn create_user(
    store: &Store,
    account_id: i64,
    name: &str,
    email: &str,
    password: &str,
    is_master: bool,
) -> Result<i64, ApiError> {
    let name = name.trim();
    let email = email.trim().to_lowercase();
    let mut problems = Problems::new();
    check_user_name(&mut problems, name);
    problems.check(valid_email(&email), "email must be a valid email address");
    check_user_password(&mut problems, password);
    problems.into_result()?;
    let hash = password::hash(password.to_string()).await?;
    let mut tx = store.begin_write(account_id).await?;
    if store::accounts::get(&mut tx, account_id).await?.is_none() {
        return Err(no_account(account_id));
    }
    let user_id = store::accounts::insert_user(
        &mut tx,
        account_id,
        name,
        &email,
        &hash,
        is_master,
        now_ms(),
    )
    .await
    .map_err(email_taken)?;
    tx.commit().await?;
    Ok(user_id)
}

/// Every user of an existing account, by name (`fila users list`); 404 for an unknown account.
pub async fn list_users(store: &Store, account_id: i64) -> Result<Vec<UserRow>, ApiError> {
    let mut tx = store.begin_read().await?;
    if store::accounts::get(&mut tx, account_id).await?.is_none() {
        return Err(no_account(account_id));
    }
    Ok(store::accounts::users(&mut tx, account_id).await?)
}

fn no_account(account_id: i64) -> ApiError {
    ApiError::NotFound(format!("no account with id {account_id}"))
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
