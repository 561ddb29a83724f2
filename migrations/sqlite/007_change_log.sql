-- The change log every process sharing the file follows (issue 12): each
-- committed batch of changes, by sequence number, beside the tables it
-- was applied to; the head survives the log's trimming.
CREATE TABLE change_log (
    seq INTEGER PRIMARY KEY,
    batch TEXT NOT NULL
);
CREATE TABLE log_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    position INTEGER NOT NULL
);
INSERT INTO log_head (id, position) VALUES (1, 0);
