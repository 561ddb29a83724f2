CREATE TABLE servers (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    project_id  TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    vm_state    TEXT NOT NULL,
    task_state  TEXT,
    locked      INTEGER NOT NULL,
    launched    INTEGER NOT NULL
);

CREATE TABLE networks (
    id                    TEXT PRIMARY KEY,
    name                  TEXT NOT NULL,
    project_id            TEXT NOT NULL,
    shared                INTEGER NOT NULL,
    external              INTEGER NOT NULL,
    port_security_enabled INTEGER NOT NULL
);

CREATE TABLE subnets (
    id               TEXT PRIMARY KEY,
    network_id       TEXT NOT NULL,
    cidr             TEXT NOT NULL,
    gateway_ip       TEXT,
    -- JSON array of {"start", "end"}
    allocation_pools TEXT NOT NULL
);

CREATE TABLE ports (
    id                 TEXT PRIMARY KEY,
    network_id         TEXT NOT NULL,
    project_id         TEXT NOT NULL,
    mac_address        TEXT NOT NULL UNIQUE,
    device_id          TEXT NOT NULL,
    device_owner       TEXT NOT NULL,
    status             TEXT NOT NULL,
    preserve_on_delete INTEGER NOT NULL,
    tag                TEXT,
    seq                INTEGER NOT NULL
);

CREATE TABLE port_fixed_ips (
    port_id    TEXT NOT NULL,
    position   INTEGER NOT NULL,
    subnet_id  TEXT NOT NULL,
    ip_address TEXT NOT NULL,
    PRIMARY KEY (port_id, position),
    UNIQUE (subnet_id, ip_address)
);

CREATE TABLE instance_actions (
    server_id  TEXT NOT NULL,
    request_id TEXT NOT NULL,
    action     TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    project_id TEXT NOT NULL,
    start_time INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    message    TEXT,
    seq        INTEGER NOT NULL,
    -- JSON array of events (event, start_time, finish_time, result, traceback, host, details)
    events     TEXT NOT NULL,
    PRIMARY KEY (server_id, request_id)
);
