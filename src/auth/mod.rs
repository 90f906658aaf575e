//! Passwords, API keys and their scopes, access tokens, and the extractors that say who may
//! call a handler (`crate::auth::extract`: `StaffUser`, `MasterUser`, `PanelOrStaff`, ...).

pub mod api_key;
pub mod extract;
pub mod jwt;
pub mod password;
pub mod scope;
pub mod session;
pub mod throttle;

use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::state::AppState;
use crate::store;
pub use extract::{MasterUser, PanelOrStaff, PasswordUser, SessionUser, StaffUser, TotemKey};
use jwt::TokenError;
pub use scope::KeyScope;

/// The caller of an `/api` route, from a verified access token whose session is open. Every
/// store call takes its `account_id`: the tenant never comes from the request body, path or
/// query. It is not an extractor itself: a handler takes one of `crate::auth::extract`'s, which
/// say which scopes it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthUser {
    pub user_id: i64,
    pub account_id: i64,
    /// Set when the token was traded for an API key.
    pub api_key_id: Option<i64>,
    /// The scope of that API key; `None` for a password session.
    pub key_scope: Option<KeyScope>,
}

/// The 401 message for a deactivated user's login or token.
pub const DEACTIVATED: &str = "user deactivated";
/// The session of the request's token (`POST /api/auth/logout` ends it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionId(pub String);

impl From<session::SessionError> for ApiError {
    fn from(err: session::SessionError) -> Self {
        match err {
            session::SessionError::Refused => TokenError::Invalid.into(),
            session::SessionError::Database(err) => err.into(),
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(err: TokenError) -> Self {
        ApiError::Unauthorized(err.message().to_string())
    }
}

/// The token of an `Authorization` value: the scheme `Bearer` is optional and matched in any
/// case (RFC 7235); `Bearer` with nothing after it is an empty token ("missing token").
pub fn bearer(value: &str) -> &str {
    let value = value.trim();
    let (scheme, rest) = value
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("bearer") {
        rest.trim()
    } else {
        value
    }
}

impl AuthUser {
    /// Verifies the request's token and its session (once per request: the result is kept in
    /// the request's extensions, with its `SessionId` and `Claims`).
    pub async fn from_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Verified already by an earlier step of this request (the idempotency check).
        if let Some(user) = parts.extensions.get::<AuthUser>() {
            return Ok(*user);
        }
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or(TokenError::Missing)?
            .to_str()
            .map_err(|_| TokenError::Invalid)?;
        let token = bearer(header);
        if token.is_empty() {
            return Err(TokenError::Missing.into());
        }
        let claims = state.tokens.verify(token)?;
        // A deactivated user's token is refused with its own message (their sessions are ended
        // too); a token for no user of the account is left to the session check ("invalid
        // token"). A token traded for an API key lives as long as the key. One query answers
        // both (see `session::check`, which the socket handshake uses, for the session rule).
        let sid = claims.sid.clone().unwrap_or_default();
        let mut conn = state.store.acquire().await?;
        let found = store::sessions::user_and_session(
            &mut conn,
            &sid,
            claims.account_id,
            claims.sub,
            claims.api_key_id,
        )
        .await?;
        drop(conn);
        match found {
            Some((false, _)) if claims.api_key_id.is_none() => {
                return Err(ApiError::Unauthorized(DEACTIVATED.into()));
            }
            Some((_, true)) if !sid.is_empty() => {}
            _ => return Err(TokenError::Invalid.into()),
        }
        crate::http::access::note_account(&parts.extensions, claims.account_id);
        let user = AuthUser {
            user_id: claims.sub,
            account_id: claims.account_id,
            api_key_id: claims.api_key_id,
            key_scope: claims.key_scope(),
        };
        parts.extensions.insert(user);
        parts.extensions.insert(SessionId(sid));
        parts.extensions.insert(claims);
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::bearer;

    #[test]
    fn the_bearer_scheme_is_optional_and_case_insensitive() {
        for value in [
            "Bearer abc",
            "BEARER abc",
            "bearer  abc ",
            "abc",
            "BeArEr\tabc",
        ] {
            assert_eq!(bearer(value), "abc", "{value:?}");
        }
        for value in ["Bearer ", "Bearer", "bearer   ", ""] {
            assert_eq!(bearer(value), "", "{value:?}");
        }
    }
}
