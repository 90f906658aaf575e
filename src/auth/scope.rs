//! What an API key may do. A key is made for one purpose and its tokens carry it (the `scope`
//! claim, set when the key is traded and kept by refresh); the extractors of
//! `crate::auth::extract` enforce it on every request and the socket gateway on the handshake.
//!
//! - `kiosk`: the totem (`/totem`): self check-in, token refresh and logout. No socket.
//! - `panel`: the TV panel (`/painel`): the account's settings, today's calls and queue, the
//!   event log and a socket, with patients' CPF, phone, birth date and the notes left out.
//! - `integration`: a full staff credential without master rights (every key made before
//!   scopes existed).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The scope of an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyScope {
    Kiosk,
    Panel,
    #[default]
    Integration,
}

impl KeyScope {
    pub const ALL: [KeyScope; 3] = [KeyScope::Kiosk, KeyScope::Panel, KeyScope::Integration];

    pub fn as_str(self) -> &'static str {
        match self {
            KeyScope::Kiosk => "kiosk",
            KeyScope::Panel => "panel",
            KeyScope::Integration => "integration",
        }
    }

    /// The scope named `name`, or `None`.
    pub fn parse(name: &str) -> Option<KeyScope> {
        KeyScope::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// A stored scope; anything unknown is the narrowest (never more than it says).
    pub fn from_stored(name: &str) -> KeyScope {
        KeyScope::parse(name).unwrap_or(KeyScope::Kiosk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_by_name() {
        for scope in KeyScope::ALL {
            assert_eq!(KeyScope::parse(scope.as_str()), Some(scope));
        }
        assert_eq!(KeyScope::parse("master"), None);
        assert_eq!(KeyScope::from_stored("??"), KeyScope::Kiosk);
    }
}
