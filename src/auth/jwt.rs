//! HS256 access tokens: `sub`, `accountId`, `iat`, `exp`, `aud`, `iss`, `authTime`, `sid`
//! (+ `apiKeyId` and `scope` for a token traded for an API key).
//!
//! Beyond the signature, a token is refused when it claims more than the configured lifetime
//! (`exp - iat` over `--token-ttl`) or was issued in the future (`iat` more than
//! `CLOCK_SKEW_SECS` ahead), so a leaked secret's forgeries cannot outlive the settings.
//! `authTime` is when the user (or API key) last proved who they are; refresh carries it
//! over, and a refresh chain ends `--max-session-hours` after it. `sid` names the session in
//! the database (`crate::auth::session`): a token is accepted only while it is open.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::auth::scope::KeyScope;
use crate::domain::time::now_ms;

pub const AUDIENCE: &str = "fila";
pub const ISSUER: &str = "fila";
/// The audience of a recovery `pid`: never accepted as an access token, nor a token as a pid.
pub const PID_AUDIENCE: &str = "fila.pid";
/// How far ahead of this node's clock a token's `iat` may be (another node's clock).
pub const CLOCK_SKEW_SECS: i64 = 5;

/// The claims of an access token. `sub` is the user id, written as a string as RFC 7519 asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    #[serde(with = "id_string")]
    pub sub: i64,
    pub account_id: i64,
    pub iat: i64,
    pub exp: i64,
    pub aud: String,
    pub iss: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_id: Option<i64>,
    /// The session the token belongs to (`crate::auth::session`): a token is accepted only
    /// while its session is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// When the session began (login or API-key trade), in seconds; a token without it
    /// began at its `iat`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The scope of the API key the token was traded for (a key's token without it is an
    /// `integration` one: it was issued before scopes existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<KeyScope>,
}

impl Claims {
    /// When the session this token belongs to began.
    pub fn session_start(&self) -> i64 {
        self.auth_time.unwrap_or(self.iat).min(self.iat)
    }

    /// The scope of the token's API key, `None` for a password session.
    pub fn key_scope(&self) -> Option<KeyScope> {
        self.api_key_id.map(|_| self.scope.unwrap_or_default())
    }
}

/// `sub` travels as a string of digits.
mod id_string {
    use serde::{Deserialize, Deserializer, Serializer, de};

    pub fn serialize<S: Serializer>(id: &i64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(id)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(|_| de::Error::custom("sub must be a user id"))
    }
}

/// Why a token was refused; `message()` is the contract's wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("missing token")]
    Missing,
    #[error("invalid token")]
    Invalid,
    #[error("jwt expired")]
    Expired,
    #[error("session expired")]
    SessionExpired,
}

impl TokenError {
    pub fn message(self) -> &'static str {
        match self {
            TokenError::Missing => "missing token",
            TokenError::Invalid => "invalid token",
            TokenError::Expired => "jwt expired",
            TokenError::SessionExpired => "session expired: log in again",
        }
    }
}

/// Issues and verifies access tokens with one secret.
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// The same checks without the expiry: a socket lives as long as its session.
    socket_validation: Validation,
    /// Checks a recovery `pid` (see `crate::realtime::recovery`).
    pid_validation: Validation,
    ttl_secs: u64,
    max_session_secs: i64,
}

