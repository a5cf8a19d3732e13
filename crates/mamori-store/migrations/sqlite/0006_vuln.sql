-- mamori vulnerability diagnosis (SQLite). Keep both dialects in step.
-- The feeds (NVD, CISA KEV, JVN iPedia) are global: one copy for every facility of the deployment.
-- Per facility: the CPEs chosen for each device, the findings with their lifecycle and its history, and the scans.

-- Every feed file that was imported (取込履歴): which file, which feed, when, what it changed, how fresh its data is.
CREATE TABLE vuln_feed_imports (
    id INTEGER PRIMARY KEY,
    feed TEXT NOT NULL CHECK (feed IN ('nvd', 'kev', 'jvn')),
    source TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    records INTEGER NOT NULL,
    added INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    unchanged INTEGER NOT NULL,
    older_ignored INTEGER NOT NULL,
    data_as_of TEXT,
    imported_by TEXT NOT NULL,
    imported_at TEXT NOT NULL
);
CREATE INDEX vuln_feed_imports_feed ON vuln_feed_imports (feed, imported_at);

-- NVD CVE records (JSON of mamori_vuln::CveRecord); digest = SHA-256 of data, for incremental re-import.
CREATE TABLE vuln_cves (
    id TEXT PRIMARY KEY,
    last_modified TEXT NOT NULL,
    digest TEXT NOT NULL,
    data TEXT NOT NULL
);
-- Canonical (vendor, product) of each vulnerable criterion → CVE: a scan loads only the CVEs of its devices' products.
CREATE TABLE vuln_cve_products (
    vendor TEXT NOT NULL,
    product TEXT NOT NULL,
    cve_id TEXT NOT NULL REFERENCES vuln_cves (id) ON DELETE CASCADE,
    PRIMARY KEY (vendor, product, cve_id)
);
CREATE INDEX vuln_cve_products_cve ON vuln_cve_products (cve_id);

CREATE TABLE vuln_kev (
    cve_id TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    data TEXT NOT NULL
);

CREATE TABLE vuln_jvn (
    id TEXT PRIMARY KEY,
    last_updated TEXT,
    digest TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE vuln_jvn_products (
    vendor TEXT NOT NULL,
    product TEXT NOT NULL,
    jvn_id TEXT NOT NULL REFERENCES vuln_jvn (id) ON DELETE CASCADE,
    PRIMARY KEY (vendor, product, jvn_id)
);
CREATE INDEX vuln_jvn_products_jvn ON vuln_jvn_products (jvn_id);
CREATE TABLE vuln_jvn_cves (
    cve_id TEXT NOT NULL,
    jvn_id TEXT NOT NULL REFERENCES vuln_jvn (id) ON DELETE CASCADE,
    PRIMARY KEY (cve_id, jvn_id)
);
CREATE INDEX vuln_jvn_cves_jvn ON vuln_jvn_cves (jvn_id);

-- CPEs set by a person for a device (override the normaliser's guess), with the reason.
CREATE TABLE vuln_cpe_overrides (
    facility_id INTEGER NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    asset_no TEXT NOT NULL,
    cpes TEXT NOT NULL,
    reason TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at TEXT NOT NULL,
    PRIMARY KEY (facility_id, asset_no)
);

-- What the last scan chose for each device: CPEs (JSON [{cpe, reason}]), texts no rule recognised, notes.
CREATE TABLE vuln_device_cpes (
    facility_id INTEGER NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    asset_no TEXT NOT NULL,
    cpes TEXT NOT NULL,
    unrecognised TEXT NOT NULL,
    notes TEXT NOT NULL,
    overridden INTEGER NOT NULL,
    at_external_point INTEGER NOT NULL,
    needs_review INTEGER NOT NULL,
    PRIMARY KEY (facility_id, asset_no)
);

-- Findings: key = asset_no|CVE (stable). state: open / accepted / fixed / false_positive.
-- present = 1 when the last scan still matched it.
CREATE TABLE vuln_findings (
    facility_id INTEGER NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    fkey TEXT NOT NULL,
    asset_no TEXT NOT NULL,
    cve_id TEXT NOT NULL,
    jvn_id TEXT,
    confidence TEXT NOT NULL,
    tier TEXT NOT NULL,
    priority INTEGER NOT NULL,
    score10 INTEGER NOT NULL,
    kev INTEGER NOT NULL,
    ransomware INTEGER NOT NULL,
    at_external_point INTEGER NOT NULL,
    title_ja TEXT,
    fixed_version TEXT,
    matched_cpe TEXT NOT NULL,
    criterion TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'accepted', 'fixed', 'false_positive')),
    present INTEGER NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    state_reason TEXT NOT NULL DEFAULT '',
    state_by TEXT NOT NULL DEFAULT '',
    state_at TEXT,
    PRIMARY KEY (facility_id, fkey)
);
CREATE INDEX vuln_findings_order ON vuln_findings (facility_id, present, priority);
CREATE INDEX vuln_findings_device ON vuln_findings (facility_id, asset_no);

-- Lifecycle history of a finding (who changed its state, when, why; reopenings by a scan).
CREATE TABLE vuln_finding_history (
    id INTEGER PRIMARY KEY,
    facility_id INTEGER NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    fkey TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    reason TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
CREATE INDEX vuln_finding_history_key ON vuln_finding_history (facility_id, fkey);

-- Every scan of a facility.
CREATE TABLE vuln_scans (
    id INTEGER PRIMARY KEY,
    facility_id INTEGER NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    scanned_by TEXT NOT NULL,
    scanned_at TEXT NOT NULL,
    devices INTEGER NOT NULL,
    unmatched INTEGER NOT NULL,
    cves_loaded INTEGER NOT NULL,
    findings INTEGER NOT NULL,
    added INTEGER NOT NULL,
    reopened INTEGER NOT NULL,
    resolved INTEGER NOT NULL,
    millis INTEGER NOT NULL
);
CREATE INDEX vuln_scans_facility ON vuln_scans (facility_id, scanned_at);
