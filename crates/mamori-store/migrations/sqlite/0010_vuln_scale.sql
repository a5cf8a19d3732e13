-- mamori vulnerability diagnosis at scale (SQLite). Keep both dialects in step.
-- A facility of 10k devices has millions of per-device findings. Two changes keep a scan's save and
-- the reading of its findings bounded:
-- 1. What a finding says (CVE, JVN, title, fixed version, matched CPE, criterion, reason) is
--    stored once per distinct content in vuln_finding_facts (id = a stable 64-bit hash of the content);
--    the per-device row keeps its lifecycle, its priority columns and the fact's id. The detail JSON
--    (CVSS vectors, KEV action) is no longer copied into each row: it is read from the feed tables.
-- 2. A present finding's last_seen is the last scan's time (stored '' and filled in when read), so
--    an unchanged finding is never rewritten.
-- 3. Each device keeps a digest of its findings (vuln_device_cpes.findings_digest): a rescan rewrites only
--    the devices whose findings changed.
-- The key of a finding stays `asset_no|CVE`; the primary key is (facility_id, asset_no, cve_id).

CREATE TABLE vuln_finding_facts (
    id INTEGER PRIMARY KEY,
    cve_id TEXT NOT NULL,
    jvn_id TEXT,
    title_ja TEXT,
    fixed_version TEXT,
    matched_cpe TEXT NOT NULL,
    criterion TEXT NOT NULL,
    reason TEXT NOT NULL
);

CREATE TABLE vuln_device_findings (
    facility_id INTEGER NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    asset_no TEXT NOT NULL,
    cve_id TEXT NOT NULL,
    fact_id INTEGER NOT NULL,
    confidence TEXT NOT NULL,
    tier TEXT NOT NULL,
    priority INTEGER NOT NULL,
    score10 INTEGER NOT NULL,
    kev INTEGER NOT NULL,
    ransomware INTEGER NOT NULL,
    at_external_point INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'accepted', 'fixed', 'false_positive')),
    present INTEGER NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    state_reason TEXT NOT NULL DEFAULT '',
    state_by TEXT NOT NULL DEFAULT '',
    state_at TEXT,
    PRIMARY KEY (facility_id, asset_no, cve_id)
) WITHOUT ROWID;

-- Existing findings move over; the content hash of old rows is computed here as a plain counter
-- (negative ids: never equal to a hash the application computes for new content, which is masked
-- to be non-negative).
CREATE TEMP TABLE vuln_migrate_facts AS
SELECT -ROW_NUMBER() OVER (ORDER BY facility_id, fkey) AS id, facility_id, fkey FROM vuln_findings;
INSERT INTO vuln_finding_facts (id, cve_id, jvn_id, title_ja, fixed_version, matched_cpe, criterion, reason)
SELECT m.id, f.cve_id, f.jvn_id, f.title_ja, f.fixed_version, f.matched_cpe, f.criterion, f.reason
FROM vuln_findings f JOIN vuln_migrate_facts m ON m.facility_id = f.facility_id AND m.fkey = f.fkey;
INSERT OR IGNORE INTO vuln_device_findings (facility_id, asset_no, cve_id, fact_id, confidence, tier, priority, score10, kev,
    ransomware, at_external_point, state, present, first_seen, last_seen, state_reason, state_by, state_at)
SELECT f.facility_id, f.asset_no, f.cve_id, m.id, f.confidence, f.tier, f.priority, f.score10, f.kev, f.ransomware,
    f.at_external_point, f.state, f.present, f.first_seen, f.last_seen, f.state_reason, f.state_by, f.state_at
FROM vuln_findings f JOIN vuln_migrate_facts m ON m.facility_id = f.facility_id AND m.fkey = f.fkey;
DROP TABLE vuln_migrate_facts;
DROP TABLE vuln_findings;

-- The findings page: present/state filter, then priority order, one page at a time.
CREATE INDEX vuln_device_findings_order
    ON vuln_device_findings (facility_id, present, state, priority DESC, asset_no, cve_id);
-- No index by CVE: the "by CVE" view and the counts read vuln_finding_sums; one CVE's devices are
-- found in the order index (it holds cve_id). An index by CVE cost a quarter of a big scan's writes.

-- Digest of each device's findings as last written ('' = unknown: rewrite at the next scan).
ALTER TABLE vuln_device_cpes ADD COLUMN findings_digest TEXT NOT NULL DEFAULT '';

-- Counts of the findings per facility and CVE by every column a filter or a count uses, kept in step
-- with vuln_device_findings by the scan and the triage (the page's counts and the "by CVE" view read
-- these instead of millions of rows).
CREATE TABLE vuln_finding_sums (
    facility_id INTEGER NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    cve_id TEXT NOT NULL,
    present INTEGER NOT NULL,
    state TEXT NOT NULL,
    confidence TEXT NOT NULL,
    tier TEXT NOT NULL,
    kev INTEGER NOT NULL,
    ransomware INTEGER NOT NULL,
    at_external_point INTEGER NOT NULL,
    score10 INTEGER NOT NULL,
    priority INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (facility_id, cve_id, present, state, confidence, tier, kev, ransomware, at_external_point, score10, priority)
);
INSERT INTO vuln_finding_sums (facility_id, cve_id, present, state, confidence, tier, kev, ransomware, at_external_point,
    score10, priority, n)
SELECT facility_id, cve_id, present, state, confidence, tier, kev, ransomware, at_external_point, score10, priority, COUNT(*)
FROM vuln_device_findings
GROUP BY facility_id, cve_id, present, state, confidence, tier, kev, ransomware, at_external_point, score10, priority;
-- The title of a CVE for the "by CVE" view.
CREATE INDEX vuln_finding_facts_cve ON vuln_finding_facts (cve_id);
