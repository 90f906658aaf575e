-- Each visit row carries what a report's scope filters on (the appointment's account, day,
-- doctor, procedure and deletion), so the waits report scans only the visits of its range
-- (`appointment_visits_scope`) instead of joining every appointment of the range to its visit.
--
-- Kept by triggers: a visit row written by the history's triggers (0011) takes the values of
-- its appointment at once, and a change of the appointment's day, doctor, procedure or
-- deletion is copied to its visit row in the same transaction. Filled here for the visits
-- already recorded. Additive: nodes of the previous version keep working beside it.
ALTER TABLE appointment_visits ADD COLUMN day TEXT;
ALTER TABLE appointment_visits ADD COLUMN doctor_id INTEGER;
ALTER TABLE appointment_visits ADD COLUMN procedure_id INTEGER;
ALTER TABLE appointment_visits ADD COLUMN deleted_at INTEGER;

UPDATE appointment_visits SET
    day = (SELECT a.day FROM appointments a WHERE a.id = appointment_visits.appointment_id),
    doctor_id = (SELECT a.doctor_id FROM appointments a WHERE a.id = appointment_visits.appointment_id),
    procedure_id = (SELECT a.procedure_id FROM appointments a WHERE a.id = appointment_visits.appointment_id),
    deleted_at = (SELECT a.deleted_at FROM appointments a WHERE a.id = appointment_visits.appointment_id);

CREATE INDEX appointment_visits_scope ON appointment_visits (account_id, day);

CREATE TRIGGER appointment_visits_scope_on_insert AFTER INSERT ON appointment_visits
BEGIN
    UPDATE appointment_visits SET
        day = (SELECT a.day FROM appointments a WHERE a.id = NEW.appointment_id),
        doctor_id = (SELECT a.doctor_id FROM appointments a WHERE a.id = NEW.appointment_id),
        procedure_id = (SELECT a.procedure_id FROM appointments a WHERE a.id = NEW.appointment_id),
        deleted_at = (SELECT a.deleted_at FROM appointments a WHERE a.id = NEW.appointment_id)
    WHERE appointment_id = NEW.appointment_id;
END;

CREATE TRIGGER appointment_visits_scope_on_appointment
AFTER UPDATE OF day, doctor_id, procedure_id, deleted_at ON appointments
WHEN OLD.day IS NOT NEW.day OR OLD.doctor_id IS NOT NEW.doctor_id
    OR OLD.procedure_id IS NOT NEW.procedure_id OR OLD.deleted_at IS NOT NEW.deleted_at
BEGIN
    UPDATE appointment_visits SET
        day = NEW.day, doctor_id = NEW.doctor_id, procedure_id = NEW.procedure_id,
        deleted_at = NEW.deleted_at
    WHERE appointment_id = NEW.id;
END;
