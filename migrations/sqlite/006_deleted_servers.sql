-- Servers deleted through the compute API stay, soft-deleted as Nova's
-- instance rows are, so that their instance actions can still be read.
-- 0 = live (every row before this migration).
ALTER TABLE servers ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
