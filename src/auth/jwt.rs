//! HS256 access tokens: `sub`, `accountId`, `iat`, `exp`, `aud`, `iss` (+ `apiKeyId`, `sid`).

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::time::now_ms;

pub const AUDIENCE: &str = "fila";
pub const ISSUER: &str = "fila";

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
}

impl TokenError {
    pub fn message(self) -> &'static str {
        match self {
            TokenError::Missing => "missing token",
            TokenError::Invalid => "invalid token",
            TokenError::Expired => "jwt expired",
        }
    }
}

/// Issues and verifies access tokens with one secret.
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_secs: u64,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("ttl_secs", &self.ttl_secs)
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
        Tokens {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_secs,
        }
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
        self.sign(user_id, account_id, api_key_id, None)
    }

    /// A fresh token of session `sid`.
    pub fn issue_for_session(
        &self,
        user_id: i64,
        account_id: i64,
        api_key_id: Option<i64>,
        sid: &str,
    ) -> anyhow::Result<String> {
        self.sign(user_id, account_id, api_key_id, Some(sid.to_string()))
    }

    fn sign(
        &self,
        user_id: i64,
        account_id: i64,
        api_key_id: Option<i64>,
        sid: Option<String>,
    ) -> anyhow::Result<String> {
        let iat = now_ms() / 1000;
        let claims = Claims {
            sub: user_id,
            account_id,
            iat,
            exp: iat + self.ttl_secs as i64,
            aud: AUDIENCE.to_string(),
            iss: ISSUER.to_string(),
            api_key_id,
            sid,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| anyhow::anyhow!("signing a token: {e}"))
    }

    /// Verifies signature, audience, issuer and expiry.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
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
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &tokens.encoding)
            .unwrap();
        assert_eq!(tokens.verify(&token), Err(TokenError::Expired));
    }
}
