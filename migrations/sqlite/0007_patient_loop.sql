-- The patient in the loop: live status links and self check-in.

-- A status link of an appointment: an opaque token (only its SHA-256 digest is kept), valid
-- until the end of the appointment's day unless revoked first.
CREATE TABLE status_links (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    appointment_id INTEGER NOT NULL REFERENCES appointments (id),
    token_hash     TEXT    NOT NULL UNIQUE,
    expires_at     INTEGER NOT NULL,
    revoked_at     INTEGER,
    created_at     INTEGER NOT NULL
);
CREATE INDEX status_links_appointment ON status_links (account_id, appointment_id);

-- 1 when the priority flags were declared by the patient at the totem (not set by staff).
ALTER TABLE appointments ADD COLUMN flags_declared INTEGER NOT NULL DEFAULT 0;
