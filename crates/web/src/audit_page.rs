//! `/audit` (`audit.view`): the organization's audit trail with filters by user, patient,
//! action and date, a CSV export (itself audited), the per-patient access report ("who looked
//! at this record", the HIPAA accounting of disclosures) and an on-demand chain verification.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use domain::{PatientId, UserId};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Deserialize;
use store::audit::{AuditEntry, AuditEvent, AuditFilter};

use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::pages::html;
use crate::shell::{Ctx, Shell};

/// Rows per page.
pub const PAGE: i64 = 100;
/// Most rows in one CSV export.
pub const EXPORT_MAX: i64 = 100_000;

#[derive(Deserialize, Default, Clone)]
pub struct FilterQuery {
    #[serde(default)]
    user: String,
    #[serde(default)]
    patient: String,
    #[serde(default)]
    action: String,
    /// `YYYY-MM-DD`, in the organization's time zone.
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    before: Option<i64>,
}

impl FilterQuery {
    fn to_filter(&self, tz: &TimeZone) -> Result<AuditFilter, Vec<String>> {
        let mut errors = Vec::new();
        let day = |s: &str, field: &str, errors: &mut Vec<String>, plus: i64| {
            if s.is_empty() {
                return None;
            }
            match s.parse::<jiff::civil::Date>() {
                Ok(d) => d
                    .checked_add(jiff::Span::new().days(plus))
                    .ok()
                    .and_then(|d| d.to_zoned(tz.clone()).ok())
                    .map(|z| z.timestamp()),
                Err(_) => {
                    errors.push(format!("{field}: use a date such as 2026-03-02"));
                    None
                }
            }
        };
        let from = day(&self.from, "from", &mut errors, 0);
        let to = day(&self.to, "to", &mut errors, 1);
        let actor = match self.user.as_str() {
            "" => None,
            u => match u.parse::<UserId>() {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.push("user: not a user of this practice".into());
                    None
                }
            },
        };
        let patient = match self.patient.trim() {
            "" => None,
            p => match p.parse::<PatientId>() {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.push("patient: not a patient id".into());
                    None
                }
            },
        };
        if errors.is_empty() {
            Ok(AuditFilter {
                actor,
                patient,
                action: (!self.action.trim().is_empty()).then(|| self.action.trim().to_string()),
                from,
                to,
            })
        } else {
            Err(errors)
        }
    }

    /// The filter as a query string (for the export and "older" links).
    fn query(&self) -> String {
        let enc = crate::session::encode_component;
        format!(
            "user={}&patient={}&action={}&from={}&to={}",
            enc(&self.user),
            enc(&self.patient),
            enc(&self.action),
            enc(&self.from),
            enc(&self.to)
        )
    }
}

pub struct EventRow {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub patient: String,
    pub details: String,
    pub ip: String,
}

pub struct AccessRow {
    pub actor: String,
    pub first: String,
    pub last: String,
    pub count: usize,
    pub actions: String,
}

pub struct AlertRow {
    pub id: String,
    pub what: String,
    pub actor: String,
    pub hour: String,
    pub detail: String,
}

pub struct UserChoice {
    pub id: String,
    pub name: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    shell: Shell,
    q: FilterQuery,
    users: Vec<UserChoice>,
    rows: Vec<EventRow>,
    access: Vec<AccessRow>,
    errors: Vec<String>,
    export_href: String,
    older_href: Option<String>,
    tz_name: String,
    verify: Option<String>,
    alerts: Vec<AlertRow>,
}

async fn org_tz(state: &AppState, auth: &Auth) -> Result<TimeZone, AppError> {
    let locs = state.store.locations(&auth.scope()).await?;
    Ok(locs
        .first()
        .and_then(|l| l.tz().ok())
        .unwrap_or(TimeZone::UTC))
}

