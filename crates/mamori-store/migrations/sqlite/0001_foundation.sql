-- mamori foundation schema (SQLite). Generated from one description in the foundation commit; keep both dialects in step.
-- Dates are ISO-8601 TEXT (YYYY-MM-DD), timestamps RFC 3339 UTC TEXT, flags 0/1 integers: the same on both databases.

CREATE TABLE facilities (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('hospital', 'clinic')),
    prefecture TEXT NOT NULL,
    municipality TEXT NOT NULL DEFAULT '',
    beds INTEGER,
    has_ehr INTEGER NOT NULL DEFAULT 1,
    medical_code TEXT UNIQUE,
    created_at TEXT NOT NULL
);
CREATE INDEX facilities_prefecture ON facilities (prefecture);

CREATE TABLE devices (
    id INTEGER PRIMARY KEY,
    facility_id INTEGER NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    asset_no TEXT NOT NULL,
    category TEXT,
    maker TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    os TEXT NOT NULL DEFAULT '',
    os_version TEXT NOT NULL DEFAULT '',
    software TEXT NOT NULL DEFAULT '',
    software_version TEXT NOT NULL DEFAULT '',
    ip_addresses TEXT NOT NULL DEFAULT '',
    mac TEXT NOT NULL DEFAULT '',
    hostname TEXT NOT NULL DEFAULT '',
    location TEXT NOT NULL DEFAULT '',
    user_name TEXT NOT NULL DEFAULT '',
    registered_on TEXT,
    status TEXT,
    description TEXT NOT NULL DEFAULT '',
    managed_by TEXT NOT NULL DEFAULT '',
    admin_logon_pc INTEGER,
    antivirus TEXT NOT NULL DEFAULT '',
    antivirus_state TEXT NOT NULL DEFAULT '',
    end_of_support TEXT,
    updated_at TEXT NOT NULL,
    UNIQUE (facility_id, asset_no)
);
CREATE TABLE systems (
    id INTEGER PRIMARY KEY,
    facility_id INTEGER NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    category TEXT NOT NULL DEFAULT '',
    vendor TEXT NOT NULL DEFAULT '',
    contract TEXT NOT NULL DEFAULT '',
    remote_maintenance INTEGER,
    remote_method TEXT NOT NULL DEFAULT '',
    mds_sds INTEGER,
    devices TEXT NOT NULL DEFAULT '',
    importance TEXT NOT NULL DEFAULT '',
    recovery_priority TEXT NOT NULL DEFAULT '',
    alternative TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    UNIQUE (facility_id, name)
);
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    facility_id INTEGER NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    no INTEGER,
    department TEXT NOT NULL DEFAULT '',
    family_name TEXT NOT NULL DEFAULT '',
    given_name TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL DEFAULT '',
    status TEXT,
    valid_until TEXT,
    last_login TEXT,
    updated_at TEXT NOT NULL,
    UNIQUE (facility_id, user_id)
);
CREATE TABLE vendors (
    id INTEGER PRIMARY KEY,
    facility_id INTEGER NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    contact_person TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    emergency_phone TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    contract TEXT NOT NULL DEFAULT '',
    has_contract INTEGER,
    description TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    UNIQUE (facility_id, name)
);
CREATE INDEX devices_status ON devices (facility_id, status);
CREATE INDEX accounts_status ON accounts (facility_id, status);

-- Header mappings saved for a facility's odd file headers (見出しの対応付け).
CREATE TABLE header_mappings (
    facility_id INTEGER NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    ledger TEXT NOT NULL,
    header TEXT NOT NULL,
    column_key TEXT NOT NULL,
    PRIMARY KEY (facility_id, ledger, header)
);

-- Every import that was written (取込履歴).
CREATE TABLE import_runs (
    id INTEGER PRIMARY KEY,
    facility_id INTEGER NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    ledger TEXT NOT NULL,
    source TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    rows_in_file INTEGER NOT NULL,
    added INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    unchanged INTEGER NOT NULL,
    imported_by TEXT NOT NULL,
    imported_at TEXT NOT NULL
);
CREATE INDEX import_runs_facility ON import_runs (facility_id, imported_at);
