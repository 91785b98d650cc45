//! The books (migration 0024): immutable postings, each with its balanced double entry
//! (`domain::billing`), numbered per organization without gaps; payments allocated to the
//! charges they pay; reversals instead of edits; closed days; the patient's account (balance,
//! credit, aging as of any day) computed from the lines; a verification of the whole; and the
//! idempotency keys that make a payment request safe to retry.

use domain::billing::{self, Account, Aging, Entry, Line, Method, Movement, Owed};
use domain::{
    ChartEntryId, Currency, DomainError, ErrorCode, LocationId, OrgId, PatientId, Scope, UserId,
};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;
use serde_json::json;

use crate::db::{DbError, DbResult, Q, Row};
use crate::patients::{Actor, status_of};
use crate::tenancy::WriteError;
use crate::{Store, Txn};

/// A posting as asked for.
#[derive(Clone, Debug)]
pub struct NewPosting {
    pub patient: PatientId,
    /// The patient's location when not given.
    pub location: Option<LocationId>,
    pub entry: Entry,
    /// When given, it must be the currency of the location's books.
    pub currency: Option<String>,
    /// Today at the location when not given; a closed day or a later one is refused.
    pub on: Option<Date>,
    pub reason: String,
    /// A cheque number, the last four digits of a card, a gateway's charge id.
    pub reference: String,
    pub procedure_id: Option<ChartEntryId>,
    pub provider_id: Option<UserId>,
    /// For a payment: the charges it pays and how much of each. Without it the oldest
    /// charges are paid first.
    pub allocations: Option<Vec<(uuid::Uuid, i64)>>,
    /// For a payment larger than what is owed: the rest becomes credit on account (a
    /// prepayment) instead of being refused.
    pub rest_to_credit: bool,
    /// A claimed idempotency key ([`Store::claim_idempotent`]): its answer (the postings) is
    /// kept in the same transaction, so a retry can never post twice.
    pub idempotency_key: Option<String>,
    /// For a payment: the patient's payment plan it pays.
    pub payment_plan: Option<uuid::Uuid>,
    /// For a payment: the issued invoice it pays first (what is left pays the oldest charges).
    pub invoice: Option<uuid::Uuid>,
}

impl NewPosting {
    pub fn new(patient: PatientId, entry: Entry, reason: &str) -> NewPosting {
        NewPosting {
            patient,
            location: None,
            entry,
            currency: None,
            on: None,
            reason: reason.to_string(),
            reference: String::new(),
            procedure_id: None,
            provider_id: None,
            allocations: None,
            rest_to_credit: false,
            idempotency_key: None,
            payment_plan: None,
            invoice: None,
        }
    }
}

/// A posting of the books.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Posting {
    pub id: uuid::Uuid,
    pub seq: i64,
    pub location_id: LocationId,
    pub patient_id: PatientId,
    /// `charge`, `payment`, … (`Entry::code`) or `reversal`.
    pub kind: String,
    pub amount: i64,
    pub currency: String,
    pub method: Option<Method>,
    pub posted_on: Date,
    pub posted_at: Timestamp,
    pub actor_name: String,
    pub reason: String,
    pub reference: String,
    pub reverses: Option<uuid::Uuid>,
    pub procedure_id: Option<uuid::Uuid>,
    pub provider_id: Option<UserId>,
    pub transfer_to: Option<PatientId>,
    /// The payment plan a payment pays (or whose interest a charge is).
    pub payment_plan_id: Option<uuid::Uuid>,
    pub lines: Vec<Line>,
    /// What was paid with it (a payment): charge and amount.
    pub allocations: Vec<(uuid::Uuid, i64)>,
}

impl Posting {
    /// What it did to the patient's receivable: positive they owe more, negative less.
    pub fn receivable(&self) -> i64 {
        self.lines
            .iter()
            .filter(|l| {
                l.account == Account::Receivable && l.party == Some(self.patient_id.as_uuid())
            })
            .map(|l| l.amount)
            .sum()
    }
}

/// A patient's account as of a day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PatientAccount {
    pub patient_id: PatientId,
    pub as_of: Date,
    pub currency: String,
    /// What they owe (negative: what the practice owes them).
    pub balance: i64,
    /// Credit on account (prepayments not yet used).
    pub credit: i64,
    pub aging: Aging,
    pub charged: i64,
    pub paid: i64,
}

/// What [`Store::verify_ledger`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LedgerReport {
    pub postings: i64,
    pub lines: i64,
    pub faults: Vec<String>,
}

/// The first answer of an idempotent request, or why there is none to give.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The key is new (or its earlier attempt was abandoned): go ahead, keeping the answer
    /// with the work ([`NewPosting::idempotency_key`]) or letting the key go
    /// ([`Store::release_idempotent`]).
    New,
    /// The same key and the same request: the first answer.
    Replay { status: u16, body: String },
    /// The key was used with another request.
    Mismatch,
    /// The first request with this key is still being answered.
    InFlight,
}

/// How long an unanswered claim holds its key (a crashed server's claim is then taken over).
const CLAIM_SECONDS: i64 = 120;

fn refused(field: &str, m: impl Into<String>) -> WriteError {
    WriteError::Invalid(DomainError::field(field, m))
}

fn conflict(m: impl Into<String>) -> WriteError {
    WriteError::Invalid(DomainError::new(ErrorCode::Conflict, m))
}

fn corrupt(e: impl std::fmt::Display) -> DbError {
    DbError::Corrupt(e.to_string())
}

fn money(minor: i64, cur: Currency) -> String {
    domain::Money::from_minor(minor, cur).to_string()
}

fn date_of(r: &Row, col: &str) -> DbResult<Date> {
    r.string(col)?.parse().map_err(corrupt)
}

