//! Sessions: what makes a token revocable. Every token names its session (`sid`); a request or
//! a socket handshake is accepted only while that session is open, its user still belongs to
//! the token's account, and its API key (if any) is not revoked. Ending a session also writes
//! a control row to the log, so every node disconnects the sockets it authenticated.

use rand::RngCore;

use crate::auth::jwt::{Claims, TokenError};
use crate::store::{self, Store};

/// A new session id: 128 random bits, hex.
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a verified token is still refused, or could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No session, an ended one, or one that does not match the token's claims.
    #[error("invalid token")]
    Refused,
    /// The database could not answer.
    #[error("checking the session: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<TokenError> for SessionError {
    fn from(_: TokenError) -> Self {
        SessionError::Refused
    }
}

/// Checks that the token's session is open for exactly its user, account and key; answers
/// the session id.
pub async fn check(store: &Store, claims: &Claims) -> Result<String, SessionError> {
    let sid = claims.sid.as_deref().ok_or(SessionError::Refused)?;
    let mut conn = store.acquire().await?;
    let open = store::sessions::is_open(
        &mut conn,
        sid,
        claims.account_id,
        claims.sub,
        claims.api_key_id,
    )
    .await?;
    if open {
        Ok(sid.to_string())
    } else {
        Err(SessionError::Refused)
    }
}