fn when(t: Timestamp, tz: &TimeZone) -> String {
    t.to_zoned(tz.clone())
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Subjects name users by id; the page shows their names.
fn row(e: &AuditEvent, tz: &TimeZone, names: &BTreeMap<String, String>) -> EventRow {
    let subject = match e.subject.strip_prefix("user:").and_then(|id| names.get(id)) {
        Some(name) => name.clone(),
        None => e.subject.clone(),
    };
    EventRow {
        seq: e.seq,
        at: when(e.at, tz),
        actor: e.actor.clone(),
        action: e.action.clone(),
        subject,
        patient: e.patient_id.map(|p| p.to_string()).unwrap_or_default(),
        details: if e.details == "{}" {
            String::new()
        } else {
            e.details.clone()
        },
        ip: e.ip.clone().unwrap_or_default(),
    }
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    #[serde(flatten)]
    q: FilterQuery,
    #[serde(default)]
    verify: Option<String>,
}

/// `GET /audit`
pub async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Query(pq): Query<PageQuery>,
) -> Result<Response, AppError> {
    let q = pq.q;
    let tz = org_tz(&state, &auth).await?;
    let org = auth.user.org_id;
    let users = state.store.users_of(&auth.scope()).await?;
    let names: BTreeMap<String, String> = users
        .iter()
        .map(|u| (u.id.to_string(), format!("{} ({})", u.name, u.email)))
        .collect();
    let (rows, access, errors, older) = match q.to_filter(&tz) {
        Ok(filter) => {
            let events = state
                .store
                .audit_search(org, &filter, q.before, PAGE)
                .await?;
            let older = (events.len() as i64 == PAGE)
                .then(|| events.last().map(|e| e.seq))
                .flatten()
                .map(|seq| format!("/audit?{}&before={seq}", q.query()));
            // The access report: with a patient chosen, who opened the record, when, how often.
            let access = if filter.patient.is_some() {
                let all = state
                    .store
                    .audit_search(org, &filter, None, EXPORT_MAX)
                    .await?;
                let mut by: BTreeMap<String, (Timestamp, Timestamp, usize, Vec<String>)> =
                    BTreeMap::new();
                for e in &all {
                    let entry = by
                        .entry(e.actor.clone())
                        .or_insert((e.at, e.at, 0, Vec::new()));
                    entry.0 = entry.0.min(e.at);
                    entry.1 = entry.1.max(e.at);
                    entry.2 += 1;
                    if !entry.3.contains(&e.action) {
                        entry.3.push(e.action.clone());
                    }
                }
                by.into_iter()
                    .map(|(actor, (first, last, count, actions))| AccessRow {
                        actor,
                        first: when(first, &tz),
                        last: when(last, &tz),
                        count,
                        actions: actions.join(", "),
                    })
                    .collect()
            } else {
                Vec::new()
            };
            (
                events.iter().map(|e| row(e, &tz, &names)).collect(),
                access,
                Vec::new(),
                older,
            )
        }
        Err(errors) => (Vec::new(), Vec::new(), errors, None),
    };
    let verify = match pq.verify {
        Some(_) => {
            let report = state.store.verify_audit(org, None).await?;
            Some(match report.broken {
                None => format!(
                    "{} {} · {} {}",
                    ctx.lang.t("audit-verify-ok"),
                    report.events,
                    ctx.lang.t("audit-verify-checkpoints"),
                    report.checkpoints
                ),
                Some(b) => format!(
                    "{} {} ({})",
                    ctx.lang.t("audit-verify-broken"),
                    b.seq,
                    b.reason
                ),
            })
        }
        None => None,
    };
    let alerts = state
        .store
        .security_alerts(&auth.scope(), false)
        .await?
        .into_iter()
        .map(|a| AlertRow {
            id: a.id.to_string(),
            what: ctx.lang.t(&format!("audit-alert-{}", a.kind)),
            actor: a.actor,
            hour: when(a.window_start, &tz),
            detail: a.detail.to_string(),
        })
        .collect();
    html(&AuditPage {
        alerts,
        shell: Shell::build(&state, &ctx).await,
        users: users
            .into_iter()
            .map(|u| UserChoice {
                selected: q.user == u.id.to_string(),
                id: u.id.to_string(),
                name: format!("{} ({})", u.name, u.email),
            })
            .collect(),
        export_href: format!("/audit.csv?{}", q.query()),
        q,
        rows,
        access,
        errors,
        older_href: older,
        tz_name: tz.iana_name().unwrap_or("UTC").to_string(),
        verify,
    })
}