impl Store {
    /// Posts to the books: the entry's double entry, on its day, with who and why; for a
    /// payment its allocations (and, if asked, the rest as credit on account, a second
    /// posting in the same transaction). Refused with nothing posted: an amount of zero or
    /// less, another currency than the location's, a closed or future day, a refund above
    /// what was paid, a payment above what is owed (unless the rest goes to credit), a
    /// discount, write-off or downward adjustment above what is owed, credit used beyond
    /// what there is.
    pub async fn post(
        &self,
        scope: &Scope,
        actor: &Actor,
        new: &NewPosting,
    ) -> Result<Vec<Posting>, WriteError> {
        if new.reason.chars().count() > 500 || new.reference.chars().count() > 200 {
            return Err(refused(
                "reason",
                "at most 500 characters (and 200 for the reference)",
            ));
        }
        let patient = new.patient;
        // Checks the amount and the transfer's other side.
        new.entry
            .lines(patient.as_uuid())
            .map_err(WriteError::Invalid)?;
        let mut tx = self.begin().await?;
        tx.lock_books(scope.org()).await?;
        let row = tx.patient_row(scope, patient).await?;
        if status_of(&row)? == domain::patients::PatientStatus::Merged {
            return Err(refused(
                "patient_id",
                "this record was merged into another; post there",
            ));
        }
        let location_id = match new.location {
            Some(l) => l,
            None => LocationId::from_uuid(row.uuid("location_id")?),
        };
        let location = self
            .location(scope, location_id)
            .await?
            .ok_or_else(|| refused("location_id", "no such location"))?;
        let cur = location.currency;
        if let Some(c) = &new.currency
            && !c.eq_ignore_ascii_case(cur.code())
        {
            return Err(refused(
                "currency",
                format!(
                    "the books of {} are kept in {}; this is in {}",
                    location.name,
                    cur.code(),
                    c.to_uppercase()
                ),
            ));
        }
        let today = self.now().to_zoned(location.tz()?).date();
        let on = new.on.unwrap_or(today);
        if on > today {
            return Err(refused("on", "a posting cannot be dated after today"));
        }
        if tx.day_closed(scope.org(), location_id, on).await? {
            return Err(conflict(format!(
                "the books of {on} are closed at {}; post the correction today",
                location.name
            )));
        }
        if let Some(plan) = new.payment_plan {
            if !matches!(new.entry, Entry::Payment { .. } | Entry::ApplyCredit { .. }) {
                return Err(refused("payment_plan_id", "only a payment pays a plan"));
            }
            let found = tx
                .fetch_optional(
                    Q::new("SELECT 1 AS x FROM payment_plans WHERE id = $1 AND org_id = $2 AND patient_id = $3")
                        .bind(plan)
                        .bind(scope.org())
                        .bind(patient),
                )
                .await?;
            if found.is_none() {
                return Err(refused(
                    "payment_plan_id",
                    "not a payment plan of this patient",
                ));
            }
        }
        let amount = new.entry.amount();
        let state = tx.patient_state(scope.org(), patient).await?;
        let owed = state.balance.max(0);
        let mut entries = vec![new.entry.clone()];
        match &new.entry {
            Entry::Payment { method, .. } if amount > owed => {
                if !new.rest_to_credit {
                    return Err(refused(
                        "amount",
                        format!(
                            "more than the {} owed: take {} as a payment and the rest as credit on account",
                            money(owed, cur),
                            money(owed, cur)
                        ),
                    ));
                }
                entries = Vec::new();
                if owed > 0 {
                    entries.push(Entry::Payment {
                        amount: owed,
                        method: *method,
                    });
                }
                entries.push(Entry::Prepayment {
                    amount: amount - owed,
                    method: *method,
                });
            }
            Entry::Refund { .. } if amount > state.refundable => {
                return Err(refused(
                    "amount",
                    format!(
                        "more than what was paid and not refunded yet ({})",
                        money(state.refundable, cur)
                    ),
                ));
            }
            Entry::CreditRefund { .. } if amount > state.credit => {
                return Err(refused(
                    "amount",
                    format!(
                        "more than the credit on account ({})",
                        money(state.credit, cur)
                    ),
                ));
            }
            Entry::ApplyCredit { .. } if amount > state.credit.min(owed) => {
                return Err(refused(
                    "amount",
                    format!(
                        "at most the credit on account that is owed ({})",
                        money(state.credit.min(owed), cur)
                    ),
                ));
            }
            Entry::Discount { .. }
            | Entry::WriteOff { .. }
            | Entry::Adjustment { up: false, .. }
            | Entry::Transfer { .. }
                if amount > owed =>
            {
                return Err(refused(
                    "amount",
                    format!("more than the {} owed", money(owed, cur)),
                ));
            }
            _ => {}
        }
        if let Entry::Transfer { to, .. } = &new.entry {
            let other = tx
                .patient_row(scope, PatientId::from_uuid(*to))
                .await
                .map_err(|_| refused("to", "no such patient"))?;
            if other.uuid("family_id")? != row.uuid("family_id")? {
                return Err(refused(
                    "to",
                    "a balance moves only between members of one family",
                ));
            }
        }
        if new.allocations.is_some() && !matches!(new.entry, Entry::Payment { .. }) {
            return Err(refused("allocations", "only a payment pays charges"));
        }
        // The invoice paid first: its charges lead the open ones.
        let invoice_charges = match new.invoice {
            Some(inv) => {
                if !matches!(new.entry, Entry::Payment { .. } | Entry::ApplyCredit { .. }) {
                    return Err(refused("invoice_id", "only a payment pays an invoice"));
                }
                tx.invoice_charges(scope, patient, inv).await?
            }
            None => Vec::new(),
        };
        let mut out = Vec::new();
        for e in entries {
            // Whatever lowers what is owed settles charges (the oldest first, or as asked for a
            // payment), so a charge's open amount is always what is still to pay on it.
            let allocations = match &e {
                Entry::Payment { amount, .. }
                | Entry::ApplyCredit { amount }
                | Entry::Discount { amount }
                | Entry::WriteOff { amount }
                | Entry::Adjustment { amount, up: false }
                | Entry::Transfer { amount, .. } => {
                    let mut open = tx.open_charges(scope.org(), patient).await?;
                    if !invoice_charges.is_empty() {
                        open.sort_by_key(|o| !invoice_charges.contains(&o.id));
                    }
                    let asked = match &e {
                        Entry::Payment { .. } => new.allocations.as_deref(),
                        _ => None,
                    };
                    billing::split_payment(*amount, &open, asked)
                        .map_err(WriteError::Invalid)?
                        .parts
                }
                _ => Vec::new(),
            };
            let lines = e.lines(patient.as_uuid()).map_err(WriteError::Invalid)?;
            let id = tx
                .insert_posting(
                    self,
                    scope,
                    actor,
                    PostingRow {
                        location: location_id,
                        patient,
                        kind: e.code(),
                        amount: e.amount(),
                        currency: cur.code(),
                        method: method_of(&e),
                        on,
                        reason: &new.reason,
                        reference: &new.reference,
                        reverses: None,
                        procedure: new.procedure_id,
                        provider: new.provider_id,
                        transfer_to: match &e {
                            Entry::Transfer { to, .. } => Some(PatientId::from_uuid(*to)),
                            _ => None,
                        },
                        plan: match &e {
                            Entry::Payment { .. } | Entry::ApplyCredit { .. } => new.payment_plan,
                            _ => None,
                        },
                    },
                    &lines,
                    &allocations,
                )
                .await?;
            out.push(id);
        }
        if let Some(key) = &new.idempotency_key {
            let n = tx
                .execute(
                    Q::new(
                        "UPDATE idempotency_keys SET status = 'done', response_status = 201, response_body = $1 \
                         WHERE org_id = $2 AND idem_key = $3 AND status = 'pending'",
                    )
                    .bind(json!({ "postings": out }).to_string())
                    .bind(scope.org())
                    .bind(key.as_str()),
                )
                .await?;
            if n != 1 {
                return Err(conflict(
                    "this Idempotency-Key is not claimed for this request any more",
                ));
            }
        }
        tx.commit().await?;
        let mut postings = Vec::with_capacity(out.len());
        for id in out {
            postings.push(self.posting(scope, id).await?);
        }
        Ok(postings)
    }

