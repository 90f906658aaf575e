//! The extractors that say, in a handler's signature, who may call it. Each verifies the token
//! and its session (`AuthUser::from_parts`) and refuses, with 403 in the contract's error
//! shape, a caller whose API key's scope does not reach the handler:
//!
//! | extractor      | password session | `integration` key | `panel` key | `kiosk` key |
//! |----------------|------------------|-------------------|-------------|-------------|
//! | `SessionUser`  | yes              | yes               | yes         | yes         |
//! | `StaffUser`    | yes              | yes               | no          | no          |
//! | `PanelOrStaff` | yes              | yes               | yes         | no          |
//! | `TotemKey`     | no               | yes               | no          | yes         |
//! | `PasswordUser` | yes              | no                | no          | no          |
//! | `MasterUser`   | the master only  | no                | no          | no          |

use std::ops::Deref;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::{AuthUser, KeyScope};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store;

/// The refusal of a scoped key outside its scope.
fn out_of_scope(scope: KeyScope) -> ApiError {
    ApiError::Forbidden(format!("a {} API key cannot do this", scope.as_str()))
}

/// Whether `user` is a person or a full (integration) key.
fn is_staff(user: &AuthUser) -> bool {
    matches!(user.key_scope, None | Some(KeyScope::Integration))
}

macro_rules! scoped_extractor {
    ($(#[$doc:meta])* $name:ident, $allows:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name(pub AuthUser);

        impl Deref for $name {
            type Target = AuthUser;
            fn deref(&self) -> &AuthUser {
                &self.0
            }
        }

        impl FromRequestParts<AppState> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, ApiError> {
                let user = AuthUser::from_parts(parts, state).await?;
                let allows: fn(&AuthUser) -> bool = $allows;
                match user.key_scope {
                    Some(scope) if !allows(&user) => Err(out_of_scope(scope)),
                    _ => Ok($name(user)),
                }
            }
        }
    };
}

scoped_extractor!(
    /// Any open session, whatever its key's scope: token refresh and logout.
    SessionUser,
    |_| true
);
scoped_extractor!(
    /// A person logged in with a password, or an `integration` key.
    StaffUser,
    is_staff
);
scoped_extractor!(
    /// Staff, or the TV panel's `panel` key (whose answers leave out patients' contact data:
    /// see [`PanelOrStaff::is_panel`]).
    PanelOrStaff,
    |user| is_staff(user) || user.key_scope == Some(KeyScope::Panel)
);

/// A token traded for an API key that may check patients in: the totem's `kiosk` key, or an
/// `integration` key (what totems used before scopes). Not a person: a staff login is not a
/// totem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TotemKey {
    pub user: AuthUser,
    pub api_key_id: i64,
}

impl Deref for TotemKey {
    type Target = AuthUser;
    fn deref(&self) -> &AuthUser {
        &self.user
    }
}

impl FromRequestParts<AppState> for TotemKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = AuthUser::from_parts(parts, state).await?;
        match (user.api_key_id, user.key_scope) {
            (Some(api_key_id), Some(KeyScope::Kiosk | KeyScope::Integration)) => {
                Ok(TotemKey { user, api_key_id })
            }
            (Some(_), Some(scope)) => Err(out_of_scope(scope)),
            _ => Err(ApiError::Forbidden(
                "self check-in takes a token traded for an API key (the totem's)".into(),
            )),
        }
    }
}

impl PanelOrStaff {
    /// Whether the caller is the TV panel: its answers are reduced for a public screen.
    pub fn is_panel(&self) -> bool {
        self.0.key_scope == Some(KeyScope::Panel)
    }
}

/// A person logged in with a password (no API key, whatever its scope).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordUser(pub AuthUser);

impl Deref for PasswordUser {
    type Target = AuthUser;
    fn deref(&self) -> &AuthUser {
        &self.0
    }
}

impl FromRequestParts<AppState> for PasswordUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = AuthUser::from_parts(parts, state).await?;
        if user.api_key_id.is_some() {
            return Err(ApiError::Forbidden(
                "API keys cannot change a password".into(),
            ));
        }
        Ok(PasswordUser(user))
    }
}

/// The account's master user, logged in with a password (no API key, whatever its scope).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MasterUser(pub AuthUser);

impl Deref for MasterUser {
    type Target = AuthUser;
    fn deref(&self) -> &AuthUser {
        &self.0
    }
}

impl FromRequestParts<AppState> for MasterUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = AuthUser::from_parts(parts, state).await?;
        if user.api_key_id.is_some() {
            return Err(ApiError::Forbidden(
                "API keys cannot manage the account".into(),
            ));
        }
        let mut conn = state.store.acquire().await?;
        match store::accounts::user(&mut conn, user.account_id, user.user_id).await? {
            Some(u) if u.is_master != 0 => Ok(MasterUser(user)),
            _ => Err(ApiError::Forbidden(
                "only the master user can do this".into(),
            )),
        }
    }
}
