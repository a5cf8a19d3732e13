-- Backup targets may be a restic REST server (kind 'rest_server', location rest:https://…).
ALTER TABLE backup_targets DROP CONSTRAINT backup_targets_kind_check;
ALTER TABLE backup_targets ADD CONSTRAINT backup_targets_kind_check
    CHECK (kind IN ('local_dir', 'removable_media', 'immutable_files', 'rest_server'));
