//! Fee schedules (migration 0025): the clinic's standard fees, a location's, an insurance
//! plan's, each fee in effect from a day. [`Store::fee_for`] answers which fee applies
//! (`domain::billing::fees::pick`); completed procedures are charged at it.

use domain::billing::fees::{self, FeeRow, FeeSource, ScheduleKind};
use domain::{DomainError, LocationId, Scope};
use jiff::civil::Date;
use serde::Serialize;
use serde_json::json;

use crate::Store;
use crate::db::{DbError, DbResult, Q, Row};
use crate::patients::Actor;
use crate::tenancy::WriteError;

/// A fee schedule with its fees (every one, the newest start first per code).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FeeSchedule {
    pub id: uuid::Uuid,
    pub name: String,
    pub kind: ScheduleKind,
    pub location_id: Option<LocationId>,
    pub payer: Option<String>,
    pub active: bool,
    /// (code, effective from, fee in minor units)
    pub fees: Vec<(String, Date, i64)>,
}

fn refused(field: &str, m: impl Into<String>) -> WriteError {
    WriteError::Invalid(DomainError::field(field, m))
}

fn corrupt(e: impl std::fmt::Display) -> DbError {
    DbError::Corrupt(e.to_string())
}

fn schedule_from(r: &Row) -> DbResult<FeeSchedule> {
    let kind = r.string("kind")?;
    Ok(FeeSchedule {
        id: r.uuid("id")?,
        name: r.string("name")?,
        kind: ScheduleKind::from_code(&kind).ok_or_else(|| corrupt(&kind))?,
        location_id: r.opt_uuid("location_id")?.map(LocationId::from_uuid),
        payer: r.opt_string("payer")?,
        active: r.bool("active")?,
        fees: Vec::new(),
    })
}