    /// Undoes a posting with its reversal, dated today (a closed day stays as it was). A
    /// posting is reversed once; a reversal is not reversed (post the entry again).
    pub async fn reverse(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: uuid::Uuid,
        reason: &str,
    ) -> Result<Posting, WriteError> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(refused("reason", "say why, in at most 500 characters"));
        }
        let orig = self.posting(scope, id).await?;
        if orig.reverses.is_some() {
            return Err(conflict("a reversal is not reversed: post the entry again"));
        }
        let location = self
            .location(scope, orig.location_id)
            .await?
            .ok_or_else(|| refused("location_id", "no such location"))?;
        let today = self.now().to_zoned(location.tz()?).date();
        let mut tx = self.begin().await?;
        tx.lock_books(scope.org()).await?;
        if tx.day_closed(scope.org(), orig.location_id, today).await? {
            return Err(conflict(format!(
                "today's books are closed at {}",
                location.name
            )));
        }
        // A charge that payments paid: undo those first (their money would pay nothing).
        if orig.kind == "charge" || orig.kind == "tax" {
            let paid = tx
                .fetch_one(
                    Q::new(
                        "SELECT CAST(COALESCE(SUM(a.amount_minor), 0) AS BIGINT) AS n FROM ledger_allocations a \
                         WHERE a.charge_id = $1 AND NOT EXISTS (SELECT 1 FROM ledger_postings r WHERE r.reverses = a.posting_id)",
                    )
                    .bind(id),
                )
                .await?
                .i64("n")?;
            if paid > 0 {
                return Err(conflict(format!(
                    "{} of this charge was paid; reverse the payment first (or refund it)",
                    money(paid, location.currency)
                )));
            }
        }
        let lines = billing::reversal(&orig.lines);
        let currency = orig.currency.clone();
        let rid = tx
            .insert_posting(
                self,
                scope,
                actor,
                PostingRow {
                    location: orig.location_id,
                    patient: orig.patient_id,
                    kind: "reversal",
                    amount: orig.amount,
                    currency: &currency,
                    method: orig.method,
                    on: today,
                    reason,
                    reference: &orig.reference,
                    reverses: Some(id),
                    procedure: orig.procedure_id.map(ChartEntryId::from_uuid),
                    provider: orig.provider_id,
                    transfer_to: orig.transfer_to,
                    plan: orig.payment_plan_id,
                },
                &lines,
                &[],
            )
            .await;
        let rid = match rid {
            Err(e) if e.is_unique_violation() => {
                return Err(conflict("this posting was reversed already"));
            }
            r => r?,
        };
        match tx.commit().await {
            Err(e) if e.is_unique_violation() => {
                return Err(conflict("this posting was reversed already"));
            }
            r => r?,
        }
        self.posting(scope, rid).await
    }

    /// Closes a day at a location: its postings are final. Closing it again does nothing; a
    /// day after today is refused.
    pub async fn close_day(
        &self,
        scope: &Scope,
        actor: &Actor,
        location: LocationId,
        day: Date,
    ) -> Result<bool, WriteError> {
        let loc = self
            .location(scope, location)
            .await?
            .ok_or_else(|| refused("location_id", "no such location"))?;
        let today = self.now().to_zoned(loc.tz()?).date();
        if day >= today {
            return Err(refused(
                "day",
                "a day is closed once it is over (today's work is still being posted)",
            ));
        }
        let mut tx = self.begin().await?;
        let n = tx
            .execute(
                Q::new(
                    "INSERT INTO ledger_closed_days (org_id, location_id, day, closed_at, closed_by_name) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org_id, location_id, day) DO NOTHING",
                )
                .bind(scope.org())
                .bind(location)
                .bind(day.to_string())
                .bind(self.now())
                .bind(actor.name.as_str()),
            )
            .await?;
        if n > 0 {
            tx.audit(
                self,
                scope.org(),
                actor.entry(
                    "ledger.day_closed",
                    None,
                    &format!("location:{location}"),
                    json!({ "day": day.to_string() }),
                ),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(n > 0)
    }

    /// One posting (no audit: the caller's read is audited where it shows a patient's).
    pub async fn posting(&self, scope: &Scope, id: uuid::Uuid) -> Result<Posting, WriteError> {
        let r = self
            .db
            .fetch_optional(
                Q::new("SELECT * FROM ledger_postings WHERE id = $1 AND org_id = $2")
                    .bind(id)
                    .bind(scope.org()),
            )
            .await?
            .ok_or_else(|| WriteError::Invalid(DomainError::not_found("posting")))?;
        let mut p = posting_from(&r)?;
        let lines = self
            .db
            .fetch_all(
                Q::new("SELECT * FROM ledger_lines WHERE posting_id = $1 ORDER BY n").bind(id),
            )
            .await?;
        p.lines = lines.iter().map(line_from).collect::<DbResult<_>>()?;
        let allocs = self
            .db
            .fetch_all(
                Q::new(
                    "SELECT charge_id, amount_minor FROM ledger_allocations WHERE posting_id = $1 ORDER BY charge_id",
                )
                .bind(id),
            )
            .await?;
        p.allocations = allocs
            .iter()
            .map(|a| Ok((a.uuid("charge_id")?, a.i64("amount_minor")?)))
            .collect::<DbResult<_>>()?;
        Ok(p)
    }

    /// Postings by id, in the order given, with their lines and allocations: three reads per
    /// 200 ids however many (no audit: the caller's read is audited).
    pub(crate) async fn postings_by_ids(
        &self,
        scope: &Scope,
        ids: &[uuid::Uuid],
    ) -> Result<Vec<Posting>, WriteError> {
        let mut found: std::collections::HashMap<uuid::Uuid, Posting> =
            std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(200) {
            let marks = (0..chunk.len())
                .map(|i| format!("${}", i + 2))
                .collect::<Vec<_>>()
                .join(", ");
            let bind_all = |q: Q| chunk.iter().fold(q.bind(scope.org()), |q, id| q.bind(*id));
            for r in self
                .db
                .fetch_all(bind_all(Q::generated(format!(
                    "SELECT * FROM ledger_postings WHERE org_id = $1 AND id IN ({marks})"
                ))))
                .await?
            {
                let p = posting_from(&r)?;
                found.insert(p.id, p);
            }
            for r in self
                .db
                .fetch_all(bind_all(Q::generated(format!(
                    "SELECT * FROM ledger_lines WHERE org_id = $1 AND posting_id IN ({marks}) ORDER BY posting_id, n"
                ))))
                .await?
            {
                if let Some(p) = found.get_mut(&r.uuid("posting_id")?) {
                    p.lines.push(line_from(&r)?);
                }
            }
            for r in self
                .db
                .fetch_all(bind_all(Q::generated(format!(
                    "SELECT posting_id, charge_id, amount_minor FROM ledger_allocations \
                     WHERE org_id = $1 AND posting_id IN ({marks}) ORDER BY posting_id, charge_id"
                ))))
                .await?
            {
                if let Some(p) = found.get_mut(&r.uuid("posting_id")?) {
                    p.allocations
                        .push((r.uuid("charge_id")?, r.i64("amount_minor")?));
                }
            }
        }
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// A patient's postings, newest first; audited.
    pub async fn postings(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
        limit: i64,
    ) -> Result<Vec<Posting>, WriteError> {
        self.patient_summary(scope, patient).await?;
        let rows = self
            .db
            .fetch_all(
                Q::new(
                    "SELECT * FROM ledger_postings WHERE org_id = $1 AND (patient_id = $2 OR transfer_to = $2) \
                     ORDER BY seq DESC LIMIT $3",
                )
                .bind(scope.org())
                .bind(patient)
                .bind(limit.clamp(1, 5000)),
            )
            .await?;
        let mut out = rows
            .iter()
            .map(posting_from)
            .collect::<Result<Vec<_>, WriteError>>()?;
        // Their lines and allocations in one read each (not one per posting).
        if let Some(oldest) = out.last().map(|p| p.seq) {
            let mut lines: std::collections::HashMap<uuid::Uuid, Vec<Line>> =
                std::collections::HashMap::new();
            for r in self
                .db
                .fetch_all(
                    Q::new(
                        "SELECT l.* FROM ledger_lines l JOIN ledger_postings p ON p.id = l.posting_id \
                         WHERE p.org_id = $1 AND (p.patient_id = $2 OR p.transfer_to = $2) AND p.seq >= $3 \
                         ORDER BY l.posting_id, l.n",
                    )
                    .bind(scope.org())
                    .bind(patient)
                    .bind(oldest),
                )
                .await?
                .iter()
            {
                lines
                    .entry(r.uuid("posting_id")?)
                    .or_default()
                    .push(line_from(r)?);
            }
            let mut allocations: std::collections::HashMap<uuid::Uuid, Vec<(uuid::Uuid, i64)>> =
                std::collections::HashMap::new();
            for r in self
                .db
                .fetch_all(
                    Q::new(
                        "SELECT a.posting_id, a.charge_id, a.amount_minor FROM ledger_allocations a \
                         JOIN ledger_postings p ON p.id = a.posting_id \
                         WHERE p.org_id = $1 AND (p.patient_id = $2 OR p.transfer_to = $2) AND p.seq >= $3 \
                         ORDER BY a.posting_id, a.charge_id",
                    )
                    .bind(scope.org())
                    .bind(patient)
                    .bind(oldest),
                )
                .await?
                .iter()
            {
                allocations
                    .entry(r.uuid("posting_id")?)
                    .or_default()
                    .push((r.uuid("charge_id")?, r.i64("amount_minor")?));
            }
            for p in &mut out {
                p.lines = lines.remove(&p.id).unwrap_or_default();
                p.allocations = allocations.remove(&p.id).unwrap_or_default();
            }
        }
        self.audit_once(
            scope,
            actor,
            "ledger.read",
            Some(patient),
            "patients",
            json!({ "postings": out.len() }),
        )
        .await?;
        Ok(out)
    }

    /// A patient's account as of a day (the end of it): balance, credit, aging; audited.
    pub async fn account(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
        as_of: Option<Date>,
    ) -> Result<PatientAccount, WriteError> {
        let summary = self.patient_summary(scope, patient).await?;
        let location = self.location(scope, summary.location_id).await?;
        let (cur, today) = match &location {
            Some(l) => (l.currency, self.now().to_zoned(l.tz()?).date()),
            None => (
                Currency::USD,
                self.now().to_zoned(jiff::tz::TimeZone::UTC).date(),
            ),
        };
        let as_of = as_of.unwrap_or(today);
        let rows = self
            .db
            .fetch_all(
                Q::new(
                    "SELECT p.posted_on, p.kind, l.account, l.amount_minor FROM ledger_lines l \
                     JOIN ledger_postings p ON p.id = l.posting_id \
                     WHERE l.org_id = $1 AND l.party_id = $2 AND p.posted_on <= $3",
                )
                .bind(scope.org())
                .bind(patient)
                .bind(as_of.to_string()),
            )
            .await?;
        let mut movements = Vec::new();
        let (mut credit, mut charged, mut paid) = (0i64, 0i64, 0i64);
        for r in &rows {
            let amount = r.i64("amount_minor")?;
            let account = r.string("account")?;
            let kind = r.string("kind")?;
            if account == "receivable" {
                movements.push(Movement {
                    on: date_of(r, "posted_on")?,
                    amount,
                });
                if kind == "charge" || kind == "tax" {
                    charged += amount;
                }
                if kind == "payment" || kind == "apply_credit" {
                    paid -= amount;
                }
            } else if account == "patient_credit" {
                credit -= amount;
            }
        }
        let aging = billing::aging(&movements, as_of);
        self.audit_once(
            scope,
            actor,
            "account.read",
            Some(patient),
            "patients",
            json!({ "as_of": as_of.to_string() }),
        )
        .await?;
        Ok(PatientAccount {
            patient_id: patient,
            as_of,
            currency: cur.code().to_string(),
            balance: aging.total(),
            credit,
            aging,
            charged,
            paid,
        })
    }

    /// A family's account under its guarantor: each member's account and their sum (the
    /// statement the guarantor gets); audited like each member's.
    pub async fn family_account(
        &self,
        scope: &Scope,
        actor: &Actor,
        family: domain::FamilyId,
        as_of: Option<Date>,
    ) -> Result<
        (
            PatientAccount,
            Vec<(crate::patients::PatientSummary, PatientAccount)>,
        ),
        WriteError,
    > {
        let f = self.family(scope, family).await?;
        let mut members = Vec::with_capacity(f.members.len());
        for m in &f.members {
            let a = self.account(scope, actor, m.id, as_of).await?;
            members.push((m.clone(), a));
        }
        let Some(first) = members.first().map(|m| m.1.clone()) else {
            return Err(WriteError::Invalid(DomainError::not_found("family")));
        };
        let total = members.iter().skip(1).fold(first, |mut t, (_, a)| {
            t.balance += a.balance;
            t.credit += a.credit;
            t.charged += a.charged;
            t.paid += a.paid;
            t.aging = t.aging.plus(&a.aging);
            t
        });
        Ok((
            PatientAccount {
                patient_id: f.guarantor_patient.unwrap_or(total.patient_id),
                ..total
            },
            members,
        ))
    }

    /// Checks an organization's books: the numbering has no gap, every posting's lines
    /// balance, the whole balances, every reversal is exactly the negation of what it undoes,
    /// and no payment pays more than it brought or a charge more than it is.
    pub async fn verify_ledger(&self, org: OrgId) -> DbResult<LedgerReport> {
        let mut report = LedgerReport::default();
        let counts = self
            .db
            .fetch_one(
                Q::new(
                    "SELECT COUNT(*) AS n, CAST(COALESCE(MAX(seq), 0) AS BIGINT) AS top, CAST(COALESCE(MIN(seq), 1) AS BIGINT) AS low \
                     FROM ledger_postings WHERE org_id = $1",
                )
                .bind(org),
            )
            .await?;
        report.postings = counts.i64("n")?;
        if counts.i64("top")? != report.postings || counts.i64("low")? != 1 {
            report.faults.push(format!(
                "the numbering has gaps: {} postings numbered {} to {}",
                report.postings,
                counts.i64("low")?,
                counts.i64("top")?
            ));
        }
        let sums = self
            .db
            .fetch_all(
                Q::new(
                    "SELECT p.seq, CAST(COALESCE(SUM(l.amount_minor), 0) AS BIGINT) AS s, COUNT(l.n) AS k FROM ledger_postings p \
                     LEFT JOIN ledger_lines l ON l.posting_id = p.id WHERE p.org_id = $1 \
                     GROUP BY p.seq HAVING COALESCE(SUM(l.amount_minor), 0) <> 0 OR COUNT(l.n) < 2 ORDER BY p.seq LIMIT 100",
                )
                .bind(org),
            )
            .await?;
        for r in &sums {
            report.faults.push(format!(
                "posting {} does not balance: its {} lines sum to {}",
                r.i64("seq")?,
                r.i64("k")?,
                r.i64("s")?
            ));
        }
        let total = self
            .db
            .fetch_one(
                Q::new(
                    "SELECT COUNT(*) AS k, CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS s FROM ledger_lines WHERE org_id = $1",
                )
                .bind(org),
            )
            .await?;
        report.lines = total.i64("k")?;
        if total.i64("s")? != 0 {
            report.faults.push(format!(
                "the trial balance is {}, not zero",
                total.i64("s")?
            ));
        }
        let bad_reversals = self
            .db
            .fetch_all(
                Q::new(
                    "SELECT r.seq FROM ledger_postings r JOIN ledger_lines rl ON rl.posting_id = r.id \
                     LEFT JOIN ledger_lines ol ON ol.posting_id = r.reverses AND ol.n = rl.n \
                     WHERE r.org_id = $1 AND r.reverses IS NOT NULL \
                     AND (ol.n IS NULL OR ol.account <> rl.account OR ol.amount_minor <> -rl.amount_minor) \
                     GROUP BY r.seq ORDER BY r.seq LIMIT 100",
                )
                .bind(org),
            )
            .await?;
        for r in &bad_reversals {
            report.faults.push(format!(
                "reversal {} is not the negation of the posting it undoes",
                r.i64("seq")?
            ));
        }
        let over = self
            .db
            .fetch_all(
                Q::new(
                    "SELECT p.seq FROM ledger_postings p JOIN ledger_allocations a ON a.posting_id = p.id \
                     WHERE p.org_id = $1 GROUP BY p.seq, p.amount_minor HAVING SUM(a.amount_minor) > p.amount_minor \
                     UNION SELECT c.seq FROM ledger_postings c JOIN ledger_allocations a ON a.charge_id = c.id \
                     WHERE c.org_id = $1 AND NOT EXISTS (SELECT 1 FROM ledger_postings r WHERE r.reverses = a.posting_id) \
                     GROUP BY c.seq, c.amount_minor HAVING SUM(a.amount_minor) > c.amount_minor LIMIT 100",
                )
                .bind(org),
            )
            .await?;
        for r in &over {
            report.faults.push(format!(
                "posting {} is allocated beyond its amount",
                r.i64("seq")?
            ));
        }
        Ok(report)
    }

    /// The organizations whose books `cuspid ledger verify` checks: every one not retired.
    pub async fn org_ids(&self) -> DbResult<Vec<OrgId>> {
        self.db
            .fetch_all(Q::new(
                "SELECT id FROM organizations WHERE archived_at IS NULL ORDER BY id",
            ))
            .await?
            .iter()
            .map(|r| Ok(OrgId::from_uuid(r.uuid("id")?)))
            .collect()
    }

    /// Claims an idempotency key for a request (by the hash of what it asks).
    pub async fn claim_idempotent(
        &self,
        org: OrgId,
        key: &str,
        request_hash: &str,
    ) -> DbResult<Claim> {
        let now = self.now();
        let n = self
            .db
            .execute(
                Q::new(
                    "INSERT INTO idempotency_keys (org_id, idem_key, request_hash, status, created_at) \
                     VALUES ($1, $2, $3, 'pending', $4) ON CONFLICT (org_id, idem_key) DO NOTHING",
                )
                .bind(org)
                .bind(key)
                .bind(request_hash)
                .bind(now),
            )
            .await?;
        if n == 1 {
            return Ok(Claim::New);
        }
        let r = self
            .db
            .fetch_one(
                Q::new("SELECT * FROM idempotency_keys WHERE org_id = $1 AND idem_key = $2")
                    .bind(org)
                    .bind(key),
            )
            .await?;
        if r.string("request_hash")? != request_hash {
            return Ok(Claim::Mismatch);
        }
        if r.string("status")? == "done" {
            return Ok(Claim::Replay {
                status: u16::try_from(r.opt_i64("response_status")?.unwrap_or(500)).unwrap_or(500),
                body: r.opt_string("response_body")?.unwrap_or_default(),
            });
        }
        // An attempt abandoned (the server stopped mid-way) is taken over, by one retry only.
        let created = r.i64("created_at")?;
        if now.as_microsecond() - created > CLAIM_SECONDS * 1_000_000 {
            let n = self
                .db
                .execute(
                    Q::new(
                        "UPDATE idempotency_keys SET created_at = $1 WHERE org_id = $2 AND idem_key = $3 \
                         AND status = 'pending' AND created_at = $4",
                    )
                    .bind(now)
                    .bind(org)
                    .bind(key)
                    .bind(created),
                )
                .await?;
            if n == 1 {
                return Ok(Claim::New);
            }
        }
        Ok(Claim::InFlight)
    }

    /// Lets a claimed key go without an answer (the request failed on our side: a retry may
    /// try again).
    pub async fn release_idempotent(&self, org: OrgId, key: &str) -> DbResult<()> {
        self.db
            .execute(
                Q::new(
                    "DELETE FROM idempotency_keys WHERE org_id = $1 AND idem_key = $2 AND status = 'pending'",
                )
                .bind(org)
                .bind(key),
            )
            .await?;
        Ok(())
    }
}

/// What the checks of a posting need to know of the patient's books.
pub(crate) struct PatientState {
    pub(crate) balance: i64,
    pub(crate) credit: i64,
    pub(crate) refundable: i64,
}

pub(crate) struct PostingRow<'a> {
    pub(crate) location: LocationId,
    pub(crate) patient: PatientId,
    pub(crate) kind: &'a str,
    pub(crate) amount: i64,
    pub(crate) currency: &'a str,
    pub(crate) method: Option<Method>,
    pub(crate) on: Date,
    pub(crate) reason: &'a str,
    pub(crate) reference: &'a str,
    pub(crate) reverses: Option<uuid::Uuid>,
    pub(crate) procedure: Option<ChartEntryId>,
    pub(crate) provider: Option<UserId>,
    pub(crate) transfer_to: Option<PatientId>,
    pub(crate) plan: Option<uuid::Uuid>,
}

fn method_of(e: &Entry) -> Option<Method> {
    match e {
        Entry::Payment { method, .. }
        | Entry::Prepayment { method, .. }
        | Entry::Refund { method, .. }
        | Entry::CreditRefund { method, .. } => Some(*method),
        _ => None,
    }
}

impl Txn {
    /// Charges a completed procedure, today at the patient's location, in the chart's
    /// transaction (completing the work and owing for it are one change), at the fee the
    /// schedules give for today ([`Store::fee_for`]), else `fee` (the catalog's). No fee, no
    /// posting.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn charge_procedure(
        &mut self,
        store: &Store,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
        location: LocationId,
        procedure: ChartEntryId,
        code: &str,
        fee: i64,
    ) -> Result<(), WriteError> {
        let loc = store
            .location(&Scope::system(scope.org()), location)
            .await?
            .ok_or_else(|| refused("location_id", "the patient's location is gone"))?;
        let today = store.now().to_zoned(loc.tz()?).date();
        // The schedules' fee in effect today, or the catalog's (`fee`).
        let fee = match store.fee_for(scope, location, None, code, today).await? {
            (_, domain::billing::fees::FeeSource::Catalog) => fee,
            (f, _) => f,
        };
        if fee <= 0 {
            return Ok(());
        }
        self.lock_books(scope.org()).await?;
        let lines = Entry::Charge { amount: fee }
            .lines(patient.as_uuid())
            .map_err(WriteError::Invalid)?;
        let reason = format!("{code} completed");
        self.insert_posting(
            store,
            scope,
            actor,
            PostingRow {
                location,
                patient,
                kind: "charge",
                amount: fee,
                currency: loc.currency.code(),
                method: None,
                on: today,
                reason: &reason,
                reference: code,
                reverses: None,
                procedure: Some(procedure),
                provider: None,
                transfer_to: None,
                plan: None,
            },
            &lines,
            &[],
        )
        .await?;
        Ok(())
    }

    /// Reverses the charge of a procedure that is voided (the work did not happen), today.
    /// What was paid on it stays paid: it becomes the patient's credit.
    pub(crate) async fn reverse_procedure_charge(
        &mut self,
        store: &Store,
        scope: &Scope,
        actor: &Actor,
        procedure: ChartEntryId,
        reason: &str,
    ) -> Result<(), WriteError> {
        let Some(c) = self
            .fetch_optional(
                Q::new(
                    "SELECT * FROM ledger_postings c WHERE c.org_id = $1 AND c.procedure_id = $2 AND c.kind = 'charge' \
                     AND NOT EXISTS (SELECT 1 FROM ledger_postings r WHERE r.reverses = c.id)",
                )
                .bind(scope.org())
                .bind(procedure),
            )
            .await?
        else {
            return Ok(());
        };
        let charge = posting_from(&c)?;
        let loc = store
            .location(&Scope::system(scope.org()), charge.location_id)
            .await?
            .ok_or_else(|| refused("location_id", "the charge's location is gone"))?;
        let today = store.now().to_zoned(loc.tz()?).date();
        self.lock_books(scope.org()).await?;
        let lines = self
            .fetch_all(
                Q::new("SELECT * FROM ledger_lines WHERE posting_id = $1 ORDER BY n")
                    .bind(charge.id),
            )
            .await?
            .iter()
            .map(line_from)
            .collect::<DbResult<Vec<_>>>()?;
        let reason = format!("voided: {reason}");
        self.insert_posting(
            store,
            scope,
            actor,
            PostingRow {
                location: charge.location_id,
                patient: charge.patient_id,
                kind: "reversal",
                amount: charge.amount,
                currency: &charge.currency,
                method: None,
                on: today,
                reason: &reason,
                reference: &charge.reference,
                reverses: Some(charge.id),
                procedure: Some(procedure),
                provider: charge.provider_id,
                transfer_to: None,
                plan: None,
            },
            &billing::reversal(&lines),
            &[],
        )
        .await?;
        Ok(())
    }

    pub(crate) async fn day_closed(
        &mut self,
        org: OrgId,
        location: LocationId,
        day: Date,
    ) -> DbResult<bool> {
        Ok(self
            .fetch_optional(
                Q::new(
                    "SELECT 1 AS x FROM ledger_closed_days WHERE org_id = $1 AND location_id = $2 AND day = $3",
                )
                .bind(org)
                .bind(location)
                .bind(day.to_string()),
            )
            .await?
            .is_some())
    }

    pub(crate) async fn patient_state(
        &mut self,
        org: OrgId,
        patient: PatientId,
    ) -> DbResult<PatientState> {
        let r = self
            .fetch_one(
                Q::new(
                    "SELECT \
                     CAST(COALESCE(SUM(CASE WHEN account = 'receivable' THEN amount_minor ELSE 0 END), 0) AS BIGINT) AS balance, \
                     CAST(COALESCE(SUM(CASE WHEN account = 'patient_credit' THEN -amount_minor ELSE 0 END), 0) AS BIGINT) AS credit \
                     FROM ledger_lines WHERE org_id = $1 AND party_id = $2",
                )
                .bind(org)
                .bind(patient),
            )
            .await?;
        // Paid and not given back: payments and prepayments less refunds, a reversal
        // counting against what it undoes.
        let paid = self
            .fetch_one(
                Q::new(
                    "SELECT CAST(COALESCE(SUM(CASE \
                       WHEN p.kind IN ('payment', 'prepayment') THEN p.amount_minor \
                       WHEN p.kind IN ('refund', 'credit_refund') THEN -p.amount_minor \
                       WHEN p.kind = 'reversal' AND o.kind IN ('payment', 'prepayment') THEN -p.amount_minor \
                       WHEN p.kind = 'reversal' AND o.kind IN ('refund', 'credit_refund') THEN p.amount_minor \
                       ELSE 0 END), 0) AS BIGINT) AS n \
                     FROM ledger_postings p LEFT JOIN ledger_postings o ON o.id = p.reverses \
                     WHERE p.org_id = $1 AND p.patient_id = $2",
                )
                .bind(org)
                .bind(patient),
            )
            .await?
            .i64("n")?;
        let credit = r.i64("credit")?;
        Ok(PatientState {
            balance: r.i64("balance")?,
            credit,
            // What went to credit is refunded from the credit (a credit refund).
            refundable: (paid - credit).max(0),
        })
    }

    /// The charges of an issued invoice of `patient` (refused: another patient's, a draft, a
    /// void one).
    async fn invoice_charges(
        &mut self,
        scope: &Scope,
        patient: PatientId,
        invoice: uuid::Uuid,
    ) -> Result<Vec<uuid::Uuid>, WriteError> {
        let Some(r) = self
            .fetch_optional(
                Q::new("SELECT status, patient_id FROM invoices WHERE id = $1 AND org_id = $2")
                    .bind(invoice)
                    .bind(scope.org()),
            )
            .await?
        else {
            return Err(refused("invoice_id", "no such invoice"));
        };
        if r.uuid("patient_id")? != patient.as_uuid() {
            return Err(refused("invoice_id", "an invoice of another patient"));
        }
        match r.string("status")?.as_str() {
            "draft" => {
                return Err(refused(
                    "invoice_id",
                    "this invoice is a draft: issue it first",
                ));
            }
            "void" => return Err(refused("invoice_id", "this invoice is void")),
            _ => {}
        }
        let rows = self
            .fetch_all(
                Q::new(
                    "SELECT charge_id AS id FROM invoice_lines WHERE invoice_id = $1 AND charge_id IS NOT NULL \
                     UNION ALL SELECT tax_posting_id AS id FROM invoices WHERE id = $1 AND tax_posting_id IS NOT NULL",
                )
                .bind(invoice),
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| r.uuid("id"))
            .collect::<DbResult<Vec<_>>>()?)
    }

    /// The patient's charges not reversed, oldest first, with what is still to pay on each.
    async fn open_charges(&mut self, org: OrgId, patient: PatientId) -> DbResult<Vec<Owed>> {
        let rows = self
            .fetch_all(
                Q::new(
                    "SELECT c.id, c.amount_minor - CAST(COALESCE((SELECT SUM(a.amount_minor) FROM ledger_allocations a \
                       WHERE a.charge_id = c.id AND NOT EXISTS (SELECT 1 FROM ledger_postings r WHERE r.reverses = a.posting_id)), 0) AS BIGINT) AS open \
                     FROM ledger_postings c WHERE c.org_id = $1 AND c.patient_id = $2 AND c.kind IN ('charge', 'tax') \
                     AND NOT EXISTS (SELECT 1 FROM ledger_postings r WHERE r.reverses = c.id) \
                     ORDER BY c.posted_on, c.seq",
                )
                .bind(org)
                .bind(patient),
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let open = r.i64("open")?;
            if open > 0 {
                out.push(Owed {
                    id: r.uuid("id")?,
                    open,
                });
            }
        }
        Ok(out)
    }

    /// Takes the organization's books for this transaction: postings are checked and numbered
    /// one at a time (two payments cannot both pass the same balance).
    pub(crate) async fn lock_books(&mut self, org: OrgId) -> DbResult<()> {
        self.execute(
            Q::new(
                "INSERT INTO ledger_counters (org_id, next_number) VALUES ($1, 1) ON CONFLICT (org_id) DO NOTHING",
            )
            .bind(org),
        )
        .await?;
        self.execute(
            Q::new("UPDATE ledger_counters SET next_number = next_number WHERE org_id = $1")
                .bind(org),
        )
        .await?;
        Ok(())
    }

    pub(crate) async fn insert_posting(
        &mut self,
        store: &Store,
        scope: &Scope,
        actor: &Actor,
        p: PostingRow<'_>,
        lines: &[Line],
        allocations: &[(uuid::Uuid, i64)],
    ) -> DbResult<uuid::Uuid> {
        if !billing::balanced(lines) {
            return Err(DbError::Corrupt("a posting that does not balance".into()));
        }
        let id = store.new_uuid();
        let seq = self.next_number("ledger_counters", scope.org()).await?;
        self.execute(
            Q::new(
                "INSERT INTO ledger_postings (id, org_id, seq, location_id, patient_id, kind, amount_minor, currency, method, \
                 posted_on, posted_at, actor_id, actor_name, reason, reverses, procedure_id, provider_id, transfer_to, reference, payment_plan_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
            )
            .bind(id)
            .bind(scope.org())
            .bind(seq)
            .bind(p.location)
            .bind(p.patient)
            .bind(p.kind)
            .bind(p.amount)
            .bind(p.currency)
            .bind(p.method.map(|m| m.code()))
            .bind(p.on.to_string())
            .bind(store.now())
            .bind(actor.id)
            .bind(actor.name.as_str())
            .bind(p.reason)
            .bind(p.reverses)
            .bind(p.procedure)
            .bind(p.provider)
            .bind(p.transfer_to)
            .bind(p.reference)
            .bind(p.plan),
        )
        .await?;
        for (n, l) in lines.iter().enumerate() {
            self.execute(
                Q::new(
                    "INSERT INTO ledger_lines (posting_id, n, org_id, account, party_id, amount_minor) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(id)
                .bind(n as i64)
                .bind(scope.org())
                .bind(l.account.code())
                .bind(l.party)
                .bind(l.amount),
            )
            .await?;
        }
        for (charge, amount) in allocations {
            self.execute(
                Q::new(
                    "INSERT INTO ledger_allocations (posting_id, charge_id, org_id, amount_minor) VALUES ($1, $2, $3, $4)",
                )
                .bind(id)
                .bind(*charge)
                .bind(scope.org())
                .bind(*amount),
            )
            .await?;
        }
        self.audit(
            store,
            scope.org(),
            actor.entry(
                "ledger.posted",
                Some(p.patient),
                &format!("posting:{id}"),
                json!({
                    "seq": seq, "kind": p.kind, "amount": p.amount, "currency": p.currency,
                    "on": p.on.to_string(), "reverses": p.reverses, "reason": p.reason,
                }),
            ),
        )
        .await?;
        self.publish(
            store,
            Some(scope.org()),
            "ledger.posted",
            json!({ "patient_id": p.patient, "posting_id": id, "kind": p.kind }),
        )
        .await?;
        Ok(id)
    }
}

