-- The checklist and the G-MIS survey (PostgreSQL). Keep both dialects in step.

-- One row per facility, edition, form (hospital / vendor / pharmacy), vendor (empty for the hospital's own
-- form) and item: both rounds (1回目 / 2回目) with their dates, the target date (目標日) and remarks (備考).
-- Answers: 1 = はい, 0 = いいえ, NULL = not answered. Dates ISO (YYYY-MM-DD).
CREATE TABLE checklist_answers (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    facility_id BIGINT NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    edition TEXT NOT NULL,
    form TEXT NOT NULL,
    vendor_name TEXT NOT NULL DEFAULT '',
    item_id TEXT NOT NULL,
    r1_answer BIGINT CHECK (r1_answer IN (0, 1)),
    r1_date TEXT,
    target_date TEXT,
    r2_answer BIGINT CHECK (r2_answer IN (0, 1)),
    r2_date TEXT,
    remarks TEXT NOT NULL DEFAULT '',
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (facility_id, edition, form, vendor_name, item_id)
);

-- Every change of an answer (who, when, before and after as JSON).
CREATE TABLE checklist_history (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    facility_id BIGINT NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    edition TEXT NOT NULL,
    form TEXT NOT NULL,
    vendor_name TEXT NOT NULL DEFAULT '',
    item_id TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    before_json TEXT NOT NULL,
    after_json TEXT NOT NULL
);
CREATE INDEX checklist_history_item ON checklist_history (facility_id, edition, form, vendor_name, item_id);

-- G-MIS survey answers: one row per facility, survey and question; text answers as given.
CREATE TABLE gmis_answers (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    facility_id BIGINT NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    survey TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (facility_id, survey, question)
);

CREATE TABLE gmis_history (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    facility_id BIGINT NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    survey TEXT NOT NULL,
    question TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    before_answer TEXT NOT NULL,
    after_answer TEXT NOT NULL
);
CREATE INDEX gmis_history_question ON gmis_history (facility_id, survey, question);
