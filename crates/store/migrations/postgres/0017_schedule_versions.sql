-- A counter per organization, raised by every change to what the open-slot search reads
-- besides busy times (locations, scheduling settings, appointment types, providers and where
-- they work, chairs, weekly hours, holidays, exceptions, blockouts). The search keeps those
-- inputs in memory and reads only this counter to know they are still current, on every
-- server of a group: the triggers raise it whoever writes, the application or plain SQL.
-- Users count only when their name (the providers' order) or active flag changes, so sign-ins
-- do not clear the cache.

CREATE TABLE schedule_versions (
    org_id UUID NOT NULL PRIMARY KEY,
    version BIGINT NOT NULL
);

CREATE FUNCTION schedule_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO schedule_versions (org_id, version)
        VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.org_id ELSE NEW.org_id END, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = schedule_versions.version + 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER locations_schedule_version AFTER INSERT OR UPDATE OR DELETE ON locations
    FOR EACH ROW EXECUTE FUNCTION schedule_version_bump();

CREATE TRIGGER scheduling_settings_schedule_version AFTER INSERT OR UPDATE OR DELETE ON scheduling_settings
    FOR EACH ROW EXECUTE FUNCTION schedule_version_bump();

CREATE TRIGGER appointment_types_schedule_version AFTER INSERT OR UPDATE OR DELETE ON appointment_types
    FOR EACH ROW EXECUTE FUNCTION schedule_version_bump();

CREATE TRIGGER users_schedule_version AFTER INSERT OR UPDATE OF active, name OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION schedule_version_bump();

CREATE TRIGGER provider_profiles_schedule_version AFTER INSERT OR UPDATE OR DELETE ON provider_profiles
    FOR EACH ROW EXECUTE FUNCTION schedule_version_bump();

CREATE TRIGGER user_locations_schedule_version AFTER INSERT OR UPDATE OR DELETE ON user_locations
    FOR EACH ROW EXECUTE FUNCTION schedule_version_bump();

CREATE TRIGGER operatories_schedule_version AFTER INSERT OR UPDATE OR DELETE ON operatories
    FOR EACH ROW EXECUTE FUNCTION schedule_version_bump();

CREATE TRIGGER provider_schedules_schedule_version AFTER INSERT OR UPDATE OR DELETE ON provider_schedules
    FOR EACH ROW EXECUTE FUNCTION schedule_version_bump();

CREATE TRIGGER location_holidays_schedule_version AFTER INSERT OR UPDATE OR DELETE ON location_holidays
    FOR EACH ROW EXECUTE FUNCTION schedule_version_bump();

CREATE TRIGGER schedule_exceptions_schedule_version AFTER INSERT OR UPDATE OR DELETE ON schedule_exceptions
    FOR EACH ROW EXECUTE FUNCTION schedule_version_bump();

CREATE TRIGGER blockouts_schedule_version AFTER INSERT OR UPDATE OR DELETE ON blockouts
    FOR EACH ROW EXECUTE FUNCTION schedule_version_bump();
