-- BCP capability (PostgreSQL): incident contacts (連絡体制), training records (訓練記録) and the answers of the
-- BCP confirmation table (確認表). Keep in step with sqlite/0005_bcp.sql.

CREATE TABLE bcp_contacts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    facility_id BIGINT NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('internal', 'vendor', 'external')),
    role TEXT NOT NULL,
    department TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    after_hours TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    purpose TEXT NOT NULL DEFAULT '',
    contact_order BIGINT,
    reports_to TEXT NOT NULL DEFAULT '',
    contacted_by TEXT NOT NULL DEFAULT '',
    systems TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    updated_by TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    UNIQUE (facility_id, code)
);

CREATE TABLE bcp_trainings (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    facility_id BIGINT NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    held_on TEXT NOT NULL,
    scenario TEXT NOT NULL,
    participants TEXT NOT NULL DEFAULT '',
    findings TEXT NOT NULL DEFAULT '',
    improvement_plan TEXT NOT NULL DEFAULT '',
    recorded_by TEXT NOT NULL DEFAULT '',
    recorded_at TEXT NOT NULL
);
CREATE INDEX bcp_trainings_facility ON bcp_trainings (facility_id, held_on);

CREATE TABLE bcp_answers (
    facility_id BIGINT NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    edition TEXT NOT NULL,
    check_id TEXT NOT NULL,
    answer BIGINT,
    note TEXT NOT NULL DEFAULT '',
    answered_by TEXT NOT NULL DEFAULT '',
    answered_at TEXT NOT NULL,
    PRIMARY KEY (facility_id, edition, check_id)
);
