-- Fila schema (SQLite). Timestamps are INTEGER milliseconds since the epoch (UTC); days are
-- TEXT 'YYYY-MM-DD'; times of day TEXT 'HH:mm'; flags INTEGER 0/1. Kept portable: the
-- PostgreSQL migration mirrors it with BIGINT columns.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE accounts (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    name               TEXT    NOT NULL,
    event_seq          INTEGER NOT NULL DEFAULT 0,
    wait_warn_minutes  INTEGER NOT NULL DEFAULT 15,
    wait_alert_minutes INTEGER NOT NULL DEFAULT 30,
    created_at         INTEGER NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    INTEGER NOT NULL REFERENCES accounts (id),
    name          TEXT    NOT NULL,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    is_master     INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    user_id      INTEGER NOT NULL REFERENCES users (id),
    name         TEXT    NOT NULL,
    key_prefix   TEXT    NOT NULL,
    key_hash     TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX api_keys_account ON api_keys (account_id);

CREATE TABLE procedures (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    name       TEXT    NOT NULL,
    price      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deleted_at INTEGER
);
CREATE INDEX procedures_account ON procedures (account_id);

CREATE TABLE doctors (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id       INTEGER NOT NULL REFERENCES accounts (id),
    name             TEXT    NOT NULL,
    room             TEXT,
    is_busy          INTEGER NOT NULL DEFAULT 0,
    start_time       TEXT,
    end_time         TEXT,
    interval_minutes INTEGER,
    working_days     TEXT    NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    deleted_at       INTEGER
);
CREATE INDEX doctors_account ON doctors (account_id);

CREATE TABLE doctor_procedures (
    doctor_id    INTEGER NOT NULL REFERENCES doctors (id),
    procedure_id INTEGER NOT NULL REFERENCES procedures (id),
    PRIMARY KEY (doctor_id, procedure_id)
);

CREATE TABLE patients (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    name       TEXT    NOT NULL,
    phone      TEXT,
    date_birth TEXT,
    cpf        TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (account_id, cpf)
);
CREATE INDEX patients_account_name ON patients (account_id, name);

CREATE TABLE appointments (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    patient_id     INTEGER NOT NULL REFERENCES patients (id),
    doctor_id      INTEGER REFERENCES doctors (id),
    procedure_id   INTEGER REFERENCES procedures (id),
    day            TEXT    NOT NULL,
    start_time     TEXT    NOT NULL,
    end_time       TEXT    NOT NULL,
    notes          TEXT,
    status_id      INTEGER NOT NULL,
    priority_flags TEXT    NOT NULL DEFAULT '',
    checked_in_at  INTEGER,
    called_at      INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    deleted_at     INTEGER
);
CREATE INDEX appointments_account_day ON appointments (account_id, day, status_id);

-- The durable event log: one row per outgoing event, written in the transaction of the change
-- it reports. `seq` rises by one per account; `relayed` flips once the relay has broadcast it.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    seq        INTEGER NOT NULL,
    event      TEXT    NOT NULL,
    data       TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    relayed    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account_id, seq)
);
CREATE INDEX events_pending ON events (relayed, id);

-- Which node relays events now (one at a time, so broadcasts are never doubled by design).
CREATE TABLE relay_lease (
    name       TEXT PRIMARY KEY,
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);
