-- Backup targets may be a restic REST server (kind 'rest_server', location rest:https://…). SQLite cannot
-- change a CHECK constraint in place: the table is rebuilt with the same columns and rows (nothing
-- references it).
CREATE TABLE backup_targets_new (
    id INTEGER PRIMARY KEY,
    facility_id INTEGER NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    tier TEXT NOT NULL CHECK (tier IN ('online', 'offline', 'offsite')),
    kind TEXT NOT NULL CHECK (kind IN ('local_dir', 'removable_media', 'immutable_files', 'rest_server')),
    path TEXT NOT NULL,
    media_ids TEXT NOT NULL DEFAULT '',
    is_primary INTEGER NOT NULL DEFAULT 0,
    note TEXT NOT NULL DEFAULT '',
    generations_json TEXT,
    generations_at TEXT,
    created_by TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    UNIQUE (facility_id, name)
);
INSERT INTO backup_targets_new (id, facility_id, name, tier, kind, path, media_ids, is_primary, note,
    generations_json, generations_at, created_by, created_at)
SELECT id, facility_id, name, tier, kind, path, media_ids, is_primary, note,
    generations_json, generations_at, created_by, created_at
FROM backup_targets;
DROP TABLE backup_targets;
ALTER TABLE backup_targets_new RENAME TO backup_targets;
