-- An event row takes its account's next `seq` in the statement that inserts it
-- (`INSERT INTO events ... SELECT event_seq + 1 FROM accounts`, see `store::events::append`),
-- and this trigger moves the account's counter up to it: one statement per logged event
-- instead of an UPDATE of the counter followed by the INSERT. Writers of an account hold its
-- row locked (`Store::begin_write`), so two of them never read the same counter.
CREATE FUNCTION events_advance_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE accounts SET event_seq = NEW.seq WHERE id = NEW.account_id AND event_seq < NEW.seq;
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_advance_seq AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_advance_seq();
