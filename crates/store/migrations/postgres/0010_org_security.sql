-- Per-organization security settings (session lifetimes, anomaly thresholds) and the alerts
-- the anomaly scan raises for administrators.

CREATE TABLE org_security (
    org_id UUID NOT NULL PRIMARY KEY REFERENCES organizations (id),
    session_idle_minutes BIGINT NOT NULL,
    session_absolute_hours BIGINT NOT NULL,
    anomaly_patients_per_hour BIGINT NOT NULL,
    anomaly_off_hours BOOLEAN NOT NULL,
    scanned_until BIGINT,
    updated_at BIGINT NOT NULL
);

CREATE TABLE security_alerts (
    id UUID NOT NULL PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id),
    kind TEXT NOT NULL,
    user_id UUID,
    actor TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    detail TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    acknowledged_at BIGINT
);
CREATE UNIQUE INDEX security_alerts_once ON security_alerts (org_id, kind, actor, window_start);
CREATE INDEX security_alerts_org ON security_alerts (org_id, created_at);
