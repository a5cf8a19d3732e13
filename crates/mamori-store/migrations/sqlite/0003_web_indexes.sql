-- mamori web: the dashboard's "last update" per ledger (MAX(updated_at)) from an index, not a table scan.
CREATE INDEX devices_updated ON devices (facility_id, updated_at);
CREATE INDEX systems_updated ON systems (facility_id, updated_at);
CREATE INDEX accounts_updated ON accounts (facility_id, updated_at);
CREATE INDEX vendors_updated ON vendors (facility_id, updated_at);
