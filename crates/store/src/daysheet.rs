//! A location's day at the front desk: every posting of the day with its patient, and what it
//! adds up to — production, collections by method, discounts, write-offs, adjustments,
//! refunds — whether the day is closed; and the organization's receivables aged as of a day
//! in one query (first in, first out, exactly as a patient's account ages).

use std::collections::BTreeMap;

use domain::billing::{Aging, Method};
use domain::{LocationId, PatientId, Scope};
use jiff::civil::Date;
use serde::Serialize;
use serde_json::json;

use crate::Store;
use crate::db::{DbResult, Q};
use crate::ledger::Posting;
use crate::patients::Actor;
use crate::tenancy::WriteError;

/// A posting of the day, with its patient's name and what a reversal undid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SheetLine {
    pub posting: Posting,
    pub patient_name: String,
    /// For a reversal: the kind of the posting it undoes.
    pub reverses_kind: Option<String>,
}

/// What a day adds up to, in minor units (reversals counted against what they undo).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SheetTotals {
    /// Charges and tax: the work billed.
    pub production: i64,
    /// Money in, less money given back, by method.
    pub collections: BTreeMap<String, i64>,
    pub discounts: i64,
    pub write_offs: i64,
    /// Net of up and down adjustments (positive: patients owe more).
    pub adjustments: i64,
    pub refunds: i64,
}

impl SheetTotals {
    pub fn collected(&self) -> i64 {
        self.collections.values().sum()
    }

    fn add(&mut self, kind: &str, method: Option<Method>, amount: i64, sign: i64) {
        let a = amount * sign;
        let m = method.map(|m| m.code().to_string()).unwrap_or_default();
        match kind {
            "charge" | "tax" => self.production += a,
            "payment" | "prepayment" => *self.collections.entry(m).or_insert(0) += a,
            "refund" | "credit_refund" => {
                self.refunds += a;
                *self.collections.entry(m).or_insert(0) -= a;
            }
            "discount" => self.discounts += a,
            "write_off" => self.write_offs += a,
            _ => {}
        }
    }
}

/// A location's day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DaySheet {
    pub location_id: LocationId,
    pub day: Date,
    pub currency: String,
    pub lines: Vec<SheetLine>,
    pub totals: SheetTotals,
    pub closed: bool,
}

/// The organization's receivables as of a day.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Receivables {
    pub as_of: Option<Date>,
    /// What patients owe, aged (credit balances are not in it).
    pub aging: Aging,
    /// Credit balances: what the practice owes patients (positive).
    pub credits: i64,
    /// How many patients owe something.
    pub owing: i64,
}

impl Store {
    /// A location's postings of a day, oldest first, with the day's totals; the patients
    /// shown are audited.
    pub async fn day_sheet(
        &self,
        scope: &Scope,
        actor: &Actor,
        location: LocationId,
        day: Date,
    ) -> Result<DaySheet, WriteError> {
        let loc = self.location(scope, location).await?.ok_or_else(|| {
            WriteError::Invalid(domain::DomainError::field(
                "location_id",
                "no such location",
            ))
        })?;
        let rows = self
            .db
            .fetch_all(
                Q::new(
                    "SELECT p.id, o.kind AS reverses_kind, pa.given_name, pa.family_name, pa.preferred_name \
                     FROM ledger_postings p JOIN patients pa ON pa.id = p.patient_id \
                     LEFT JOIN ledger_postings o ON o.id = p.reverses \
                     WHERE p.org_id = $1 AND p.location_id = $2 AND p.posted_on = $3 ORDER BY p.seq LIMIT 5000",
                )
                .bind(scope.org())
                .bind(location)
                .bind(day.to_string()),
            )
            .await?;
        let ids = rows
            .iter()
            .map(|r| r.uuid("id"))
            .collect::<DbResult<Vec<_>>>()?;
        let postings = self.postings_by_ids(scope, &ids).await?;
        let mut lines = Vec::with_capacity(rows.len());
        let mut totals = SheetTotals::default();
        for (r, posting) in rows.iter().zip(postings) {
            let reverses_kind = r.opt_string("reverses_kind")?;
            match &reverses_kind {
                Some(k) => totals.add(k, posting.method, posting.amount, -1),
                None => totals.add(&posting.kind, posting.method, posting.amount, 1),
            }
            if posting.kind == "adjustment" || reverses_kind.as_deref() == Some("adjustment") {
                totals.adjustments += posting.receivable();
            }
            lines.push(SheetLine {
                patient_name: domain::patients::display_name(
                    &r.string("given_name")?,
                    &r.string("family_name")?,
                    &r.string("preferred_name")?,
                ),
                posting,
                reverses_kind,
            });
        }
        let closed = self
            .db
            .fetch_optional(
                Q::new(
                    "SELECT 1 AS x FROM ledger_closed_days WHERE org_id = $1 AND location_id = $2 AND day = $3",
                )
                .bind(scope.org())
                .bind(location)
                .bind(day.to_string()),
            )
            .await?
            .is_some();
        let mut patients: Vec<PatientId> = lines.iter().map(|l| l.posting.patient_id).collect();
        patients.sort();
        patients.dedup();
        self.audit_listed_ids(
            scope,
            actor,
            "ledger.day_sheet_read",
            &patients,
            json!({ "location_id": location, "day": day.to_string() }),
        )
        .await?;
        Ok(DaySheet {
            location_id: location,
            day,
            currency: loc.currency.code().to_string(),
            lines,
            totals,
            closed,
        })
    }

