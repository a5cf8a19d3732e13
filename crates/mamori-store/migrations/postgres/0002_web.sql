-- mamori web (PostgreSQL): users, sessions, login throttling, the app's own access log, record history,
-- and indexes for the ledger lists. Keep both dialects in step.

CREATE TABLE users (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'executive', 'manager', 'operator', 'vendor', 'surveyor', 'inspector')),
    facility_id BIGINT REFERENCES facilities (id) ON DELETE SET NULL,
    vendor_name TEXT NOT NULL DEFAULT '',
    prefecture TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    disabled BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    password_changed_at TEXT NOT NULL
);

-- Facilities assigned to a surveyor (調査員).
CREATE TABLE user_facilities (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    facility_id BIGINT NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, facility_id)
);

-- Sessions: only the SHA-256 of the token is stored. Times are Unix seconds.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    source TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Failed logins, for throttling per account and per source address (Unix seconds).
CREATE TABLE login_failures (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login TEXT NOT NULL,
    source TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX login_failures_login ON login_failures (login, at);
CREATE INDEX login_failures_source ON login_failures (source, at);

-- The app's own access log (アクセスログ): append-only, hash-chained (see mamori_model::audit).
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    user_login TEXT NOT NULL,
    user_name TEXT NOT NULL,
    category TEXT NOT NULL,
    operation TEXT NOT NULL,
    target TEXT NOT NULL,
    facility_id BIGINT,
    source TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- Changes made in the web (変更履歴), before and after as JSON.
CREATE TABLE record_history (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    facility_id BIGINT NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    ledger TEXT NOT NULL,
    record_key TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    before_json TEXT NOT NULL,
    after_json TEXT NOT NULL
);
CREATE INDEX record_history_record ON record_history (facility_id, ledger, record_key);

-- Ledger lists: filters and vendor scopes.
CREATE INDEX devices_category ON devices (facility_id, category);
CREATE INDEX devices_managed_by ON devices (facility_id, managed_by);
CREATE INDEX systems_vendor ON systems (facility_id, vendor);
