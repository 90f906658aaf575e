-- Staff users and reports. A user can be deactivated (`active` 0): they can no longer log in,
-- refresh or use a token they already hold. `updated_at` is when the user was last changed.
ALTER TABLE users ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX users_account ON users (account_id);

-- The reports read the moves of a range of appointments by status (index-only probes).
CREATE INDEX status_history_appointment_status ON appointment_status_history (appointment_id, to_status, at, from_status);

-- How the waiting-room panel writes a patient's name: 'short' ("João S."), 'initials'
-- ("J. S.") or 'full'.
ALTER TABLE accounts ADD COLUMN panel_name_style TEXT NOT NULL DEFAULT 'short';
