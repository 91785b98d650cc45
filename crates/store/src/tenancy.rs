//! Organizations (tenants) and their locations (clinics).

use domain::{
    Address, Currency, DomainError, Location, LocationAccess, LocationId, OpeningHours, OrgId,
    Organization, Scope,
};

use crate::audit::AuditEntry;
use crate::db::{DbError, DbResult, Q, Row};
use crate::{Store, Txn};

/// A store error or a rule the input broke.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Invalid(#[from] DomainError),
}

fn org_from_row(r: &Row) -> DbResult<Organization> {
    Ok(Organization {
        id: OrgId::from_uuid(r.uuid("id")?),
        name: r.string("name")?,
        slug: r.string("slug")?,
    })
}

fn location_from_row(r: &Row) -> DbResult<Location> {
    let currency = r.string("currency")?;
    Ok(Location {
        id: LocationId::from_uuid(r.uuid("id")?),
        org_id: OrgId::from_uuid(r.uuid("org_id")?),
        name: r.string("name")?,
        time_zone: r.string("time_zone")?,
        currency: Currency::from_code(&currency)
            .map_err(|e| DbError::Corrupt(format!("currency: {e}")))?,
        locale: r.string("locale")?,
        address: r.json::<Address>("address")?,
        opening_hours: r.json::<OpeningHours>("opening_hours")?,
    })
}

impl Txn {
    /// Creates an organization. The slug must be unique across the installation.
    pub async fn create_org(
        &mut self,
        store: &Store,
        org: &Organization,
    ) -> Result<(), WriteError> {
        org.validate()?;
        let now = store.now();
        let r = self
            .execute(
                Q::new(
                    "INSERT INTO organizations (id, name, slug, storage, created_at, updated_at) \
                     VALUES ($1, $2, $3, NULL, $4, $4)",
                )
                .bind(org.id)
                .bind(org.name.as_str())
                .bind(org.slug.as_str())
                .bind(now),
            )
            .await;
        match r {
            Err(e) if e.is_unique_violation() => {
                Err(DomainError::field("slug", "is already taken").into())
            }
            Err(e) => Err(e.into()),
            Ok(_) => {
                self.audit(
                    store,
                    org.id,
                    AuditEntry::system(
                        "org.created",
                        &format!("org:{}", org.id),
                        serde_json::json!({ "fields": ["name", "slug"] }),
                    ),
                )
                .await?;
                Ok(())
            }
        }
    }

    /// Creates a location of the scope's organization.
    pub async fn create_location(
        &mut self,
        store: &Store,
        scope: &Scope,
        loc: &Location,
    ) -> Result<(), WriteError> {
        if loc.org_id != scope.org() {
            return Err(DomainError::not_found("organization").into());
        }
        loc.validate()?;
        let now = store.now();
        let json = |v: serde_json::Result<String>| {
            v.map_err(|e| DbError::Corrupt(format!("cannot encode: {e}")))
        };
        self.execute(
            Q::new(
                "INSERT INTO locations (id, org_id, name, time_zone, currency, locale, address, \
                 opening_hours, storage, active, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10, $10)",
            )
            .bind(loc.id)
            .bind(scope.org())
            .bind(loc.name.trim())
            .bind(loc.time_zone.as_str())
            .bind(loc.currency.code())
            .bind(loc.locale.as_str())
            .bind(json(serde_json::to_string(&loc.address))?)
            .bind(json(serde_json::to_string(&loc.opening_hours))?)
            .bind(true)
            .bind(now),
        )
        .await?;
        self.audit(
            store,
            scope.org(),
            AuditEntry::system(
                "location.created",
                &format!("location:{}", loc.id),
                serde_json::json!({ "fields": ["name", "time_zone", "currency", "locale", "address", "opening_hours"] }),
            ),
        )
        .await?;
        Ok(())
    }
}

impl Store {
    pub async fn org(&self, id: OrgId) -> DbResult<Option<Organization>> {
        let row = self
            .db
            .fetch_optional(
                Q::new("SELECT id, name, slug FROM organizations WHERE id = $1").bind(id),
            )
            .await?;
        row.as_ref().map(org_from_row).transpose()
    }

    pub async fn org_by_slug(&self, slug: &str) -> DbResult<Option<Organization>> {
        let row = self
            .db
            .fetch_optional(
                Q::new("SELECT id, name, slug FROM organizations WHERE slug = $1").bind(slug),
            )
            .await?;
        row.as_ref().map(org_from_row).transpose()
    }

    pub async fn orgs(&self) -> DbResult<Vec<Organization>> {
        let rows = self
            .db
            .fetch_all(Q::new(
                "SELECT id, name, slug FROM organizations WHERE archived_at IS NULL ORDER BY name, id",
            ))
            .await?;
        rows.iter().map(org_from_row).collect()
    }

    /// The organization created first (same answer on both databases, unlike a sort by name).
    pub async fn first_org(&self) -> DbResult<Option<Organization>> {
        let row = self
            .db
            .fetch_optional(Q::new(
                "SELECT id, name, slug FROM organizations WHERE archived_at IS NULL ORDER BY created_at, id LIMIT 1",
            ))
            .await?;
        row.as_ref().map(org_from_row).transpose()
    }

