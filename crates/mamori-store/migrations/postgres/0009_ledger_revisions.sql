-- One revision number per facility and ledger, raised in the same transaction as every write to that ledger
-- (mamori_store::ledgers). The web keeps the search text of a ledger in memory and reuses it while the revision
-- is unchanged; changed_at is when the ledger last changed (a deletion included), shown on the dashboard.
CREATE TABLE ledger_revisions (
    facility_id BIGINT NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    ledger TEXT NOT NULL,
    rev BIGINT NOT NULL,
    changed_at TEXT NOT NULL,
    PRIMARY KEY (facility_id, ledger)
);
INSERT INTO ledger_revisions (facility_id, ledger, rev, changed_at)
    SELECT facility_id, 'devices', 1, MAX(updated_at) FROM devices GROUP BY facility_id;
INSERT INTO ledger_revisions (facility_id, ledger, rev, changed_at)
    SELECT facility_id, 'systems', 1, MAX(updated_at) FROM systems GROUP BY facility_id;
INSERT INTO ledger_revisions (facility_id, ledger, rev, changed_at)
    SELECT facility_id, 'accounts', 1, MAX(updated_at) FROM accounts GROUP BY facility_id;
INSERT INTO ledger_revisions (facility_id, ledger, rev, changed_at)
    SELECT facility_id, 'vendors', 1, MAX(updated_at) FROM vendors GROUP BY facility_id;
