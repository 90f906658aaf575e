-- Every status move of an appointment: from which status, to which, when, and who made it (a
-- user, or an integration through an API key). Read by the wait estimate and the reports.
CREATE TABLE appointment_status_history (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    appointment_id INTEGER NOT NULL REFERENCES appointments (id),
    doctor_id      INTEGER,
    from_status    INTEGER,
    to_status      INTEGER NOT NULL,
    at             INTEGER NOT NULL,
    user_id        INTEGER,
    api_key_id     INTEGER
);
CREATE INDEX status_history_account_at ON appointment_status_history (account_id, at);
CREATE INDEX status_history_appointment ON appointment_status_history (appointment_id, at);