    /// The organization's receivables as of the end of `as_of`, aged first in, first out, in
    /// one query: what a patient owes is their newest debits (older ones were paid first), each
    /// in the bucket of its day. Equal, patient by patient, to [`Store::account`]'s aging.
    pub async fn receivables(&self, scope: &Scope, as_of: Date) -> DbResult<Receivables> {
        // Days are kept as text: SQLite reads them with julianday, PostgreSQL casts them.
        let sql = |age: &str| {
            format!(
                "WITH m AS ( \
                   SELECT l.party_id AS pid, p.posted_on AS d, l.amount_minor AS a \
                   FROM ledger_lines l JOIN ledger_postings p ON p.id = l.posting_id \
                   WHERE l.org_id = $1 AND l.account = 'receivable' AND p.posted_on <= $2), \
                 b AS (SELECT pid, SUM(a) AS bal FROM m GROUP BY pid), \
                 o AS ( \
                   SELECT m.d, m.a, b.bal, \
                     SUM(m.a) OVER (PARTITION BY m.pid ORDER BY m.d DESC, m.a DESC ROWS UNBOUNDED PRECEDING) AS run \
                   FROM m JOIN b ON b.pid = m.pid WHERE m.a > 0 AND b.bal > 0), \
                 parts AS ( \
                   SELECT {age} AS age, CASE WHEN run <= bal THEN a ELSE bal - (run - a) END AS part \
                   FROM o WHERE run - a < bal) \
                 SELECT \
                   CAST(COALESCE(SUM(CASE WHEN age <= 30 THEN part ELSE 0 END), 0) AS BIGINT) AS b0, \
                   CAST(COALESCE(SUM(CASE WHEN age > 30 AND age <= 60 THEN part ELSE 0 END), 0) AS BIGINT) AS b30, \
                   CAST(COALESCE(SUM(CASE WHEN age > 60 AND age <= 90 THEN part ELSE 0 END), 0) AS BIGINT) AS b60, \
                   CAST(COALESCE(SUM(CASE WHEN age > 90 AND age <= 120 THEN part ELSE 0 END), 0) AS BIGINT) AS b90, \
                   CAST(COALESCE(SUM(CASE WHEN age > 120 THEN part ELSE 0 END), 0) AS BIGINT) AS b120, \
                   (SELECT CAST(COALESCE(SUM(-bal), 0) AS BIGINT) FROM b WHERE bal < 0) AS credits, \
                   (SELECT COUNT(*) FROM b WHERE bal > 0) AS owing \
                 FROM parts"
            )
        };
        let (sqlite, pg) = (
            sql("CAST(julianday($2) - julianday(d) AS INTEGER)"),
            sql("($2::date - d::date)"),
        );
        let r = self
            .db
            .fetch_one(
                Q::generated_fork(sqlite, pg)
                    .bind(scope.org())
                    .bind(as_of.to_string()),
            )
            .await?;
        Ok(Receivables {
            as_of: Some(as_of),
            aging: Aging {
                current: r.i64("b0")?,
                over_30: r.i64("b30")?,
                over_60: r.i64("b60")?,
                over_90: r.i64("b90")?,
                over_120: r.i64("b120")?,
            },
            credits: r.i64("credits")?,
            owing: r.i64("owing")?,
        })
    }
}

