-- Scheduling: chairs (operatories), appointment types with their time patterns, provider
-- schedules (weekly hours, single-day exceptions), location holidays, blockouts, appointments
-- with their history, the busy times the database keeps from overlapping, saved agenda views,
-- the ASAP list, recall types and patients' recalls, and secret iCalendar feeds.
--
-- Dates are 'YYYY-MM-DD' text and times of day 'HH:MM' text, in the location's zone; instants
-- are microseconds (UTC). An appointment's busy times are rows of appointment_busy: its chair
-- for the whole appointment, its provider in the X units of its pattern, its second provider
-- (hygienist or assistant) and its patient for the whole appointment. The database refuses two
-- overlapping rows for one resource (PostgreSQL: an exclusion constraint; SQLite: a trigger,
-- race-free because SQLite has one writer at a time). An appointment that no longer holds its
-- time (cancelled, no-show, rescheduled) has no busy rows. No appointment lasts over 12 hours,
-- which bounds the overlap search.

CREATE TABLE scheduling_settings (
    org_id BLOB NOT NULL PRIMARY KEY REFERENCES organizations (id),
    unit_minutes BIGINT NOT NULL,
    late_after_minutes BIGINT NOT NULL,
    recall_window_days BIGINT NOT NULL,
    feeds_show_names BOOLEAN NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE operatories (
    id BLOB NOT NULL PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id),
    location_id BLOB NOT NULL REFERENCES locations (id),
    name TEXT NOT NULL,
    short_name TEXT NOT NULL,
    sort_order BIGINT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX operatories_location ON operatories (org_id, location_id, sort_order);

CREATE TABLE appointment_types (
    id BLOB NOT NULL PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    colour TEXT NOT NULL,
    pattern TEXT NOT NULL,
    unit_minutes BIGINT NOT NULL,
    sort_order BIGINT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX appointment_types_org ON appointment_types (org_id, sort_order);

-- A provider's weekly hours at one location (JSON: the OpeningHours shape).
CREATE TABLE provider_schedules (
    provider_id BLOB NOT NULL REFERENCES users (id),
    location_id BLOB NOT NULL REFERENCES locations (id),
    org_id BLOB NOT NULL REFERENCES organizations (id),
    hours TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (provider_id, location_id)
);
CREATE INDEX provider_schedules_location ON provider_schedules (org_id, location_id);

-- One day that differs from the weekly hours: '[]' is a day off.
CREATE TABLE schedule_exceptions (
    id BLOB NOT NULL PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id),
    provider_id BLOB NOT NULL REFERENCES users (id),
    location_id BLOB NOT NULL REFERENCES locations (id),
    day TEXT NOT NULL,
    hours TEXT NOT NULL,
    note TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX schedule_exceptions_day ON schedule_exceptions (provider_id, location_id, day);

CREATE TABLE location_holidays (
    id BLOB NOT NULL PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id),
    location_id BLOB NOT NULL REFERENCES locations (id),
    day TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX location_holidays_day ON location_holidays (location_id, day);

-- Time reserved for some kinds of work: on one chair or all chairs of a location (operatory_id
-- NULL), every week on a weekday (1 = Monday) or on one day, between two local times.
-- allowed_types: JSON array of appointment type ids that may be booked into it.
CREATE TABLE blockouts (
    id BLOB NOT NULL PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id),
    location_id BLOB NOT NULL REFERENCES locations (id),
    operatory_id BLOB REFERENCES operatories (id),
    label TEXT NOT NULL,
    colour TEXT NOT NULL,
    allowed_types TEXT NOT NULL,
    weekday BIGINT,
    day TEXT,
    start_time TEXT NOT NULL,
    end_time TEXT NOT NULL,
    valid_from TEXT,
    valid_to TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX blockouts_location ON blockouts (org_id, location_id);

CREATE TABLE appointments (
    id BLOB NOT NULL PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id),
    location_id BLOB NOT NULL REFERENCES locations (id),
    operatory_id BLOB NOT NULL REFERENCES operatories (id),
    patient_id BLOB NOT NULL REFERENCES patients (id),
    provider_id BLOB NOT NULL REFERENCES users (id),
    secondary_id BLOB REFERENCES users (id),
    appointment_type_id BLOB REFERENCES appointment_types (id),
    start_at BIGINT NOT NULL,
    end_at BIGINT NOT NULL,
    pattern TEXT NOT NULL,
    unit_minutes BIGINT NOT NULL,
    status TEXT NOT NULL,
    confirmation TEXT NOT NULL,
    reminders_sent BIGINT NOT NULL,
    -- Encrypted (field appointment.notes): free text about a patient.
    notes_enc TEXT,
    cancel_reason TEXT NOT NULL,
    -- Booked outside the provider's hours or into a blockout, with the override permission.
    override_reason TEXT NOT NULL,
    confirmed_at BIGINT,
    arrived_at BIGINT,
    seated_at BIGINT,
    completed_at BIGINT,
    no_show_at BIGINT,
    cancelled_at BIGINT,
    rescheduled_from BLOB,
    rescheduled_to BLOB,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by BLOB,
    updated_at BIGINT NOT NULL
);
CREATE INDEX appointments_day ON appointments (org_id, location_id, start_at);
CREATE INDEX appointments_patient ON appointments (patient_id, start_at);
CREATE INDEX appointments_provider ON appointments (org_id, provider_id, start_at);

-- kind: chair, person (the provider in the X units, or the second provider throughout) or
-- patient; resource_id is the chair's, user's or patient's id.
CREATE TABLE appointment_busy (
    appointment_id BLOB NOT NULL REFERENCES appointments (id),
    org_id BLOB NOT NULL REFERENCES organizations (id),
    kind TEXT NOT NULL,
    resource_id BLOB NOT NULL,
    start_at BIGINT NOT NULL,
    end_at BIGINT NOT NULL,
    CHECK (end_at > start_at AND end_at - start_at <= 43200000000)
);
CREATE INDEX appointment_busy_resource ON appointment_busy (resource_id, start_at);
CREATE INDEX appointment_busy_appointment ON appointment_busy (appointment_id);

-- Who changed what, for the appointment's panel (the audit chain has the same, tamper-evident).
CREATE TABLE appointment_history (
    id BLOB NOT NULL PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id),
    appointment_id BLOB NOT NULL REFERENCES appointments (id),
    n BIGINT NOT NULL,
    at BIGINT NOT NULL,
    actor_id BLOB,
    actor TEXT NOT NULL,
    change TEXT NOT NULL,
    details TEXT NOT NULL
);
CREATE UNIQUE INDEX appointment_history_appointment ON appointment_history (appointment_id, n);

