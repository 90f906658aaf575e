-- Every node delivers the log to its own sockets, from a cursor per account kept in memory:
-- rows are no longer marked as broadcast, and no node holds a relay lease. Rows leave the log
-- only by retention (by age), so an index on `at` serves the prune.
DROP INDEX events_pending;
ALTER TABLE events DROP COLUMN relayed;
DROP TABLE relay_lease;
CREATE INDEX events_at ON events (at);

-- One row per login or API-key exchange; every access token names its session (`sid`), and a
-- token is accepted only while its session is open. Logout, a password change, a revoked key
-- or a deleted user end sessions here.
CREATE TABLE sessions (
    id           TEXT    PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    user_id      INTEGER NOT NULL,
    api_key_id   INTEGER,
    created_at   INTEGER NOT NULL,
    refreshed_at INTEGER NOT NULL,
    ended_at     INTEGER
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_api_key ON sessions (api_key_id);

-- Control rows: orders to every node, never broadcast to clients, never returned by
-- GET /api/events, and outside the account's `seq`. A row names which sockets to disconnect:
-- those of a session, of an API key, or of a user (except `keep_session_id`).
CREATE TABLE control_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id      INTEGER NOT NULL,
    session_id      TEXT,
    api_key_id      INTEGER,
    user_id         INTEGER,
    keep_session_id TEXT,
    at              INTEGER NOT NULL
);
CREATE INDEX control_events_at ON control_events (at);
