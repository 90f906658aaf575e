-- Each visit row carries what a report's scope filters on (the appointment's account, day,
-- doctor, procedure and deletion), so the waits report scans only the visits of its range
-- (`appointment_visits_scope`) instead of joining every appointment of the range to its visit.
--
-- Kept by triggers: a visit row written by the history's trigger (0011) takes the values of
-- its appointment as it is inserted, and a change of the appointment's day, doctor, procedure
-- or deletion is copied to its visit row in the same transaction. Filled here for the visits
-- already recorded. Additive: nodes of the previous version keep working beside it.
ALTER TABLE appointment_visits ADD COLUMN day TEXT;
ALTER TABLE appointment_visits ADD COLUMN doctor_id BIGINT;
ALTER TABLE appointment_visits ADD COLUMN procedure_id BIGINT;
ALTER TABLE appointment_visits ADD COLUMN deleted_at BIGINT;

UPDATE appointment_visits v SET
    day = a.day, doctor_id = a.doctor_id, procedure_id = a.procedure_id,
    deleted_at = a.deleted_at
FROM appointments a WHERE a.id = v.appointment_id;

CREATE INDEX appointment_visits_scope ON appointment_visits (account_id, day);

CREATE FUNCTION appointment_visits_scope_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT a.day, a.doctor_id, a.procedure_id, a.deleted_at
      INTO NEW.day, NEW.doctor_id, NEW.procedure_id, NEW.deleted_at
      FROM appointments a WHERE a.id = NEW.appointment_id;
    RETURN NEW;
END;
$$;

CREATE TRIGGER appointment_visits_scope_fill BEFORE INSERT ON appointment_visits
    FOR EACH ROW EXECUTE FUNCTION appointment_visits_scope_fill();

CREATE FUNCTION appointment_visits_scope_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE appointment_visits SET
        day = NEW.day, doctor_id = NEW.doctor_id, procedure_id = NEW.procedure_id,
        deleted_at = NEW.deleted_at
    WHERE appointment_id = NEW.id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER appointment_visits_scope_follow
    AFTER UPDATE OF day, doctor_id, procedure_id, deleted_at ON appointments
    FOR EACH ROW
    WHEN (OLD.day IS DISTINCT FROM NEW.day OR OLD.doctor_id IS DISTINCT FROM NEW.doctor_id
        OR OLD.procedure_id IS DISTINCT FROM NEW.procedure_id
        OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at)
    EXECUTE FUNCTION appointment_visits_scope_follow();
