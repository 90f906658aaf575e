-- The clinic's time zone (an IANA name such as America/Sao_Paulo). NULL means the server's
-- zone (TZ), so existing accounts keep the day they had.
ALTER TABLE accounts ADD COLUMN time_zone TEXT;
-- A doctor's appointments of one day, read by the free-slot list and the busy check.
CREATE INDEX appointments_doctor_day ON appointments (account_id, doctor_id, day);
