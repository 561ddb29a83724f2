-- porthole's state on PostgreSQL (issue 12): the change log every process
-- follows, its head (one row: the write lock's row too), and the state the
-- log leads to, one row per entity with the entity as JSON (the same
-- serialisation as the log's).
CREATE TABLE log_head (
    id integer PRIMARY KEY CHECK (id = 1),
    position bigint NOT NULL
);
INSERT INTO log_head (id, position) VALUES (1, 0);

CREATE TABLE change_log (
    seq bigint PRIMARY KEY,
    batch text NOT NULL
);

-- kind: server, network, subnet, port, action, token, fault_rule. owner: the server of
-- an instance action (removed with it). position: first insertion, the
-- order entities load in.
CREATE TABLE entities (
    kind text NOT NULL,
    key text NOT NULL,
    owner text,
    body text NOT NULL,
    deleted boolean NOT NULL DEFAULT false,
    position bigserial,
    PRIMARY KEY (kind, key)
);
CREATE INDEX entities_owner ON entities (owner) WHERE owner IS NOT NULL;
