-- A port's fixed IPs move into its row, as JSON in their order: an attach
-- or detach writes one row (not a delete and re-insert of its addresses),
-- and a load reads ports without joining a second table (a million-port
-- load built a map of every port's addresses first). An address is unique
-- in its subnet by the world's rule, checked under the store's write lock
-- with the store caught up, like every other rule.
ALTER TABLE ports ADD COLUMN fixed_ips TEXT NOT NULL DEFAULT '[]';
-- (The order inside the aggregate: SQLite keeps it there, 3.44 and later.)
UPDATE ports SET fixed_ips = (
    SELECT json_group_array(json_object('subnet_id', subnet_id, 'ip_address', ip_address)
                            ORDER BY position)
    FROM port_fixed_ips WHERE port_fixed_ips.port_id = ports.id
);
DROP TABLE port_fixed_ips;
