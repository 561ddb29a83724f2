-- Tokens issued by the builtin identity service (opaque ids).
CREATE TABLE tokens (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    project_id TEXT,
    -- JSON array of role names
    roles      TEXT NOT NULL,
    -- JSON array of authentication methods
    methods    TEXT NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER,
    audit_id   TEXT NOT NULL
);
