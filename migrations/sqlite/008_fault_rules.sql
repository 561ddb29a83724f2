-- Fault rules are shared state (issue 12): every process sharing the file
-- fires the same rules and counts their firings together. The rule as
-- JSON, in the order rules were set.
CREATE TABLE fault_rules (
    id TEXT PRIMARY KEY,
    rule TEXT NOT NULL
);
