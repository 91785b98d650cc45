-- A counter per organization, raised by every change to what the open-slot search reads
-- besides busy times (locations, scheduling settings, appointment types, providers and where
-- they work, chairs, weekly hours, holidays, exceptions, blockouts). The search keeps those
-- inputs in memory and reads only this counter to know they are still current, on every
-- server of a group: the triggers raise it whoever writes, the application or plain SQL.
-- Users count only when their name (the providers' order) or active flag changes, so sign-ins
-- do not clear the cache.

CREATE TABLE schedule_versions (
    org_id BLOB NOT NULL PRIMARY KEY,
    version BIGINT NOT NULL
);

CREATE TRIGGER locations_schedule_version_insert AFTER INSERT ON locations BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER locations_schedule_version_update AFTER UPDATE ON locations BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER locations_schedule_version_delete AFTER DELETE ON locations BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (OLD.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER scheduling_settings_schedule_version_insert AFTER INSERT ON scheduling_settings BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER scheduling_settings_schedule_version_update AFTER UPDATE ON scheduling_settings BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER scheduling_settings_schedule_version_delete AFTER DELETE ON scheduling_settings BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (OLD.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER appointment_types_schedule_version_insert AFTER INSERT ON appointment_types BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER appointment_types_schedule_version_update AFTER UPDATE ON appointment_types BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER appointment_types_schedule_version_delete AFTER DELETE ON appointment_types BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (OLD.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER users_schedule_version_insert AFTER INSERT ON users BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER users_schedule_version_update AFTER UPDATE OF active, name ON users BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER users_schedule_version_delete AFTER DELETE ON users BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (OLD.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER provider_profiles_schedule_version_insert AFTER INSERT ON provider_profiles BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER provider_profiles_schedule_version_update AFTER UPDATE ON provider_profiles BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER provider_profiles_schedule_version_delete AFTER DELETE ON provider_profiles BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (OLD.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER user_locations_schedule_version_insert AFTER INSERT ON user_locations BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER user_locations_schedule_version_update AFTER UPDATE ON user_locations BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER user_locations_schedule_version_delete AFTER DELETE ON user_locations BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (OLD.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER operatories_schedule_version_insert AFTER INSERT ON operatories BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER operatories_schedule_version_update AFTER UPDATE ON operatories BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER operatories_schedule_version_delete AFTER DELETE ON operatories BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (OLD.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER provider_schedules_schedule_version_insert AFTER INSERT ON provider_schedules BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER provider_schedules_schedule_version_update AFTER UPDATE ON provider_schedules BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER provider_schedules_schedule_version_delete AFTER DELETE ON provider_schedules BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (OLD.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER location_holidays_schedule_version_insert AFTER INSERT ON location_holidays BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER location_holidays_schedule_version_update AFTER UPDATE ON location_holidays BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER location_holidays_schedule_version_delete AFTER DELETE ON location_holidays BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (OLD.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER schedule_exceptions_schedule_version_insert AFTER INSERT ON schedule_exceptions BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER schedule_exceptions_schedule_version_update AFTER UPDATE ON schedule_exceptions BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER schedule_exceptions_schedule_version_delete AFTER DELETE ON schedule_exceptions BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (OLD.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER blockouts_schedule_version_insert AFTER INSERT ON blockouts BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER blockouts_schedule_version_update AFTER UPDATE ON blockouts BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER blockouts_schedule_version_delete AFTER DELETE ON blockouts BEGIN
    INSERT INTO schedule_versions (org_id, version) VALUES (OLD.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;