/// Payment plans' installments as of a day.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PlanDues {
    /// Plans with an installment due before today not covered.
    pub overdue_plans: i64,
    pub overdue: i64,
    /// What falls due in the next seven days (beyond what was paid ahead).
    pub due_week: i64,
    pub active_plans: i64,
}

impl Store {
    /// Each day's totals from `from` to `to` (both included) at the locations the scope sees,
    /// in one grouped read.
    pub async fn daily_totals(
        &self,
        scope: &Scope,
        from: Date,
        to: Date,
    ) -> DbResult<Vec<(Date, SheetTotals)>> {
        let rows = self
            .db
            .fetch_all(
                Q::new(
                    "SELECT p.posted_on, p.location_id, p.kind, o.kind AS reverses_kind, p.method, \
                     CAST(SUM(p.amount_minor) AS BIGINT) AS amount \
                     FROM ledger_postings p LEFT JOIN ledger_postings o ON o.id = p.reverses \
                     WHERE p.org_id = $1 AND p.posted_on >= $2 AND p.posted_on <= $3 \
                     GROUP BY p.posted_on, p.location_id, p.kind, o.kind, p.method",
                )
                .bind(scope.org())
                .bind(from.to_string())
                .bind(to.to_string()),
            )
            .await?;
        let mut days: BTreeMap<Date, SheetTotals> = BTreeMap::new();
        let mut d = from;
        while d <= to {
            days.insert(d, SheetTotals::default());
            match d.tomorrow() {
                Ok(n) => d = n,
                Err(_) => break,
            }
        }
        for r in &rows {
            if !scope.allows_location(LocationId::from_uuid(r.uuid("location_id")?)) {
                continue;
            }
            let on: Date = r
                .string("posted_on")?
                .parse()
                .map_err(|e: jiff::Error| crate::db::DbError::Corrupt(e.to_string()))?;
            let method = r.opt_string("method")?.and_then(|m| Method::from_code(&m));
            let t = days.entry(on).or_default();
            match r.opt_string("reverses_kind")? {
                Some(k) => t.add(&k, method, r.i64("amount")?, -1),
                None => t.add(&r.string("kind")?, method, r.i64("amount")?, 1),
            }
        }
        Ok(days.into_iter().collect())
    }

    /// Where the organization's payment plans stand on `today`: overdue installments and what
    /// falls due within a week.
    pub async fn plan_dues(&self, scope: &Scope, today: Date) -> DbResult<PlanDues> {
        let week = today
            .checked_add(jiff::Span::new().days(7))
            .unwrap_or(today);
        let rows = self
            .db
            .fetch_all(
                Q::new(
                    "SELECT pp.location_id, pp.down_minor, \
                     CAST(COALESCE((SELECT SUM(i.amount_minor) FROM payment_plan_installments i WHERE i.plan_id = pp.id AND i.due < $2), 0) AS BIGINT) AS due_before, \
                     CAST(COALESCE((SELECT SUM(i.amount_minor) FROM payment_plan_installments i WHERE i.plan_id = pp.id AND i.due < $3), 0) AS BIGINT) AS due_by_week, \
                     CAST(COALESCE((SELECT SUM(i.amount_minor) FROM payment_plan_installments i WHERE i.plan_id = pp.id), 0) AS BIGINT) AS scheduled, \
                     CAST(COALESCE((SELECT SUM(CASE WHEN p.kind = 'reversal' THEN -p.amount_minor ELSE p.amount_minor END) \
                       FROM ledger_postings p LEFT JOIN ledger_postings o ON o.id = p.reverses \
                       WHERE p.payment_plan_id = pp.id AND (p.kind IN ('payment', 'apply_credit') \
                       OR (p.kind = 'reversal' AND o.kind IN ('payment', 'apply_credit')))), 0) AS BIGINT) AS paid \
                     FROM payment_plans pp WHERE pp.org_id = $1",
                )
                .bind(scope.org())
                .bind(today.to_string())
                .bind(week.to_string()),
            )
            .await?;
        let mut out = PlanDues::default();
        for r in &rows {
            if !scope.allows_location(LocationId::from_uuid(r.uuid("location_id")?)) {
                continue;
            }
            let (down, paid) = (r.i64("down_minor")?, r.i64("paid")?);
            if paid >= down + r.i64("scheduled")? {
                continue;
            }
            out.active_plans += 1;
            let overdue = (down + r.i64("due_before")? - paid).max(0);
            if overdue > 0 {
                out.overdue_plans += 1;
                out.overdue += overdue;
            }
            out.due_week += (down + r.i64("due_by_week")? - paid).max(0) - overdue;
        }
        Ok(out)
    }
}

