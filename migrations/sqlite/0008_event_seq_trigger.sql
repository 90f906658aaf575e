-- An event row takes its account's next `seq` in the statement that inserts it
-- (`INSERT INTO events ... SELECT event_seq + 1 FROM accounts`, see `store::events::append`),
-- and this trigger moves the account's counter up to it: one statement per logged event
-- instead of an UPDATE of the counter followed by the INSERT.
CREATE TRIGGER events_advance_seq AFTER INSERT ON events
BEGIN
    UPDATE accounts SET event_seq = NEW.seq WHERE id = NEW.account_id AND event_seq < NEW.seq;
END;
