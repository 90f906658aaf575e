//! Accounts (clinic licences), their users, and server-wide settings.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sqlx::{AnyConnection, FromRow};

use crate::domain::clinic_clock::{self, ClinicDay};

/// A user as needed to log in.
#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub email: String,
    pub password_hash: String,
    pub is_master: i64,
    pub active: i64,
}

const USER_COLUMNS: &str = "id, account_id, name, email, password_hash, is_master, active";

#[derive(Debug, Clone, FromRow)]
pub struct AccountRow {
    pub id: i64,
    pub name: String,
    pub event_seq: i64,
    pub wait_warn_minutes: i64,
    pub wait_alert_minutes: i64,
    pub panel_name_style: String,
    /// IANA name; `None` means the server's zone.
    pub time_zone: Option<String>,
}

/// Locks the account's row until the transaction ends (PostgreSQL; see `Store::begin_write`).
pub async fn lock(conn: &mut AnyConnection, account_id: i64) -> sqlx::Result<()> {
    sqlx::query("SELECT id FROM accounts WHERE id = $1 FOR UPDATE")
        .bind(account_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn count(conn: &mut AnyConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
        .fetch_one(conn)
        .await
}

pub async fn insert(conn: &mut AnyConnection, name: &str, now: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("INSERT INTO accounts (name, created_at) VALUES ($1, $2) RETURNING id")
        .bind(name)
        .bind(now)
        .fetch_one(conn)
        .await
}

pub async fn get(conn: &mut AnyConnection, account_id: i64) -> sqlx::Result<Option<AccountRow>> {
    sqlx::query_as(
        "SELECT id, name, event_seq, wait_warn_minutes, wait_alert_minutes, time_zone, \
         panel_name_style \
         FROM accounts WHERE id = $1",
    )
    .bind(account_id)
    .fetch_optional(conn)
    .await
}

/// How the account's TV panel writes names (`short`, `initials`, `full`); `short` for an
/// unknown account.
pub async fn panel_name_style(conn: &mut AnyConnection, account_id: i64) -> sqlx::Result<String> {
    let style: Option<String> =
        sqlx::query_scalar("SELECT panel_name_style FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_optional(conn)
            .await?;
    Ok(style.unwrap_or_else(|| "short".to_string()))
}

/// The settings a master may change.
#[derive(Debug, Clone)]
pub struct Settings {
    pub name: String,
    pub wait_warn_minutes: i64,
    pub wait_alert_minutes: i64,
    pub time_zone: Option<String>,
}

pub async fn update_settings(
    conn: &mut AnyConnection,
    account_id: i64,
    settings: &Settings,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE accounts SET name = $2, wait_warn_minutes = $3, wait_alert_minutes = $4, \
         time_zone = $5 WHERE id = $1",
    )
    .bind(account_id)
    .bind(&settings.name)
    .bind(settings.wait_warn_minutes)
    .bind(settings.wait_alert_minutes)
    .bind(&settings.time_zone)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_panel_name_style(
    conn: &mut AnyConnection,
    account_id: i64,
    style: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE accounts SET panel_name_style = $2 WHERE id = $1")
        .bind(account_id)
        .bind(style)
        .execute(conn)
        .await?;
    Ok(())
}

/// The account's time zone name, when one is set.
pub async fn time_zone(conn: &mut AnyConnection, account_id: i64) -> sqlx::Result<Option<String>> {
    let zone: Option<Option<String>> =
        sqlx::query_scalar("SELECT time_zone FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_optional(conn)
            .await?;
    Ok(zone.flatten())
}

/// The account's day at `now`: its zone (its setting, else `default_zone`), today and the end
/// of today (see `domain::clinic_clock`).
pub async fn clinic_day(
    conn: &mut AnyConnection,
    account_id: i64,
    default_zone: Tz,
    now: DateTime<Utc>,
) -> sqlx::Result<ClinicDay> {
    let setting = time_zone(conn, account_id).await?;
    Ok(clinic_clock::clinic_day(
        setting.as_deref(),
        default_zone,
        now,
    ))
}

pub async fn insert_user(
    conn: &mut AnyConnection,
    account_id: i64,
    name: &str,
    email: &str,
    password_hash: &str,
    is_master: bool,
    now: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO users (account_id, name, email, password_hash, is_master, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(account_id)
    .bind(name)
    .bind(email)
    .bind(password_hash)
    .bind(super::flag(is_master))
    .bind(now)
    .fetch_one(conn)
    .await
}

pub async fn user_by_email(conn: &mut AnyConnection, email: &str) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE email = $1"
    ))
    .bind(email)
    .fetch_optional(conn)
    .await
}

pub async fn user(
    conn: &mut AnyConnection,
    account_id: i64,
    user_id: i64,
) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND account_id = $2"
    ))
    .bind(user_id)
    .bind(account_id)
    .fetch_optional(conn)
    .await
}

