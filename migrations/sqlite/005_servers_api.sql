-- The servers API: flavor, image, times, metadata, tags, description,
-- locked reason... as one JSON object (ServerDetails); '{}' = defaults.
ALTER TABLE servers ADD COLUMN details TEXT NOT NULL DEFAULT '{}';
