//! Payment plans (migration 0026): what a patient owes, paid in installments on a schedule
//! exact to the cent (`domain::billing::amortize`). Making a plan posts its whole interest as
//! a charge (so the books say what the patient owes); payments name the plan they pay, and
//! what they paid covers the down payment, then the installments in order: an installment
//! due before today and not covered is overdue.

use domain::billing::Entry;
use domain::billing::amortize::{Frequency, Installment, Terms};
use domain::{DomainError, LocationId, PatientId, Scope};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;
use serde_json::json;

use crate::Store;
use crate::db::{DbError, DbResult, Q, Row};
use crate::ledger::PostingRow;
use crate::patients::{Actor, status_of};
use crate::tenancy::WriteError;

/// A payment plan with where it stands today.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PaymentPlan {
    pub id: uuid::Uuid,
    pub number: i64,
    pub patient_id: PatientId,
    pub location_id: LocationId,
    pub currency: String,
    pub terms: Terms,
    pub interest: i64,
    pub installments: Vec<Installment>,
    pub created_by_name: String,
    pub created_at: Timestamp,
    /// Paid through the plan so far (payments naming it, less their reversals).
    pub paid: i64,
    /// Of the down payment, what is still to pay.
    pub down_left: i64,
    /// What each installment still needs, in order (0: covered).
    pub left: Vec<i64>,
    /// The installments due before today and not covered.
    pub overdue: Vec<u32>,
    pub completed: bool,
    /// Installments are charged to a card on file (the gateway's token is never shown).
    pub autopay: bool,
    /// Why the last automatic charge failed, until one goes through.
    pub autopay_error: Option<String>,
    /// Due today or before and not covered (the down payment included).
    pub due_now: i64,
}

impl PaymentPlan {
    /// "PP-000042".
    pub fn reference(&self) -> String {
        format!("PP-{:06}", self.number)
    }

    /// The whole plan: down payment and installments.
    pub fn total(&self) -> i64 {
        self.terms.down_payment + self.installments.iter().map(|i| i.amount).sum::<i64>()
    }

    /// The next installment with something left, and how much.
    pub fn next_due(&self) -> Option<(&Installment, i64)> {
        self.installments
            .iter()
            .zip(&self.left)
            .find(|(_, l)| **l > 0)
            .map(|(i, l)| (i, *l))
    }
}

fn refused(field: &str, m: impl Into<String>) -> WriteError {
    WriteError::Invalid(DomainError::field(field, m))
}

fn corrupt(e: impl std::fmt::Display) -> DbError {
    DbError::Corrupt(e.to_string())
}