fn posting_from(r: &Row) -> Result<Posting, WriteError> {
    let method = r.opt_string("method")?;
    Ok(Posting {
        id: r.uuid("id")?,
        seq: r.i64("seq")?,
        location_id: LocationId::from_uuid(r.uuid("location_id")?),
        patient_id: PatientId::from_uuid(r.uuid("patient_id")?),
        kind: r.string("kind")?,
        amount: r.i64("amount_minor")?,
        currency: r.string("currency")?,
        method: match method {
            Some(m) => Some(Method::from_code(&m).ok_or_else(|| corrupt(&m))?),
            None => None,
        },
        posted_on: date_of(r, "posted_on")?,
        posted_at: r.ts("posted_at")?,
        actor_name: r.string("actor_name")?,
        reason: r.string("reason")?,
        reference: r.string("reference")?,
        reverses: r.opt_uuid("reverses")?,
        procedure_id: r.opt_uuid("procedure_id")?,
        provider_id: r.opt_uuid("provider_id")?.map(UserId::from_uuid),
        transfer_to: r.opt_uuid("transfer_to")?.map(PatientId::from_uuid),
        payment_plan_id: r.opt_uuid("payment_plan_id")?,
        lines: Vec::new(),
        allocations: Vec::new(),
    })
}

pub(crate) fn line_from(r: &Row) -> DbResult<Line> {
    let account = r.string("account")?;
    Ok(Line {
        account: Account::from_code(&account).ok_or_else(|| corrupt(&account))?,
        party: r.opt_uuid("party_id")?,
        amount: r.i64("amount_minor")?,
    })
}
