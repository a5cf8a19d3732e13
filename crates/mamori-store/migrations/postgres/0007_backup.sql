-- mamori offline backup (PostgreSQL): targets, backup sets, key escrow, run history, media rotation. Keep both dialects in step.
-- Passwords are NEVER stored: the key escrow records only who holds the password and where it is kept.

-- Targets (保管先): one restic-format repository each. tier: online (T1) / offline (T2) / offsite (T3).
CREATE TABLE backup_targets (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    facility_id BIGINT NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    tier TEXT NOT NULL CHECK (tier IN ('online', 'offline', 'offsite')),
    kind TEXT NOT NULL CHECK (kind IN ('local_dir', 'removable_media', 'immutable_files')),
    path TEXT NOT NULL,
    media_ids TEXT NOT NULL DEFAULT '',
    is_primary BIGINT NOT NULL DEFAULT 0,
    note TEXT NOT NULL DEFAULT '',
    generations_json TEXT,
    generations_at TEXT,
    created_by TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    UNIQUE (facility_id, name)
);

-- Backup sets (バックアップ対象): a system of the systems ledger and where its dumps come from.
CREATE TABLE backup_sets (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    facility_id BIGINT NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    system TEXT NOT NULL,
    source_kind TEXT NOT NULL CHECK (source_kind IN ('landing', 'command')),
    source TEXT NOT NULL,
    dump_type TEXT NOT NULL DEFAULT 'full',
    work_dir TEXT NOT NULL DEFAULT '',
    schedule TEXT NOT NULL DEFAULT '',
    responsible TEXT NOT NULL DEFAULT '',
    restore_procedure TEXT NOT NULL DEFAULT '',
    recovery_priority BIGINT,
    created_by TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    UNIQUE (facility_id, system, dump_type)
);

-- Key escrow (鍵の預託): who holds the repository password and where. Append-only; the newest row holds.
CREATE TABLE backup_key_escrow (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    facility_id BIGINT NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    holders TEXT NOT NULL,
    where_kept TEXT NOT NULL DEFAULT '',
    recorded_by TEXT NOT NULL DEFAULT '',
    recorded_at TEXT NOT NULL
);

-- Run history (実施記録): every init / backup / check / drill / copy / forget / immutable.
CREATE TABLE backup_runs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    facility_id BIGINT NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    op TEXT NOT NULL CHECK (op IN ('init', 'backup', 'check', 'drill', 'copy', 'forget', 'immutable')),
    system TEXT NOT NULL DEFAULT '',
    target_name TEXT NOT NULL DEFAULT '',
    repository TEXT NOT NULL DEFAULT '',
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    ok BIGINT NOT NULL,
    bytes BIGINT NOT NULL DEFAULT 0,
    files BIGINT NOT NULL DEFAULT 0,
    snapshot_id TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    by_user TEXT NOT NULL DEFAULT ''
);
CREATE INDEX backup_runs_facility ON backup_runs (facility_id, op, started_at);

-- Media rotation (媒体の取り外し・取り付け): with media ID and time; what was on the media when detached.
CREATE TABLE backup_media_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    facility_id BIGINT NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    target_name TEXT NOT NULL,
    media_id TEXT NOT NULL,
    event TEXT NOT NULL CHECK (event IN ('detach', 'attach')),
    at TEXT NOT NULL,
    by_user TEXT NOT NULL DEFAULT '',
    still_mounted BIGINT,
    evidence TEXT NOT NULL DEFAULT '',
    generations_json TEXT
);
CREATE INDEX backup_media_events_facility ON backup_media_events (facility_id, at);
