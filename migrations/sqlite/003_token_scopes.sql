-- Domain- and system-scoped tokens, audit chains (token method) and
-- revocation: revoked tokens are kept until they expire, so that Keystone's
-- "Failed to validate token" tells them from tokens never issued. Rows of
-- 002 read as unscoped-or-project tokens without a chain, not revoked.
ALTER TABLE tokens ADD COLUMN domain_id TEXT;
ALTER TABLE tokens ADD COLUMN system INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN parent_audit_id TEXT;
ALTER TABLE tokens ADD COLUMN revoked INTEGER NOT NULL DEFAULT 0;