/// The account's users, by name.
pub async fn users(conn: &mut AnyConnection, account_id: i64) -> sqlx::Result<Vec<UserRow>> {
    sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE account_id = $1 ORDER BY name, id"
    ))
    .bind(account_id)
    .fetch_all(conn)
    .await
}

/// Whether the user is active: `None` when there is no such user in the account (checked on
/// every request).
pub async fn is_active(
    conn: &mut AnyConnection,
    account_id: i64,
    user_id: i64,
) -> sqlx::Result<Option<bool>> {
    let active: Option<i64> =
        sqlx::query_scalar("SELECT active FROM users WHERE id = $1 AND account_id = $2")
            .bind(user_id)
            .bind(account_id)
            .fetch_optional(conn)
            .await?;
    Ok(active.map(|a| a == 1))
}

/// How many active masters the account has besides `user_id`. Run it inside the change's
/// `Store::begin_write` transaction: on PostgreSQL that transaction holds the account row's
/// lock, taken before this count, so no other change to the account's users can commit between
/// the count and the write (two masters deactivating each other take turns, and the second one
/// counts after the first one committed); on SQLite write transactions already run one at a
/// time on the writer connection, each from `BEGIN IMMEDIATE`.
pub async fn other_active_masters(
    conn: &mut AnyConnection,
    account_id: i64,
    user_id: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM users \
         WHERE account_id = $1 AND id <> $2 AND is_master = 1 AND active = 1",
    )
    .bind(account_id)
    .bind(user_id)
    .fetch_one(conn)
    .await
}

/// What `PATCH /users/{id}` writes.
#[derive(Debug, Clone)]
pub struct UserUpdate {
    pub name: String,
    pub email: String,
    pub password_hash: String,
    pub is_master: bool,
    pub active: bool,
}

pub async fn update_user(
    conn: &mut AnyConnection,
    account_id: i64,
    user_id: i64,
    update: &UserUpdate,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE users SET name = $3, email = $4, password_hash = $5, is_master = $6, active = $7, \
         updated_at = $8 WHERE id = $1 AND account_id = $2",
    )
    .bind(user_id)
    .bind(account_id)
    .bind(&update.name)
    .bind(&update.email)
    .bind(&update.password_hash)
    .bind(super::flag(update.is_master))
    .bind(super::flag(update.active))
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces a user's password hash.
pub async fn set_password(
    conn: &mut AnyConnection,
    account_id: i64,
    user_id: i64,
    password_hash: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET password_hash = $3 WHERE id = $1 AND account_id = $2")
        .bind(user_id)
        .bind(account_id)
        .bind(password_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Stores `value` unless the key is already set; answers the value that is kept.
pub async fn setting_or_insert(
    conn: &mut AnyConnection,
    key: &str,
    value: &str,
) -> sqlx::Result<String> {
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
        .bind(key)
        .bind(value)
        .execute(&mut *conn)
        .await?;
    sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
        .bind(key)
        .fetch_one(conn)
        .await
}

/// Sets a server-wide setting, replacing its value.
pub async fn set_setting(conn: &mut AnyConnection, key: &str, value: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES ($1, $2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(conn)
    .await?;
    Ok(())
}