impl Store {
    /// Makes a payment plan for what the patient owes (at most their balance today, first
    /// installment today or later). Its interest is posted as a charge in the same transaction.
    pub async fn create_payment_plan(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
        terms: &Terms,
    ) -> Result<PaymentPlan, WriteError> {
        let schedule = terms.schedule().map_err(WriteError::Invalid)?;
        let mut tx = self.begin().await?;
        tx.lock_books(scope.org()).await?;
        let row = tx.patient_row(scope, patient).await?;
        if status_of(&row)? == domain::patients::PatientStatus::Merged {
            return Err(refused("patient_id", "this record was merged into another"));
        }
        let location_id = LocationId::from_uuid(row.uuid("location_id")?);
        let location = self
            .location(&Scope::system(scope.org()), location_id)
            .await?
            .ok_or_else(|| refused("location_id", "the patient's location is gone"))?;
        let today = self.now().to_zoned(location.tz()?).date();
        if terms.first_due < today {
            return Err(refused(
                "first_due",
                "the first installment is due today or later",
            ));
        }
        let cur = location.currency;
        let owed = tx.patient_state(scope.org(), patient).await?.balance;
        if terms.principal > owed {
            return Err(refused(
                "principal",
                format!(
                    "more than the {} owed",
                    domain::Money::from_minor(owed.max(0), cur)
                ),
            ));
        }
        let id = self.new_uuid();
        let number = tx.next_number("payment_plan_counters", scope.org()).await?;
        tx.execute(
            Q::new(
                "INSERT INTO payment_plans (id, org_id, number, patient_id, location_id, currency, principal_minor, down_minor, \
                 rate_bp, installments, frequency, first_due, interest_minor, status, created_by_name, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'active', $14, $15)",
            )
            .bind(id)
            .bind(scope.org())
            .bind(number)
            .bind(patient)
            .bind(location_id)
            .bind(cur.code())
            .bind(terms.principal)
            .bind(terms.down_payment)
            .bind(i64::from(terms.annual_rate_bp))
            .bind(i64::from(terms.installments))
            .bind(terms.frequency.code())
            .bind(terms.first_due.to_string())
            .bind(schedule.total_interest)
            .bind(actor.name.as_str())
            .bind(self.now()),
        )
        .await?;
        for i in &schedule.installments {
            tx.execute(
                Q::new(
                    "INSERT INTO payment_plan_installments (plan_id, org_id, n, due, amount_minor, principal_minor, interest_minor) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(id)
                .bind(scope.org())
                .bind(i64::from(i.n))
                .bind(i.due.to_string())
                .bind(i.amount)
                .bind(i.principal)
                .bind(i.interest),
            )
            .await?;
        }
        let reference = format!("PP-{number:06}");
        if schedule.total_interest > 0 {
            let lines = Entry::Charge {
                amount: schedule.total_interest,
            }
            .lines(patient.as_uuid())
            .map_err(WriteError::Invalid)?;
            let reason = format!("{reference} interest");
            tx.insert_posting(
                self,
                scope,
                actor,
                PostingRow {
                    location: location_id,
                    patient,
                    kind: "charge",
                    amount: schedule.total_interest,
                    currency: cur.code(),
                    method: None,
                    on: today,
                    reason: &reason,
                    reference: &reference,
                    reverses: None,
                    procedure: None,
                    provider: None,
                    transfer_to: None,
                    plan: Some(id),
                },
                &lines,
                &[],
            )
            .await?;
        }
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "payment_plan.created",
                Some(patient),
                &format!("payment_plan:{id}"),
                json!({ "number": number, "principal": terms.principal, "installments": terms.installments, "interest": schedule.total_interest }),
            ),
        )
        .await?;
        tx.commit().await?;
        self.payment_plan(scope, id).await
    }

    /// A payment plan as someone reads it (the API): audited.
    pub async fn payment_plan_read(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: uuid::Uuid,
    ) -> Result<PaymentPlan, WriteError> {
        let plan = self.payment_plan(scope, id).await?;
        self.audit_once(
            scope,
            actor,
            "payment_plan.read",
            Some(plan.patient_id),
            &format!("payment_plan:{id}"),
            json!({}),
        )
        .await?;
        Ok(plan)
    }

    /// One plan, with where it stands today.
    pub async fn payment_plan(
        &self,
        scope: &Scope,
        id: uuid::Uuid,
    ) -> Result<PaymentPlan, WriteError> {
        let r = self
            .db
            .fetch_optional(
                Q::new("SELECT * FROM payment_plans WHERE id = $1 AND org_id = $2")
                    .bind(id)
                    .bind(scope.org()),
            )
            .await?
            .ok_or_else(|| WriteError::Invalid(DomainError::not_found("payment plan")))?;
        let patient = PatientId::from_uuid(r.uuid("patient_id")?);
        // The record must be visible to the scope (location limits).
        self.patient_summary(scope, patient).await?;
        self.plan_from(scope, &r).await
    }

    /// A patient's plans, newest first.
    pub async fn payment_plans(
        &self,
        scope: &Scope,
        patient: PatientId,
    ) -> Result<Vec<PaymentPlan>, WriteError> {
        self.patient_summary(scope, patient).await?;
        let rows = self
            .db
            .fetch_all(
                Q::new("SELECT * FROM payment_plans WHERE org_id = $1 AND patient_id = $2 ORDER BY number DESC")
                    .bind(scope.org())
                    .bind(patient),
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.plan_from(scope, r).await?);
        }
        Ok(out)
    }

    async fn plan_from(&self, scope: &Scope, r: &Row) -> Result<PaymentPlan, WriteError> {
        let id = r.uuid("id")?;
        let frequency = r.string("frequency")?;
        let location_id = LocationId::from_uuid(r.uuid("location_id")?);
        let terms = Terms {
            principal: r.i64("principal_minor")?,
            down_payment: r.i64("down_minor")?,
            annual_rate_bp: u32::try_from(r.i64("rate_bp")?).map_err(corrupt)?,
            installments: u32::try_from(r.i64("installments")?).map_err(corrupt)?,
            frequency: Frequency::from_code(&frequency).ok_or_else(|| corrupt(&frequency))?,
            first_due: r.string("first_due")?.parse().map_err(corrupt)?,
        };
        let rows = self
            .db
            .fetch_all(
                Q::new("SELECT * FROM payment_plan_installments WHERE plan_id = $1 ORDER BY n")
                    .bind(id),
            )
            .await?;
        let mut installments = Vec::with_capacity(rows.len());
        for i in &rows {
            installments.push(Installment {
                n: u32::try_from(i.i64("n")?).map_err(corrupt)?,
                due: i.string("due")?.parse::<Date>().map_err(corrupt)?,
                amount: i.i64("amount_minor")?,
                principal: i.i64("principal_minor")?,
                interest: i.i64("interest_minor")?,
                balance_after: 0,
            });
        }
        // The balance after each, for the schedule as shown.
        let mut bal = terms.principal - terms.down_payment;
        for i in &mut installments {
            bal -= i.principal;
            i.balance_after = bal;
        }
        let paid = self
            .db
            .fetch_one(
                Q::new(
                    "SELECT CAST(COALESCE(SUM(CASE WHEN p.kind IN ('payment', 'apply_credit') THEN p.amount_minor \
                       WHEN p.kind = 'reversal' AND o.kind IN ('payment', 'apply_credit') THEN -p.amount_minor ELSE 0 END), 0) AS BIGINT) AS n \
                     FROM ledger_postings p LEFT JOIN ledger_postings o ON o.id = p.reverses \
                     WHERE p.org_id = $1 AND p.payment_plan_id = $2",
                )
                .bind(scope.org())
                .bind(id),
            )
            .await?
            .i64("n")?;
        let location = self
            .location(&Scope::system(scope.org()), location_id)
            .await?;
        let today = match &location {
            Some(l) => self.now().to_zoned(l.tz()?).date(),
            None => self.now().to_zoned(jiff::tz::TimeZone::UTC).date(),
        };
        let mut rest = paid;
        let down_left = (terms.down_payment - rest).max(0);
        rest = (rest - terms.down_payment).max(0);
        let mut left = Vec::with_capacity(installments.len());
        let mut overdue = Vec::new();
        for i in &installments {
            let covered = rest.min(i.amount);
            rest -= covered;
            left.push(i.amount - covered);
            if i.amount > covered && i.due < today {
                overdue.push(i.n);
            }
        }
        let completed = down_left == 0 && left.iter().all(|l| *l == 0);
        let due_now = down_left
            + installments
                .iter()
                .zip(&left)
                .filter(|(i, _)| i.due <= today)
                .map(|(_, l)| *l)
                .sum::<i64>();
        Ok(PaymentPlan {
            id,
            number: r.i64("number")?,
            patient_id: PatientId::from_uuid(r.uuid("patient_id")?),
            location_id,
            currency: r.string("currency")?,
            terms,
            interest: r.i64("interest_minor")?,
            installments,
            created_by_name: r.string("created_by_name")?,
            created_at: r.ts("created_at")?,
            paid,
            down_left,
            left,
            overdue,
            completed,
            autopay: r.opt_string("autopay_token")?.is_some(),
            autopay_error: r.opt_string("autopay_error")?,
            due_now,
        })
    }
}

