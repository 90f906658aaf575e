-- One row per appointment that has arrived: its visit, as the reports read it. The arrival is
-- the latest move into CHECKIN (2) that is not a return from EM_ATENDIMENTO (3); the first and
-- last calls are the first and last moves into EM_ATENDIMENTO at or after it, the finish the
-- last move into FINALIZADO (4) at or after it. The reports rank these rows instead of
-- re-deriving every visit from the status history.
--
-- A trigger on the status history writes the appointment's row again from its moves (a few
-- probes into the covering index of 0006) after every insert or change of one of them, so the
-- row is written in the transaction of each status move, whichever code records it (the status
-- endpoint, self check-in, the desk, the demo, the seeding). Filled here from the history
-- already recorded.
CREATE TABLE appointment_visits (
    appointment_id BIGINT PRIMARY KEY REFERENCES appointments (id),
    account_id     BIGINT NOT NULL REFERENCES accounts (id),
    checkin_at     BIGINT NOT NULL,
    first_call_at  BIGINT,
    last_call_at   BIGINT,
    finished_at    BIGINT
);
CREATE INDEX appointment_visits_account ON appointment_visits (account_id);

INSERT INTO appointment_visits
    (appointment_id, account_id, checkin_at, first_call_at, last_call_at, finished_at)
SELECT v.appointment_id, v.account_id, v.checkin_at,
    (SELECT MIN(h.at) FROM appointment_status_history h
      WHERE h.appointment_id = v.appointment_id AND h.to_status = 3 AND h.at >= v.checkin_at),
    (SELECT MAX(h.at) FROM appointment_status_history h
      WHERE h.appointment_id = v.appointment_id AND h.to_status = 3 AND h.at >= v.checkin_at),
    (SELECT MAX(h.at) FROM appointment_status_history h
      WHERE h.appointment_id = v.appointment_id AND h.to_status = 4 AND h.at >= v.checkin_at)
FROM (SELECT h.appointment_id, MIN(h.account_id) AS account_id, MAX(h.at) AS checkin_at
      FROM appointment_status_history h
      WHERE h.to_status = 2 AND COALESCE(h.from_status, 0) <> 3
      GROUP BY h.appointment_id) v;

CREATE FUNCTION appointment_visits_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM appointment_visits WHERE appointment_id = NEW.appointment_id;
    INSERT INTO appointment_visits
        (appointment_id, account_id, checkin_at, first_call_at, last_call_at, finished_at)
    SELECT v.appointment_id, v.account_id, v.checkin_at,
        (SELECT MIN(h.at) FROM appointment_status_history h
          WHERE h.appointment_id = v.appointment_id AND h.to_status = 3 AND h.at >= v.checkin_at),
        (SELECT MAX(h.at) FROM appointment_status_history h
          WHERE h.appointment_id = v.appointment_id AND h.to_status = 3 AND h.at >= v.checkin_at),
        (SELECT MAX(h.at) FROM appointment_status_history h
          WHERE h.appointment_id = v.appointment_id AND h.to_status = 4 AND h.at >= v.checkin_at)
    FROM (SELECT NEW.appointment_id AS appointment_id, NEW.account_id AS account_id,
            (SELECT MAX(h.at) FROM appointment_status_history h
              WHERE h.appointment_id = NEW.appointment_id AND h.to_status = 2
              AND COALESCE(h.from_status, 0) <> 3) AS checkin_at) v
    WHERE v.checkin_at IS NOT NULL;
    RETURN NULL;
END;
$$;

CREATE TRIGGER appointment_visits_refresh AFTER INSERT OR UPDATE ON appointment_status_history
    FOR EACH ROW EXECUTE FUNCTION appointment_visits_refresh();