/// `POST /audit/alerts/{id}/ack`
pub async fn acknowledge(
    State(state): State<AppState>,
    auth: Auth,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, AppError> {
    let id: uuid::Uuid = id.parse().map_err(|_| AppError::NotFound)?;
    if !state
        .store
        .acknowledge_alert(&auth.scope(), &auth.user, id)
        .await?
    {
        return Err(AppError::NotFound);
    }
    Ok(axum::response::Redirect::to("/audit").into_response())
}

/// The job that scans every organization for anomalies and emails new alerts to its
/// administrators; it schedules its next run.
pub struct AnomalyScan {
    pub mail: std::sync::Arc<dyn messaging::Mailer>,
    pub public_url: String,
}

/// The scan's job kind and period.
pub const ANOMALY_SCAN: &str = "security.anomaly_scan";
pub const SCAN_EVERY_MINUTES: i64 = 10;

impl store::jobs::JobHandler for AnomalyScan {
    fn run<'a>(
        &'a self,
        store: &'a store::Store,
        _job: &'a store::jobs::Job,
    ) -> futures::future::BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            for org in store.orgs_to_rotate().await.map_err(|e| e.to_string())? {
                let alerts = store.scan_anomalies(org).await.map_err(|e| e.to_string())?;
                if alerts.is_empty() {
                    continue;
                }
                let lines: Vec<String> = alerts
                    .iter()
                    .map(|a| format!("- {} ({}): {}", a.actor, a.kind, a.detail))
                    .collect();
                for (user_id, email, name) in
                    store.admins_of(org).await.map_err(|e| e.to_string())?
                {
                    let sent = self
                        .mail
                        .send(&messaging::Email {
                            to: email.clone(),
                            to_name: Some(name),
                            subject: format!("Cuspid security alert: {} new", alerts.len()),
                            text: format!(
                                "Unusual access to patient records:\n\n{}\n\nReview them on {}/audit\n",
                                lines.join("\n"),
                                self.public_url.trim_end_matches('/')
                            ),
                            html: None,
                        })
                        .await;
                    let entry = store::phone::NewCommunication {
                        org_id: org,
                        user_id: Some(user_id),
                        channel: "email",
                        kind: "security_alert".into(),
                        recipient: crate::reset::mask_email(&email),
                        provider: self.mail.name().into(),
                        provider_id: None,
                        status: "",
                        error: None,
                    };
                    // The next scan does not resend: a failure is logged, not retried.
                    crate::comms::record_send(store, entry, sent, false).await?;
                }
            }
            let next = store
                .now()
                .checked_add(jiff::SignedDuration::from_mins(SCAN_EVERY_MINUTES))
                .map_err(|e| e.to_string())?;
            store
                .ensure_scheduled(
                    store::jobs::NewJob::new(ANOMALY_SCAN, serde_json::json!({})).at(next),
                )
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }
}

fn csv_field(s: &str) -> String {
    // Quote every field; a leading = + - @ is neutralized so a spreadsheet never runs it.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// `GET /audit.csv`: the filtered events as CSV (at most [`EXPORT_MAX`]); the export itself is
/// recorded in the audit trail.
pub async fn export(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<FilterQuery>,
) -> Result<Response, AppError> {
    let tz = org_tz(&state, &auth).await?;
    let filter = q.to_filter(&tz).map_err(|errors| {
        AppError::Domain(domain::DomainError::new(
            domain::ErrorCode::Validation,
            errors.join("; "),
        ))
    })?;
    let org = auth.user.org_id;
    let events = state
        .store
        .audit_search(org, &filter, None, EXPORT_MAX)
        .await?;
    let mut out = String::from("seq,at_utc,actor,action,subject,patient_id,ip,details,hash\r\n");
    for e in &events {
        let cells = [
            e.seq.to_string(),
            e.at.to_string(),
            e.actor.clone(),
            e.action.clone(),
            e.subject.clone(),
            e.patient_id.map(|p| p.to_string()).unwrap_or_default(),
            e.ip.clone().unwrap_or_default(),
            e.details.clone(),
            e.hash.clone(),
        ];
        out.push_str(
            &cells
                .iter()
                .map(|c| csv_field(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    let mut tx = state.store.begin().await?;
    let mut entry = AuditEntry::system(
        "audit.exported",
        &format!("org:{org}"),
        serde_json::json!({ "rows": events.len(), "filter": q.query() }),
    );
    entry.actor_id = Some(auth.user.id);
    entry.actor = auth.user.email.clone();
    tx.audit(&state.store, org, entry).await?;
    tx.commit().await?;
    let mut r = out.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    r.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"audit.csv\""),
    );
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_neutralized() {
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "\"'=HYPERLINK(1)\"");
        assert_eq!(csv_field("plain, text"), "\"plain, text\"");
    }
}