    pub async fn count_orgs(&self) -> DbResult<i64> {
        self.db
            .fetch_one(Q::new(
                "SELECT COUNT(*) AS n FROM organizations WHERE archived_at IS NULL",
            ))
            .await?
            .i64("n")
    }

    /// The active locations the scope may see, by name.
    pub async fn locations(&self, scope: &Scope) -> DbResult<Vec<Location>> {
        let rows = self
            .db
            .fetch_all(
                Q::new(
                    "SELECT id, org_id, name, time_zone, currency, locale, address, opening_hours \
                     FROM locations WHERE org_id = $1 AND active = TRUE ORDER BY name, id",
                )
                .bind(scope.org()),
            )
            .await?;
        let all: Vec<Location> = rows
            .iter()
            .map(location_from_row)
            .collect::<DbResult<_>>()?;
        Ok(match scope.locations() {
            LocationAccess::All => all,
            LocationAccess::Only(_) => all
                .into_iter()
                .filter(|l| scope.allows_location(l.id))
                .collect(),
        })
    }

    /// One location, if it belongs to the scope's organization and the scope may see it.
    pub async fn location(&self, scope: &Scope, id: LocationId) -> DbResult<Option<Location>> {
        if !scope.allows_location(id) {
            return Ok(None);
        }
        let row = self
            .db
            .fetch_optional(
                Q::new(
                    "SELECT id, org_id, name, time_zone, currency, locale, address, opening_hours \
                     FROM locations WHERE org_id = $1 AND id = $2",
                )
                .bind(scope.org())
                .bind(id),
            )
            .await?;
        row.as_ref().map(location_from_row).transpose()
    }
}

/// Tables holding an organization's rows, children first: retiring an organization deletes
/// from each in this order. Every context adds its tables here (a test checks that every table
/// with an `org_id` column is listed here or in [`KEPT_TABLES`]).
pub const TENANT_TABLES: &[&str] = &[
    "invoice_lines",
    "invoices",
    "invoice_counters",
    "invoice_settings",
    "idempotency_keys",
    "ledger_closed_days",
    "ledger_allocations",
    "ledger_lines",
    "ledger_postings",
    "ledger_counters",
    "payment_plan_installments",
    "payment_plans",
    "payment_plan_counters",
    "fee_schedule_fees",
    "fee_schedules",
    "staff_tasks",
    "treatment_plan_items",
    "treatment_plans",
    "treatment_plan_counters",
    "plan_settings",
    "treatment_case_items",
    "treatment_cases",
    "treatment_case_counters",
    "prescriptions",
    "prescription_counters",
    "medicines",
    "visit_addenda",
    "visits",
    "perio_exams",
    "chart_entries",
    "charts",
    "procedure_codes",
    "clinical_settings",
    "calendar_feeds",
    "patient_recalls",
    "recall_types",
    "waitlist_entries",
    "agenda_views",
    "appointment_history",
    "appointment_busy",
    "appointments",
    "blockouts",
    "location_holidays",
    "schedule_exceptions",
    "provider_schedules",
    "appointment_types",
    "operatories",
    "scheduling_settings",
    "break_glass",
    "patient_imports",
    "patient_merges",
    "patient_documents",
    "medical_histories",
    "patient_phones",
    "patients",
    "families",
    "patient_field_defs",
    "patient_settings",
    "objects",
    "events",
    "jobs",
    "sessions",
    "recovery_codes",
    "phone_challenges",
    "password_resets",
    "provider_profiles",
    "api_tokens",
    "org_security",
    "security_alerts",
    "communications",
    "mfa_required_roles",
    "user_locations",
    "user_roles",
    "custom_roles",
    "users",
    "locations",
    // After every table whose triggers raise it.
    "schedule_versions",
    "org_keys",
];

/// Tables never deleted from: the audit trail outlives the organization (HIPAA asks for six
/// years), so a retired organization's row stays, archived, for them to point at.
pub const KEPT_TABLES: &[&str] = &["audit_events", "audit_heads", "audit_checkpoints"];

// `org_keys` is deleted last, with the organization's data: without its keys nothing it
// encrypted can be read again (crypto-shredding).

impl Store {
    /// Retires an organization in one transaction: deletes everything it owns except its audit
    /// trail, and archives its row (its slug is freed for reuse). The retirement is audited.
    pub async fn retire_org(&self, org: OrgId) -> DbResult<()> {
        let mut tx = self.begin().await?;
        // Archived first: the books' triggers let an archived organization's postings go.
        let now = self.now();
        tx.execute(
            Q::new(
                "UPDATE organizations SET slug = slug || '~' || $1, archived_at = $2, updated_at = $2 \
                 WHERE id = $3 AND archived_at IS NULL",
            )
            .bind(now.as_microsecond().to_string())
            .bind(now)
            .bind(org),
        )
        .await?;
        for table in TENANT_TABLES {
            tx.execute(Q::generated(format!("DELETE FROM {table} WHERE org_id = $1")).bind(org))
                .await?;
        }
        tx.audit(
            self,
            org,
            AuditEntry::system("org.retired", &format!("org:{org}"), serde_json::json!({})),
        )
        .await?;
        tx.commit().await
    }
}
