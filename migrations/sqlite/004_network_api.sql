-- The network API (issue 10): Neutron's other attributes of networks,
-- subnets and ports, as a JSON object (model::NeutronAttrs; every key
-- optional, Neutron's defaults when absent).
ALTER TABLE networks ADD COLUMN neutron TEXT NOT NULL DEFAULT '{}';
ALTER TABLE subnets ADD COLUMN neutron TEXT NOT NULL DEFAULT '{}';
ALTER TABLE ports ADD COLUMN neutron TEXT NOT NULL DEFAULT '{}';
