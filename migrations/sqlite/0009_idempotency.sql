-- Idempotency keys of the create endpoints (`Idempotency-Key` header, see
-- `http::idempotency`): one row per account and key. While the first request runs the row has
-- no answer (`status_code` NULL: a retry gets 409); once it answered 2xx or 4xx the row keeps
-- that answer, replayed to a retry with the same body for 24 h. `fingerprint` is the hex
-- SHA-256 of the method, the path and the canonical body.
CREATE TABLE idempotency_keys (
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    idem_key     TEXT    NOT NULL,
    fingerprint  TEXT    NOT NULL,
    status_code  INTEGER,
    content_type TEXT,
    body         TEXT,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (account_id, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