/// An automatic installment to charge.
#[derive(Clone, Debug)]
pub struct AutopayDue {
    pub org: domain::OrgId,
    pub plan: PaymentPlan,
    /// The gateway's token of the card on file.
    pub token: String,
    pub today: Date,
}

fn token_ok(t: &str) -> bool {
    (3..=255).contains(&t.len())
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl Store {
    /// Charges a plan's installments to a card on file from now on (`token`: the card
    /// gateway's token of a card the patient agreed to), or stops (`None`); audited.
    pub async fn set_plan_autopay(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: uuid::Uuid,
        token: Option<&str>,
    ) -> Result<PaymentPlan, WriteError> {
        let plan = self.payment_plan(scope, id).await?;
        let token = token.map(str::trim).filter(|t| !t.is_empty());
        if let Some(t) = token
            && !token_ok(t)
        {
            return Err(refused(
                "card",
                "the card gateway's token (letters, digits, _ and -), never a card number",
            ));
        }
        let mut tx = self.begin().await?;
        tx.execute(
            Q::new("UPDATE payment_plans SET autopay_token = $1, autopay_error = NULL WHERE id = $2 AND org_id = $3")
                .bind(token)
                .bind(id)
                .bind(scope.org()),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                if token.is_some() {
                    "payment_plan.autopay_on"
                } else {
                    "payment_plan.autopay_off"
                },
                Some(plan.patient_id),
                &format!("payment_plan:{id}"),
                json!({ "plan": plan.reference() }),
            ),
        )
        .await?;
        tx.commit().await?;
        self.payment_plan(scope, id).await
    }

    /// Every plan with a card on file and something due today or before, in every
    /// organization (the daily job's work list).
    pub async fn autopay_due(&self) -> Result<Vec<AutopayDue>, WriteError> {
        let rows = self
            .db
            .fetch_all(Q::new(
                "SELECT pp.* FROM payment_plans pp JOIN organizations o ON o.id = pp.org_id \
                 WHERE pp.autopay_token IS NOT NULL AND o.archived_at IS NULL ORDER BY pp.org_id, pp.number",
            ))
            .await?;
        let mut out = Vec::new();
        for r in &rows {
            let org = domain::OrgId::from_uuid(r.uuid("org_id")?);
            let scope = Scope::system(org);
            let plan = self.plan_from(&scope, r).await?;
            if plan.completed || plan.due_now <= 0 {
                continue;
            }
            let loc = self.location(&scope, plan.location_id).await?;
            let today = match &loc {
                Some(l) => self.now().to_zoned(l.tz()?).date(),
                None => self.now().to_zoned(jiff::tz::TimeZone::UTC).date(),
            };
            out.push(AutopayDue {
                org,
                token: r.string("autopay_token")?,
                plan,
                today,
            });
        }
        Ok(out)
    }

    /// Keeps why a plan's automatic charge failed and gives billing a task for it (once a
    /// day per plan).
    pub async fn autopay_failed(&self, due: &AutopayDue, error: &str) -> Result<(), WriteError> {
        let scope = Scope::system(due.org);
        let actor = Actor::system("automatic installments");
        let mut tx = self.begin().await?;
        tx.execute(
            Q::new("UPDATE payment_plans SET autopay_error = $1 WHERE id = $2")
                .bind(error)
                .bind(due.plan.id),
        )
        .await?;
        tx.commit().await?;
        let made = self
            .create_task(
                &scope,
                &actor,
                &crate::plans::NewTask {
                    patient_id: Some(due.plan.patient_id),
                    kind: "billing.autopay_failed".into(),
                    title: format!(
                        "Automatic installment of {} failed: {error}",
                        due.plan.reference()
                    ),
                    assignee_role: Some("billing".into()),
                    urgency: domain::plans::Priority::Soon,
                    source_key: Some(format!("autopay:{}:{}", due.plan.id, due.today)),
                    ..Default::default()
                },
            )
            .await;
        match made {
            // Told once a day: a second failure the same day is the same task.
            Ok(_) => Ok(()),
            Err(WriteError::Invalid(d)) if d.code == domain::ErrorCode::Conflict => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// A plan's automatic charge went through: its last failure is forgotten.
    pub async fn autopay_succeeded(&self, plan: uuid::Uuid) -> DbResult<()> {
        self.db
            .execute(
                Q::new("UPDATE payment_plans SET autopay_error = NULL WHERE id = $1").bind(plan),
            )
            .await?;
        Ok(())
    }
}
