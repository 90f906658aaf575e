-- One row that the storage probe rewrites while writes fail for a full disk, a read-only file
-- system or I/O errors: its first successful write again ends the fault (see store/faults.rs).
CREATE TABLE storage_probe (
    id BIGINT PRIMARY KEY,
    written_at BIGINT NOT NULL,
    filler TEXT NOT NULL
);