/// One family member on a statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatementMember {
    pub patient: crate::patients::PatientSummary,
    /// What they owed at the end of the day before the period.
    pub opening: i64,
    /// Their postings in the period, oldest first.
    pub postings: Vec<Posting>,
    pub account: crate::ledger::PatientAccount,
}

/// A family's statement under its guarantor, for a period ending today.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Statement {
    pub family_id: domain::FamilyId,
    pub guarantor_name: String,
    /// Where it can be emailed: the guarantor's address, if they agreed to email.
    pub email: Option<String>,
    /// The guarantor's language, for the document.
    pub language: String,
    pub from: Date,
    pub as_of: Date,
    pub currency: String,
    pub members: Vec<StatementMember>,
    /// The family's sum.
    pub balance: i64,
    pub credit: i64,
    pub aging: Aging,
}

impl Store {
    /// The statement of `patient`'s family from `from` to today: each member's opening
    /// balance, postings and account, and the family's sum; the reads audited like an
    /// account's.
    pub async fn statement(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
        from: Date,
    ) -> Result<Statement, WriteError> {
        let summary = self.patient_summary(scope, patient).await?;
        let family = self.family(scope, summary.family_id).await?;
        let before = from
            .yesterday()
            .map_err(|e| WriteError::Invalid(domain::DomainError::field("from", e.to_string())))?;
        let mut members = Vec::with_capacity(family.members.len());
        for m in &family.members {
            let opening = self
                .account(scope, actor, m.id, Some(before))
                .await?
                .balance;
            let account = self.account(scope, actor, m.id, None).await?;
            let mut postings: Vec<Posting> = self
                .postings(scope, actor, m.id, 2000)
                .await?
                .into_iter()
                .filter(|p| p.posted_on >= from)
                .collect();
            postings.reverse();
            members.push(StatementMember {
                patient: m.clone(),
                opening,
                postings,
                account,
            });
        }
        let (email, language) = match family.guarantor_patient {
            Some(g) => {
                let p = self.patient(scope, actor, g).await?;
                (
                    Some(p.details.email.clone())
                        .filter(|e| !e.is_empty() && p.details.email_consent),
                    p.details.language.clone(),
                )
            }
            None => (
                Some(family.guarantor.email.clone()).filter(|e| !e.is_empty()),
                self.patient_language(scope, patient).await?,
            ),
        };
        let first = members
            .first()
            .map(|m| m.account.clone())
            .ok_or_else(|| WriteError::Invalid(domain::DomainError::not_found("family")))?;
        let (mut balance, mut credit, mut aging) = (0, 0, Aging::default());
        for m in &members {
            balance += m.account.balance;
            credit += m.account.credit;
            aging = aging.plus(&m.account.aging);
        }
        Ok(Statement {
            family_id: family.id,
            guarantor_name: family.guarantor_name(),
            email,
            language,
            from,
            as_of: first.as_of,
            currency: first.currency,
            members,
            balance,
            credit,
            aging,
        })
    }
}