impl Store {
    /// Creates a schedule: one standard schedule per organization; a location's names its
    /// location, an insurance plan's its payer.
    pub async fn create_fee_schedule(
        &self,
        scope: &Scope,
        actor: &Actor,
        name: &str,
        kind: ScheduleKind,
        location: Option<LocationId>,
        payer: Option<&str>,
    ) -> Result<FeeSchedule, WriteError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(refused("name", "a name of 1 to 100 characters"));
        }
        let payer = payer.map(str::trim).filter(|p| !p.is_empty());
        match kind {
            ScheduleKind::Location => {
                let Some(l) = location else {
                    return Err(refused(
                        "location_id",
                        "a location's schedule names its location",
                    ));
                };
                if self.location(scope, l).await?.is_none() {
                    return Err(refused("location_id", "no such location"));
                }
            }
            ScheduleKind::Insurance if payer.is_none() => {
                return Err(refused("payer", "an insurance schedule names its plan"));
            }
            _ => {}
        }
        let mut tx = self.begin().await?;
        if kind == ScheduleKind::Standard {
            let n = tx
                .fetch_one(
                    Q::new("SELECT COUNT(*) AS n FROM fee_schedules WHERE org_id = $1 AND kind = 'standard'")
                        .bind(scope.org()),
                )
                .await?
                .i64("n")?;
            if n > 0 {
                return Err(refused(
                    "kind",
                    "the clinic has its standard schedule already: set its fees",
                ));
            }
        }
        let id = self.new_uuid();
        tx.execute(
            Q::new(
                "INSERT INTO fee_schedules (id, org_id, name, kind, location_id, payer, active, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, TRUE, $7)",
            )
            .bind(id)
            .bind(scope.org())
            .bind(name)
            .bind(kind.code())
            .bind(if kind == ScheduleKind::Location { location } else { None })
            .bind(if kind == ScheduleKind::Insurance { payer } else { None })
            .bind(self.now()),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "fees.schedule_created",
                None,
                &format!("fee_schedule:{id}"),
                json!({ "name": name, "kind": kind.code() }),
            ),
        )
        .await?;
        tx.commit().await?;
        self.fee_schedule(scope, id).await
    }

    /// Sets a fee from a day on (the same day again replaces it). The code must be in the
    /// catalog; the fee is in minor units, zero or more.
    pub async fn set_fee(
        &self,
        scope: &Scope,
        actor: &Actor,
        schedule: uuid::Uuid,
        code: &str,
        fee: i64,
        effective_from: Date,
    ) -> Result<FeeSchedule, WriteError> {
        let code = code.trim().to_ascii_uppercase();
        if self.procedure_code(scope, &code).await?.is_none() {
            return Err(refused("code", "not in the catalog"));
        }
        if fee < 0 {
            return Err(refused("fee", "cannot be negative"));
        }
        let s = self.fee_schedule(scope, schedule).await?;
        let mut tx = self.begin().await?;
        tx.execute(
            Q::new(
                "INSERT INTO fee_schedule_fees (schedule_id, org_id, code, effective_from, fee_minor, set_by_name, set_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (schedule_id, code, effective_from) DO UPDATE SET fee_minor = $5, set_by_name = $6, set_at = $7",
            )
            .bind(s.id)
            .bind(scope.org())
            .bind(code.as_str())
            .bind(effective_from.to_string())
            .bind(fee)
            .bind(actor.name.as_str())
            .bind(self.now()),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "fees.fee_set",
                None,
                &format!("fee_schedule:{}", s.id),
                json!({ "code": code, "fee": fee, "from": effective_from.to_string() }),
            ),
        )
        .await?;
        tx.commit().await?;
        self.fee_schedule(scope, schedule).await
    }

    /// One schedule with its fees.
    pub async fn fee_schedule(
        &self,
        scope: &Scope,
        id: uuid::Uuid,
    ) -> Result<FeeSchedule, WriteError> {
        let r = self
            .db
            .fetch_optional(
                Q::new("SELECT * FROM fee_schedules WHERE id = $1 AND org_id = $2")
                    .bind(id)
                    .bind(scope.org()),
            )
            .await?
            .ok_or_else(|| WriteError::Invalid(DomainError::not_found("fee schedule")))?;
        let mut s = schedule_from(&r)?;
        let fees = self
            .db
            .fetch_all(
                Q::new(
                    "SELECT code, effective_from, fee_minor FROM fee_schedule_fees WHERE schedule_id = $1 \
                     ORDER BY code, effective_from DESC",
                )
                .bind(id),
            )
            .await?;
        s.fees = fees
            .iter()
            .map(|f| {
                Ok((
                    f.string("code")?,
                    f.string("effective_from")?.parse().map_err(corrupt)?,
                    f.i64("fee_minor")?,
                ))
            })
            .collect::<DbResult<_>>()?;
        Ok(s)
    }

    /// The organization's schedules, standard first.
    pub async fn fee_schedules(&self, scope: &Scope) -> Result<Vec<FeeSchedule>, WriteError> {
        let rows = self
            .db
            .fetch_all(
                Q::new(
                    "SELECT id FROM fee_schedules WHERE org_id = $1 \
                     ORDER BY CASE kind WHEN 'standard' THEN 0 WHEN 'location' THEN 1 ELSE 2 END, name, id",
                )
                .bind(scope.org()),
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.fee_schedule(scope, r.uuid("id")?).await?);
        }
        Ok(out)
    }

    /// Every fee in effect by `on` and the catalog's defaults, read once (two queries), for
    /// pricing many procedures at once (a plan's items).
    pub async fn fee_table(&self, scope: &Scope, on: Date) -> DbResult<FeeTable> {
        let catalog = self
            .db
            .fetch_all(
                Q::new("SELECT code, fee_minor FROM procedure_codes WHERE org_id = $1")
                    .bind(scope.org()),
            )
            .await?
            .iter()
            .map(|r| Ok((r.string("code")?, r.i64("fee_minor")?)))
            .collect::<DbResult<std::collections::HashMap<_, _>>>()?;
        let rows = self
            .db
            .fetch_all(
                Q::new(
                    "SELECT s.kind, s.location_id, s.payer, f.code, f.effective_from, f.fee_minor FROM fee_schedule_fees f \
                     JOIN fee_schedules s ON s.id = f.schedule_id \
                     WHERE f.org_id = $1 AND s.active = TRUE AND f.effective_from <= $2",
                )
                .bind(scope.org())
                .bind(on.to_string()),
            )
            .await?;
        let mut by_code: std::collections::HashMap<String, Vec<FeeRow>> =
            std::collections::HashMap::new();
        for r in &rows {
            let kind = r.string("kind")?;
            let code = r.string("code")?;
            by_code.entry(code.clone()).or_default().push(FeeRow {
                kind: ScheduleKind::from_code(&kind).ok_or_else(|| corrupt(&kind))?,
                location: r.opt_uuid("location_id")?,
                payer: r.opt_string("payer")?,
                code,
                effective_from: r.string("effective_from")?.parse().map_err(corrupt)?,
                fee: r.i64("fee_minor")?,
            });
        }
        Ok(FeeTable {
            on,
            catalog,
            by_code,
        })
    }

    /// The fee for a code done on a day at a location (for a member of `payer`), and where it
    /// came from; the catalog's default when no schedule has one.
    pub async fn fee_for(
        &self,
        scope: &Scope,
        location: LocationId,
        payer: Option<&str>,
        code: &str,
        on: Date,
    ) -> DbResult<(i64, FeeSource)> {
        let catalog = self
            .db
            .fetch_optional(
                Q::new("SELECT fee_minor FROM procedure_codes WHERE org_id = $1 AND code = $2")
                    .bind(scope.org())
                    .bind(code),
            )
            .await?
            .map(|r| r.i64("fee_minor"))
            .transpose()?
            .unwrap_or(0);
        let rows = self
            .db
            .fetch_all(
                Q::new(
                    "SELECT s.kind, s.location_id, s.payer, f.effective_from, f.fee_minor FROM fee_schedule_fees f \
                     JOIN fee_schedules s ON s.id = f.schedule_id \
                     WHERE f.org_id = $1 AND f.code = $2 AND s.active = TRUE AND f.effective_from <= $3",
                )
                .bind(scope.org())
                .bind(code)
                .bind(on.to_string()),
            )
            .await?;
        let rows = rows
            .iter()
            .map(|r| {
                let kind = r.string("kind")?;
                Ok(FeeRow {
                    kind: ScheduleKind::from_code(&kind).ok_or_else(|| corrupt(&kind))?,
                    location: r.opt_uuid("location_id")?,
                    payer: r.opt_string("payer")?,
                    code: code.to_string(),
                    effective_from: r.string("effective_from")?.parse().map_err(corrupt)?,
                    fee: r.i64("fee_minor")?,
                })
            })
            .collect::<DbResult<Vec<_>>>()?;
        Ok(fees::pick(
            &rows,
            code,
            location.as_uuid(),
            payer,
            on,
            catalog,
        ))
    }
}

/// The fees of an organization in effect on a day ([`Store::fee_table`]).
#[derive(Clone, Debug, Default)]
pub struct FeeTable {
    on: Date,
    catalog: std::collections::HashMap<String, i64>,
    by_code: std::collections::HashMap<String, Vec<FeeRow>>,
}

impl FeeTable {
    /// The fee for `code` at `location` (for a member of `payer`), as [`Store::fee_for`] says.
    pub fn fee(&self, location: LocationId, payer: Option<&str>, code: &str) -> (i64, FeeSource) {
        let catalog = self.catalog.get(code).copied().unwrap_or(0);
        match self.by_code.get(code) {
            Some(rows) => fees::pick(rows, code, location.as_uuid(), payer, self.on, catalog),
            None => (catalog, FeeSource::Catalog),
        }
    }
}