-- A user's saved agenda views: which location, columns by chair or by provider, which columns.
CREATE TABLE agenda_views (
    id BLOB NOT NULL PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id),
    user_id BLOB NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    location_id BLOB NOT NULL REFERENCES locations (id),
    by_provider BOOLEAN NOT NULL,
    columns TEXT NOT NULL,
    colour_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX agenda_views_user ON agenda_views (user_id, name);

-- The ASAP list. weekdays: '1,3,5' (Monday = 1) or '' for any day.
CREATE TABLE waitlist_entries (
    id BLOB NOT NULL PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id),
    location_id BLOB NOT NULL REFERENCES locations (id),
    patient_id BLOB NOT NULL REFERENCES patients (id),
    appointment_type_id BLOB REFERENCES appointment_types (id),
    provider_id BLOB REFERENCES users (id),
    duration_minutes BIGINT NOT NULL,
    earliest TEXT,
    latest TEXT,
    weekdays TEXT NOT NULL,
    day_part TEXT NOT NULL,
    notes TEXT NOT NULL,
    status TEXT NOT NULL,
    appointment_id BLOB,
    created_at BIGINT NOT NULL,
    created_by BLOB,
    resolved_at BIGINT
);
CREATE INDEX waitlist_entries_location ON waitlist_entries (org_id, location_id, status, created_at);
CREATE INDEX waitlist_entries_patient ON waitlist_entries (patient_id);

-- A kind of recall; completing an appointment of one of its types (JSON array) satisfies it.
CREATE TABLE recall_types (
    id BLOB NOT NULL PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    interval_months BIGINT NOT NULL,
    appointment_type_ids TEXT NOT NULL,
    default_type_id BLOB REFERENCES appointment_types (id),
    sort_order BIGINT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX recall_types_org ON recall_types (org_id, sort_order);

-- A patient's recall: when it was last satisfied and when it falls due (due_on may be set by
-- hand; NULL with no last_done means not due yet).
CREATE TABLE patient_recalls (
    id BLOB NOT NULL PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id),
    patient_id BLOB NOT NULL REFERENCES patients (id),
    recall_type_id BLOB NOT NULL REFERENCES recall_types (id),
    location_id BLOB NOT NULL REFERENCES locations (id),
    last_done TEXT,
    due_on TEXT,
    due_set_by_hand BOOLEAN NOT NULL,
    disabled BOOLEAN NOT NULL,
    note TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX patient_recalls_patient ON patient_recalls (patient_id, recall_type_id);
CREATE INDEX patient_recalls_due ON patient_recalls (org_id, location_id, due_on);

-- iCalendar feeds at secret URLs (the token is stored hashed); kind: provider or location.
CREATE TABLE calendar_feeds (
    id BLOB NOT NULL PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id),
    kind TEXT NOT NULL,
    target_id BLOB NOT NULL,
    token_hash TEXT NOT NULL,
    label TEXT NOT NULL,
    show_names BOOLEAN NOT NULL,
    created_by BLOB,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    last_used_at BIGINT
);
CREATE UNIQUE INDEX calendar_feeds_token ON calendar_feeds (token_hash);
CREATE INDEX calendar_feeds_org ON calendar_feeds (org_id, created_at);

-- No two busy rows of one resource overlap (named like PostgreSQL's exclusion constraint).
CREATE TRIGGER appointment_busy_no_overlap BEFORE INSERT ON appointment_busy
WHEN EXISTS (
    SELECT 1 FROM appointment_busy b
    WHERE b.resource_id = NEW.resource_id
      AND b.start_at < NEW.end_at AND b.end_at > NEW.start_at
      AND b.start_at > NEW.start_at - 43200000000
)
BEGIN
    SELECT RAISE(ABORT, 'appointment_busy_no_overlap');
END;
-- Busy rows are replaced, never changed (the overlap check runs on insert).
CREATE TRIGGER appointment_busy_no_update BEFORE UPDATE ON appointment_busy
BEGIN
    SELECT RAISE(ABORT, 'appointment_busy rows are replaced, not updated');
END;
