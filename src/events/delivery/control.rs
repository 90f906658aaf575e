//! Control rows: orders to every node to disconnect the sockets of an ended session, a revoked
//! key or a user's other sessions.

use crate::realtime::SocketAuth;
use crate::store::events::ControlRow;

/// Whether a control row names a socket: a session's sockets; an API key's; or a user's
/// password sessions other than `keep_session_id`.
pub fn control_matches(row: &ControlRow, auth: &SocketAuth) -> bool {
    if auth.account_id != row.account_id {
        return false;
    }
    if let Some(session) = &row.session_id {
        return *session == auth.session_id;
    }
    if let Some(key) = row.api_key_id {
        return auth.api_key_id == Some(key);
    }
    if let Some(user) = row.user_id {
        return auth.user_id == user
            && auth.api_key_id.is_none()
            && row.keep_session_id.as_deref() != Some(auth.session_id.as_str());
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn socket(user_id: i64, api_key_id: Option<i64>, session: &str) -> SocketAuth {
        SocketAuth {
            account_id: 1,
            user_id,
            api_key_id,
            session_id: session.into(),
            ends_at: 0,
            seq_at_handshake: 0,
            recover_after: None,
            panel: false,
        }
    }

    #[test]
    fn a_control_row_names_a_session_a_key_or_a_users_other_password_sessions() {
        let session = ControlRow {
            account_id: 1,
            session_id: Some("s1".into()),
            ..ControlRow::default()
        };
        assert!(control_matches(&session, &socket(7, None, "s1")));
        assert!(!control_matches(&session, &socket(7, None, "s2")));

        let key = ControlRow {
            account_id: 1,
            api_key_id: Some(3),
            ..ControlRow::default()
        };
        assert!(control_matches(&key, &socket(7, Some(3), "s1")));
        assert!(!control_matches(&key, &socket(7, Some(4), "s1")));
        assert!(!control_matches(&key, &socket(7, None, "s1")));

        let user = ControlRow {
            account_id: 1,
            user_id: Some(7),
            keep_session_id: Some("kept".into()),
            ..ControlRow::default()
        };
        assert!(control_matches(&user, &socket(7, None, "other")));
        assert!(!control_matches(&user, &socket(7, None, "kept")));
        assert!(!control_matches(&user, &socket(7, Some(3), "key")));
        assert!(!control_matches(&user, &socket(8, None, "other")));

        let elsewhere = ControlRow {
            account_id: 2,
            session_id: Some("s1".into()),
            ..ControlRow::default()
        };
        assert!(!control_matches(&elsewhere, &socket(7, None, "s1")));
    }
}