/// The default longest refresh chain: a clinic's working day and then some.
pub const DEFAULT_MAX_SESSION_SECS: u64 = 24 * 3600;

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("ttl_secs", &self.ttl_secs)
            .field("max_session_secs", &self.max_session_secs)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    pub fn new(secret: &[u8], ttl_secs: u64) -> Tokens {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "aud", "iss"]);
        // No leeway, and refused from the second named by `exp` on (RFC 7519 §4.1.4), the
        // moment the gateway disconnects the socket: `exp - 1 < now`.
        validation.leeway = 0;
        validation.reject_tokens_expiring_in_less_than = 1;
        let mut socket_validation = validation.clone();
        socket_validation.validate_exp = false;
        socket_validation.reject_tokens_expiring_in_less_than = 0;
        let mut pid_validation = Validation::new(Algorithm::HS256);
        pid_validation.set_audience(&[PID_AUDIENCE]);
        pid_validation.set_required_spec_claims(&["aud"]);
        pid_validation.validate_exp = false;
        Tokens {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            socket_validation,
            pid_validation,
            ttl_secs,
            max_session_secs: DEFAULT_MAX_SESSION_SECS as i64,
        }
    }

    /// Sets how long a refresh chain may last after its login.
    pub fn with_max_session(mut self, secs: u64) -> Tokens {
        self.max_session_secs = i64::try_from(secs).unwrap_or(i64::MAX);
        self
    }

    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    /// A fresh token for the user (and the API key it was traded for, if any), without a
    /// session: the server refuses it (`issue_for_session` makes the tokens it accepts).
    pub fn issue(
        &self,
        user_id: i64,
        account_id: i64,
        api_key_id: Option<i64>,
    ) -> anyhow::Result<String> {
        let iat = now_ms() / 1000;
        self.sign(user_id, account_id, api_key_id, None, iat, iat, None)
    }

    /// A fresh token of session `sid`, which begins now (a login or an API-key trade).
    pub fn issue_for_session(
        &self,
        user_id: i64,
        account_id: i64,
        api_key_id: Option<i64>,
        sid: &str,
    ) -> anyhow::Result<String> {
        let iat = now_ms() / 1000;
        self.sign(
            user_id,
            account_id,
            api_key_id,
            None,
            iat,
            iat,
            Some(sid.to_string()),
        )
    }

    /// A fresh token of session `sid`, which begins now, for an API key of `scope`.
    pub fn issue_for_key_session(
        &self,
        user_id: i64,
        account_id: i64,
        api_key_id: i64,
        scope: KeyScope,
        sid: &str,
    ) -> anyhow::Result<String> {
        let iat = now_ms() / 1000;
        self.sign(
            user_id,
            account_id,
            Some(api_key_id),
            Some(scope),
            iat,
            iat,
            Some(sid.to_string()),
        )
    }

    /// When the token's session reaches its maximum age, in seconds since the epoch: a
    /// socket of the session is disconnected then.
    pub fn session_end(&self, claims: &Claims) -> i64 {
        claims.session_start().saturating_add(self.max_session_secs)
    }

    /// Refuses a session that reached its maximum age (it may not be refreshed).
    pub fn check_session(&self, claims: &Claims) -> Result<(), TokenError> {
        let now = now_ms() / 1000;
        if now >= claims.session_start().saturating_add(self.max_session_secs) {
            return Err(TokenError::SessionExpired);
        }
        Ok(())
    }

    /// The next token of a session: same user, account, key and `authTime`, expiring at the
    /// latest when the session reaches its maximum age (check it first: `check_session`).
    pub fn refresh(&self, claims: &Claims) -> anyhow::Result<String> {
        let now = now_ms() / 1000;
        self.sign(
            claims.sub,
            claims.account_id,
            claims.api_key_id,
            claims.scope,
            now,
            claims.session_start(),
            claims.sid.clone(),
        )
    }

    /// Seconds the token `refresh` issues now lives: the lifetime, or less near the end of
    /// the session.
    pub fn refreshed_lifetime(&self, claims: &Claims) -> u64 {
        let now = now_ms() / 1000;
        let end = claims.session_start().saturating_add(self.max_session_secs);
        u64::try_from(end.saturating_sub(now))
            .unwrap_or(0)
            .min(self.ttl_secs)
    }

    #[allow(clippy::too_many_arguments)]
    fn sign(
        &self,
        user_id: i64,
        account_id: i64,
        api_key_id: Option<i64>,
        scope: Option<KeyScope>,
        iat: i64,
        auth_time: i64,
        sid: Option<String>,
    ) -> anyhow::Result<String> {
        let ttl = i64::try_from(self.ttl_secs).unwrap_or(i64::MAX);
        let exp = iat
            .saturating_add(ttl)
            .min(auth_time.saturating_add(self.max_session_secs));
        let claims = Claims {
            sub: user_id,
            account_id,
            iat,
            exp,
            aud: AUDIENCE.to_string(),
            iss: ISSUER.to_string(),
            api_key_id,
            auth_time: Some(auth_time),
            sid,
            scope,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| anyhow::anyhow!("signing a token: {e}"))
    }

    /// Verifies signature, audience, issuer and expiry, and that the token claims no more
    /// than the configured lifetime and was not issued in the future.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        self.verify_with(token, &self.validation)
    }

    /// What a socket handshake accepts: [`Tokens::verify`] without the expiry, within the
    /// session's maximum age. A socket lives as long as its session, not its token's hour, so
    /// a client holding one token comes back after a network cut in its second hour (its
    /// session is checked in the database as for any handshake).
    pub fn verify_for_socket(&self, token: &str) -> Result<Claims, TokenError> {
        let claims = self.verify_with(token, &self.socket_validation)?;
        self.check_session(&claims)?;
        Ok(claims)
    }

    /// Signs the claims of a recovery `pid` (their `aud` must be [`PID_AUDIENCE`]).
    pub fn sign_pid<T: Serialize>(&self, claims: &T) -> anyhow::Result<String> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| anyhow::anyhow!("signing a pid: {e}"))
    }

    /// The claims of a recovery `pid` this server signed, or `None`.
    pub fn verify_pid<T: serde::de::DeserializeOwned>(&self, pid: &str) -> Option<T> {
        jsonwebtoken::decode::<T>(pid, &self.decoding, &self.pid_validation)
            .ok()
            .map(|data| data.claims)
    }

    fn verify_with(&self, token: &str, validation: &Validation) -> Result<Claims, TokenError> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        let now = now_ms() / 1000;
        let ttl = i64::try_from(self.ttl_secs).unwrap_or(i64::MAX);
        let lifetime_ok = claims.exp.saturating_sub(claims.iat) <= ttl;
        let issued_ok = claims.iat <= now.saturating_add(CLOCK_SKEW_SECS);
        let session_ok = claims.auth_time.is_none_or(|t| t <= claims.iat);
        if lifetime_ok && issued_ok && session_ok {
            Ok(claims)
        } else {
            Err(TokenError::Invalid)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_verify_with_the_configured_lifetime() {
        let tokens = Tokens::new(b"secret", 3600);
        let claims = tokens.verify(&tokens.issue(7, 3, None).unwrap()).unwrap();
        assert_eq!((claims.sub, claims.account_id), (7, 3));
        assert_eq!(claims.exp - claims.iat, 3600);
        assert_eq!(
            (claims.aud.as_str(), claims.iss.as_str()),
            (AUDIENCE, ISSUER)
        );
    }

    #[test]
    fn other_secrets_and_garbage_are_invalid() {
        let a = Tokens::new(b"a", 60);
        let b = Tokens::new(b"b", 60);
        let token = a.issue(1, 1, None).unwrap();
        assert_eq!(b.verify(&token), Err(TokenError::Invalid));
        assert_eq!(a.verify("not.a.jwt"), Err(TokenError::Invalid));
    }

    fn signed(tokens: &Tokens, exp: i64) -> String {
        let claims = Claims {
            sub: 1,
            account_id: 1,
            iat: exp - 60,
            exp,
            aud: AUDIENCE.into(),
            iss: ISSUER.into(),
            api_key_id: None,
            sid: None,
            auth_time: None,
            scope: None,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &tokens.encoding).unwrap()
    }

    #[test]
    fn a_token_is_refused_from_its_exp_second_on() {
        let tokens = Tokens::new(b"s", 60);
        let now = now_ms() / 1000;
        assert_eq!(
            tokens.verify(&signed(&tokens, now)),
            Err(TokenError::Expired)
        );
        assert!(tokens.verify(&signed(&tokens, now + 5)).is_ok());
    }

    #[test]
    fn an_expired_token_says_jwt_expired() {
        let tokens = Tokens::new(b"s", 60);
        let now = now_ms() / 1000;
        let claims = Claims {
            sub: 1,
            account_id: 1,
            iat: now - 120,
            exp: now - 60,
            aud: AUDIENCE.into(),
            iss: ISSUER.into(),
            api_key_id: None,
            sid: None,
            auth_time: None,
            scope: None,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &tokens.encoding)
            .unwrap();
        assert_eq!(tokens.verify(&token), Err(TokenError::Expired));
    }

    fn sign_claims(tokens: &Tokens, iat: i64, exp: i64, auth_time: Option<i64>) -> String {
        let claims = Claims {
            sub: 1,
            account_id: 1,
            iat,
            exp,
            aud: AUDIENCE.into(),
            iss: ISSUER.into(),
            api_key_id: None,
            sid: None,
            auth_time,
            scope: None,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &tokens.encoding).unwrap()
    }

    #[test]
    fn a_token_claiming_more_than_the_lifetime_or_issued_ahead_is_invalid() {
        let tokens = Tokens::new(b"s", 60);
        let now = now_ms() / 1000;
        let far = sign_claims(&tokens, now, now + 10 * 365 * 86_400, None);
        assert_eq!(tokens.verify(&far), Err(TokenError::Invalid));
        let ahead = sign_claims(&tokens, now + 3600, now + 3630, None);
        assert_eq!(tokens.verify(&ahead), Err(TokenError::Invalid));
        let started_later = sign_claims(&tokens, now, now + 60, Some(now + 10));
        assert_eq!(tokens.verify(&started_later), Err(TokenError::Invalid));
        assert!(
            tokens
                .verify(&sign_claims(&tokens, now, now + 60, None))
                .is_ok()
        );
    }

    #[test]
    fn refresh_keeps_the_session_start_and_stops_at_the_maximum_age() {
        let tokens = Tokens::new(b"s", 60).with_max_session(3600);
        let now = now_ms() / 1000;
        let young = tokens
            .verify(&sign_claims(&tokens, now, now + 60, Some(now - 600)))
            .unwrap();
        assert!(tokens.check_session(&young).is_ok());
        let next = tokens.verify(&tokens.refresh(&young).unwrap()).unwrap();
        assert_eq!(next.auth_time, Some(now - 600));
        let ending = tokens
            .verify(&sign_claims(&tokens, now, now + 60, Some(now - 3590)))
            .unwrap();
        let last = tokens.verify(&tokens.refresh(&ending).unwrap()).unwrap();
        assert!(
            last.exp <= now - 3590 + 3600,
            "the chain's last token ends with it"
        );
        let old = tokens
            .verify(&sign_claims(&tokens, now, now + 60, Some(now - 3600)))
            .unwrap();
        assert_eq!(tokens.check_session(&old), Err(TokenError::SessionExpired));
    }
}
