//! Invoices (migration 0027): several lines — procedures already charged when they were
//! completed, and medicines, products or services the invoice itself charges — with discounts
//! per line or on the total (a reason, and the permission to give one), taxes, and a number
//! per location given when the invoice is issued, without gaps.
//!
//! A draft posts nothing and can be changed. Issuing it posts, in one transaction with its
//! number: a charge for each item line, the tax, and one discount allocated to the lines it
//! discounts. Payments then pay the invoice's charges (`NewPosting::invoice`): the invoice is
//! issued, partly paid or paid according to what is still open on them. Voiding an invoice
//! nobody paid reverses what issuing posted; its number stays, marked void, and its procedures
//! can go on another invoice.

use std::collections::HashMap;

use domain::billing::invoice::{self, Cut, LineIn, Totals};
use domain::billing::{self, Entry, Line};
use domain::{DomainError, ErrorCode, FieldError, LocationId, PatientId, Scope};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;
use serde_json::json;

use crate::db::{DbError, DbResult, Q, Row};
use crate::ledger::PostingRow;
use crate::patients::{Actor, status_of};
use crate::tenancy::WriteError;
use crate::{Store, Txn};

/// What an invoice line is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// A completed procedure: its charge is already on the books.
    Procedure,
    Medicine,
    Product,
    Service,
}

impl LineKind {
    pub const ALL: [LineKind; 4] = [
        LineKind::Procedure,
        LineKind::Medicine,
        LineKind::Product,
        LineKind::Service,
    ];

    pub fn code(&self) -> &'static str {
        match self {
            LineKind::Procedure => "procedure",
            LineKind::Medicine => "medicine",
            LineKind::Product => "product",
            LineKind::Service => "service",
        }
    }

    pub fn from_code(c: &str) -> Option<LineKind> {
        LineKind::ALL.into_iter().find(|k| k.code() == c)
    }
}

/// Where an invoice stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Draft,
    Issued,
    PartlyPaid,
    Paid,
    Void,
}

impl InvoiceStatus {
    pub const ALL: [InvoiceStatus; 5] = [
        InvoiceStatus::Draft,
        InvoiceStatus::Issued,
        InvoiceStatus::PartlyPaid,
        InvoiceStatus::Paid,
        InvoiceStatus::Void,
    ];

    pub fn code(&self) -> &'static str {
        match self {
            InvoiceStatus::Draft => "draft",
            InvoiceStatus::Issued => "issued",
            InvoiceStatus::PartlyPaid => "partly_paid",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Void => "void",
        }
    }

    pub fn from_code(c: &str) -> Option<InvoiceStatus> {
        InvoiceStatus::ALL.into_iter().find(|k| k.code() == c)
    }
}

/// A line as asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DraftLine {
    pub kind: LineKind,
    /// For a procedure: its charge (the posting); its amount, code and name come from it.
    pub charge_id: Option<uuid::Uuid>,
    pub code: String,
    pub description: String,
    pub quantity: i64,
    /// Minor units.
    pub unit: i64,
    pub discount: Option<Cut>,
    pub discount_reason: String,
    /// Basis points (1300 = 13 %).
    pub tax_bp: i64,
}

impl DraftLine {
    /// A procedure's charge on the invoice, without discount or tax.
    pub fn procedure(charge: uuid::Uuid) -> DraftLine {
        DraftLine {
            kind: LineKind::Procedure,
            charge_id: Some(charge),
            code: String::new(),
            description: String::new(),
            quantity: 1,
            unit: 0,
            discount: None,
            discount_reason: String::new(),
            tax_bp: 0,
        }
    }

    /// An item the invoice charges.
    pub fn item(kind: LineKind, description: &str, quantity: i64, unit: i64) -> DraftLine {
        DraftLine {
            kind,
            charge_id: None,
            code: String::new(),
            description: description.to_string(),
            quantity,
            unit,
            discount: None,
            discount_reason: String::new(),
            tax_bp: 0,
        }
    }
}

/// An invoice as asked for (a new draft, or a draft's new content).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InvoiceDraft {
    /// The patient's location when not given.
    pub location: Option<LocationId>,
    pub lines: Vec<DraftLine>,
    pub discount: Option<Cut>,
    pub discount_reason: String,
    pub notes: String,
    pub due_on: Option<Date>,
}

/// A line of an invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InvoiceLine {
    pub n: i64,
    pub kind: LineKind,
    pub charge_id: Option<uuid::Uuid>,
    pub code: String,
    pub description: String,
    pub quantity: i64,
    pub unit: i64,
    pub discount: Option<Cut>,
    pub discount_reason: String,
    pub tax_bp: i64,
    pub gross: i64,
    /// Its own discount and its share of the total's.
    pub discount_amount: i64,
    pub tax: i64,
    pub total: i64,
}

/// An invoice with where it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Invoice {
    pub id: uuid::Uuid,
    pub location_id: LocationId,
    pub patient_id: PatientId,
    pub patient_name: String,
    /// Given when issued, per location, without gaps.
    pub number: Option<i64>,
    /// The number as printed, e.g. `INV-000042`.
    pub label: Option<String>,
    pub status: InvoiceStatus,
    pub currency: String,
    pub lines: Vec<InvoiceLine>,
    pub discount: Option<Cut>,
    pub discount_reason: String,
    pub subtotal: i64,
    pub discount_amount: i64,
    pub tax: i64,
    pub total: i64,
    /// Paid on its charges (payments and credit used), minor units.
    pub paid: i64,
    /// Still to pay.
    pub due: i64,
    pub notes: String,
    pub issued_on: Option<Date>,
    pub due_on: Option<Date>,
    pub created_at: Timestamp,
    pub created_by_name: String,
    pub issued_by_name: Option<String>,
    pub voided_at: Option<Timestamp>,
    pub voided_by_name: Option<String>,
    pub void_reason: Option<String>,
}

/// A location's invoicing: the prefix of its numbers and the tax it charges by default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InvoiceSettings {
    pub prefix: String,
    /// E.g. `HST`, `TVA`; empty for none.
    pub tax_label: String,
    pub tax_rate_bp: i64,
}

impl Default for InvoiceSettings {
    fn default() -> Self {
        InvoiceSettings {
            prefix: "INV-".into(),
            tax_label: String::new(),
            tax_rate_bp: 0,
        }
    }
}

/// Which invoices to list.
#[derive(Clone, Debug, Default)]
pub struct InvoiceFilter {
    pub patient: Option<PatientId>,
    pub location: Option<LocationId>,
    /// Stored statuses: `draft`, `issued` (whatever was paid), `void`.
    pub stored_status: Option<&'static str>,
    pub limit: i64,
}

fn refused(field: &str, m: impl Into<String>) -> WriteError {
    WriteError::Invalid(DomainError::field(field, m))
}

fn conflict(m: impl Into<String>) -> WriteError {
    WriteError::Invalid(DomainError::new(ErrorCode::Conflict, m))
}

fn corrupt(e: impl std::fmt::Display) -> DbError {
    DbError::Corrupt(e.to_string())
}

fn money(minor: i64, cur: &str) -> String {
    match domain::Currency::from_code(cur) {
        Ok(c) => domain::Money::from_minor(minor, c).to_string(),
        Err(_) => format!("{minor} {cur}"),
    }
}

const NOT_ALLOWED: &str = "giving a discount needs the billing.adjust permission";

impl Store {
    /// A location's invoicing settings (the defaults when never set).
    pub async fn invoice_settings(
        &self,
        scope: &Scope,
        location: LocationId,
    ) -> DbResult<InvoiceSettings> {
        let r = self
            .db
            .fetch_optional(
                Q::new("SELECT * FROM invoice_settings WHERE org_id = $1 AND location_id = $2")
                    .bind(scope.org())
                    .bind(location),
            )
            .await?;
        Ok(match r {
            Some(r) => InvoiceSettings {
                prefix: r.string("prefix")?,
                tax_label: r.string("tax_label")?,
                tax_rate_bp: r.i64("tax_rate_bp")?,
            },
            None => InvoiceSettings::default(),
        })
    }

    /// Sets a location's invoicing (numbers already given keep their prefix); audited.
    pub async fn set_invoice_settings(
        &self,
        scope: &Scope,
        actor: &Actor,
        location: LocationId,
        s: &InvoiceSettings,
    ) -> Result<(), WriteError> {
        let mut errors = Vec::new();
        let prefix = s.prefix.trim();
        if prefix.chars().count() > 12
            || !prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '/')
        {
            errors.push(FieldError {
                field: "prefix".into(),
                message: "up to 12 letters, digits, - or /".into(),
            });
        }
        if s.tax_label.trim().chars().count() > 20 {
            errors.push(FieldError {
                field: "tax_label".into(),
                message: "at most 20 characters".into(),
            });
        }
        if !(0..=10_000).contains(&s.tax_rate_bp) {
            errors.push(FieldError {
                field: "tax_rate".into(),
                message: "between 0 and 100 %".into(),
            });
        }
        if !errors.is_empty() {
            return Err(WriteError::Invalid(DomainError::validation(errors)));
        }
        self.location(scope, location)
            .await?
            .ok_or_else(|| refused("location_id", "no such location"))?;
        let mut tx = self.begin().await?;
        tx.execute(
            Q::new(
                "INSERT INTO invoice_settings (org_id, location_id, prefix, tax_label, tax_rate_bp) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (org_id, location_id) DO UPDATE SET prefix = excluded.prefix, tax_label = excluded.tax_label, \
                 tax_rate_bp = excluded.tax_rate_bp",
            )
            .bind(scope.org())
            .bind(location)
            .bind(prefix)
            .bind(s.tax_label.trim())
            .bind(s.tax_rate_bp),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "invoice.settings_changed",
                None,
                &format!("location:{location}"),
                json!({ "prefix": prefix, "tax_label": s.tax_label.trim(), "tax_rate_bp": s.tax_rate_bp }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A patient's charges that are on no invoice (but a void one), oldest first: what a new
    /// invoice can list.
    pub async fn uninvoiced_charges(
        &self,
        scope: &Scope,
        patient: PatientId,
    ) -> Result<Vec<crate::ledger::Posting>, WriteError> {
        self.patient_summary(scope, patient).await?;
        let rows = self
            .db
            .fetch_all(
                Q::new(
                    "SELECT c.id FROM ledger_postings c WHERE c.org_id = $1 AND c.patient_id = $2 AND c.kind = 'charge' \
                     AND NOT EXISTS (SELECT 1 FROM ledger_postings r WHERE r.reverses = c.id) \
                     AND NOT EXISTS (SELECT 1 FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id \
                       WHERE l.charge_id = c.id AND i.status <> 'void') \
                     ORDER BY c.posted_on, c.seq LIMIT 500",
                )
                .bind(scope.org())
                .bind(patient),
            )
            .await?;
        let ids = rows
            .iter()
            .map(|r| r.uuid("id"))
            .collect::<DbResult<Vec<_>>>()?;
        self.postings_by_ids(scope, &ids).await
    }

    /// Starts an invoice as a draft (nothing posted); audited.
    pub async fn create_invoice(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
        draft: &InvoiceDraft,
        may_discount: bool,
    ) -> Result<Invoice, WriteError> {
        let mut tx = self.begin().await?;
        let row = tx.patient_row(scope, patient).await?;
        if status_of(&row)? == domain::patients::PatientStatus::Merged {
            return Err(refused(
                "patient_id",
                "this record was merged into another; invoice there",
            ));
        }
        let location = match draft.location {
            Some(l) => l,
            None => LocationId::from_uuid(row.uuid("location_id")?),
        };
        let loc = self
            .location(scope, location)
            .await?
            .ok_or_else(|| refused("location_id", "no such location"))?;
        let id = self.new_uuid();
        let now = self.now();
        tx.execute(
            Q::new(
                "INSERT INTO invoices (id, org_id, location_id, patient_id, status, currency, discount_reason, notes, \
                 subtotal_minor, discount_minor, tax_minor, total_minor, created_at, created_by_name, updated_at) \
                 VALUES ($1, $2, $3, $4, 'draft', $5, '', '', 0, 0, 0, 0, $6, $7, $6)",
            )
            .bind(id)
            .bind(scope.org())
            .bind(location)
            .bind(patient)
            .bind(loc.currency.code())
            .bind(now)
            .bind(actor.name.as_str()),
        )
        .await?;
        tx.save_draft(self, scope, id, patient, draft, may_discount)
            .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "invoice.created",
                Some(patient),
                &format!("invoice:{id}"),
                json!({ "lines": draft.lines.len() }),
            ),
        )
        .await?;
        tx.commit().await?;
        self.invoice_unaudited(scope, id).await
    }

    /// Changes a draft (lines, discount, notes, due date); an issued invoice is not changed
    /// (void it and make another). Audited.
    pub async fn update_invoice(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: uuid::Uuid,
        draft: &InvoiceDraft,
        may_discount: bool,
    ) -> Result<Invoice, WriteError> {
        let mut tx = self.begin().await?;
        let head = tx.invoice_head(scope, id).await?;
        if head.string("status")? != "draft" {
            return Err(conflict(
                "an issued invoice is not changed: void it and issue another",
            ));
        }
        let patient = PatientId::from_uuid(head.uuid("patient_id")?);
        tx.save_draft(self, scope, id, patient, draft, may_discount)
            .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "invoice.changed",
                Some(patient),
                &format!("invoice:{id}"),
                json!({ "lines": draft.lines.len() }),
            ),
        )
        .await?;
        tx.commit().await?;
        self.invoice_unaudited(scope, id).await
    }

    /// Issues a draft: its number (the location's next, without gaps) and, in the same
    /// transaction, its postings — a charge per item line, the tax, the discounts. An issued
    /// invoice is returned as it is (issuing twice posts once). Refused
    /// with nothing posted: a draft without lines, a procedure charge that was reversed or
    /// went on another invoice since, a discount larger than what is still open on a line,
    /// today's books closed.
    pub async fn issue_invoice(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: uuid::Uuid,
        may_discount: bool,
    ) -> Result<Invoice, WriteError> {
        let mut tx = self.begin().await?;
        tx.lock_books(scope.org()).await?;
        let head = tx.invoice_head(scope, id).await?;
        match head.string("status")?.as_str() {
            "draft" => {}
            // Issuing again changes nothing (a retried request gets the invoice).
            "issued" => {
                tx.commit().await?;
                return self.invoice_unaudited(scope, id).await;
            }
            _ => return Err(conflict("a void invoice is not issued")),
        }
        let patient = PatientId::from_uuid(head.uuid("patient_id")?);
        let location = LocationId::from_uuid(head.uuid("location_id")?);
        let loc = self
            .location(scope, location)
            .await?
            .ok_or_else(|| refused("location_id", "no such location"))?;
        let cur = head.string("currency")?;
        if cur != loc.currency.code() {
            return Err(refused(
                "currency",
                format!(
                    "the books of {} are kept in {} now; save the draft again",
                    loc.name,
                    loc.currency.code()
                ),
            ));
        }
        let today = self.now().to_zoned(loc.tz()?).date();
        if tx.day_closed(scope.org(), location, today).await? {
            return Err(conflict(format!(
                "today's books are closed at {}",
                loc.name
            )));
        }
        let lines = tx.invoice_lines(id).await?;
        if lines.is_empty() {
            return Err(refused("lines", "an invoice lists at least one line"));
        }
        let discount = head.i64("discount_minor")?;
        if discount > 0 && !may_discount {
            return Err(WriteError::Invalid(DomainError::new(
                ErrorCode::Forbidden,
                NOT_ALLOWED,
            )));
        }
        let settings = self.invoice_settings(scope, location).await?;
        // The location's next number, taken under the books' lock: no gap, no twice.
        tx.execute(
            Q::new(
                "INSERT INTO invoice_counters (org_id, location_id, next_number) VALUES ($1, $2, 1) \
                 ON CONFLICT (org_id, location_id) DO NOTHING",
            )
            .bind(scope.org())
            .bind(location),
        )
        .await?;
        let number = tx
            .fetch_one(
                Q::new(
                    "UPDATE invoice_counters SET next_number = next_number + 1 WHERE org_id = $1 AND location_id = $2 \
                     RETURNING next_number - 1 AS n",
                )
                .bind(scope.org())
                .bind(location),
            )
            .await?
            .i64("n")?;
        let label = format!("{}{number:06}", settings.prefix);
        // What each line's charge is, and what its discount takes off it.
        let mut discounts: Vec<(uuid::Uuid, i64)> = Vec::new();
        for l in &lines {
            let charge = match l.charge_id {
                Some(c) => {
                    // Still a live charge of this patient, on no other invoice.
                    tx.check_procedure_charge(scope, id, patient, c).await?;
                    let open = tx.open_on(c).await?;
                    if l.discount_amount > open {
                        return Err(refused(
                            &format!("lines[{}].discount", l.n),
                            format!(
                                "only {} of this procedure is still to pay; the discount cannot be more",
                                money(open, &cur)
                            ),
                        ));
                    }
                    c
                }
                None => {
                    let reason = format!("{label}: {}", l.description);
                    let c = tx
                        .issue_entry(
                            self,
                            scope,
                            actor,
                            (location, patient, &cur, today),
                            Entry::Charge { amount: l.gross },
                            (&reason, &label),
                            &[],
                        )
                        .await?;
                    tx.execute(
                        Q::new(
                            "UPDATE invoice_lines SET charge_id = $1 WHERE invoice_id = $2 AND n = $3",
                        )
                        .bind(c)
                        .bind(id)
                        .bind(l.n),
                    )
                    .await?;
                    c
                }
            };
            if l.discount_amount > 0 {
                discounts.push((charge, l.discount_amount));
            }
        }
        let tax = head.i64("tax_minor")?;
        let tax_posting = if tax > 0 {
            let reason = format!("{label}: tax");
            Some(
                tx.issue_entry(
                    self,
                    scope,
                    actor,
                    (location, patient, &cur, today),
                    Entry::Tax { amount: tax },
                    (&reason, &label),
                    &[],
                )
                .await?,
            )
        } else {
            None
        };
        let discount_posting = if discount > 0 {
            let why = head.string("discount_reason")?;
            let mut reasons: Vec<String> = lines
                .iter()
                .filter(|l| l.discount.is_some())
                .map(|l| l.discount_reason.clone())
                .collect();
            if !why.is_empty() {
                reasons.insert(0, why);
            }
            reasons.dedup();
            let reason = format!("{label}: {}", reasons.join("; "));
            Some(
                tx.issue_entry(
                    self,
                    scope,
                    actor,
                    (location, patient, &cur, today),
                    Entry::Discount { amount: discount },
                    (&reason, &label),
                    &discounts,
                )
                .await?,
            )
        } else {
            None
        };
        let n = tx
            .execute(
                Q::new(
                    "UPDATE invoices SET status = 'issued', number = $1, label = $2, issued_on = $3, issued_at = $4, \
                     issued_by_name = $5, tax_posting_id = $6, discount_posting_id = $7, updated_at = $4 \
                     WHERE id = $8 AND status = 'draft'",
                )
                .bind(number)
                .bind(label.as_str())
                .bind(today.to_string())
                .bind(self.now())
                .bind(actor.name.as_str())
                .bind(tax_posting)
                .bind(discount_posting)
                .bind(id),
            )
            .await?;
        if n != 1 {
            return Err(conflict("this invoice was issued already"));
        }
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "invoice.issued",
                Some(patient),
                &format!("invoice:{id}"),
                json!({ "number": label, "total": head.i64("total_minor")?, "discount": discount, "tax": tax }),
            ),
        )
        .await?;
        tx.publish(
            self,
            Some(scope.org()),
            "invoice.changed",
            json!({ "invoice_id": id, "patient_id": patient, "status": "issued" }),
        )
        .await?;
        tx.commit().await?;
        self.invoice_unaudited(scope, id).await
    }

    /// Voids an invoice: a draft simply; an issued one nobody paid by reversing what issuing
    /// posted (today). Its number stays, marked void. Refused: a reason missing, an invoice
    /// something was paid on (reverse or refund the payment first), one void already.
    pub async fn void_invoice(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: uuid::Uuid,
        reason: &str,
    ) -> Result<Invoice, WriteError> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(refused("reason", "say why, in at most 500 characters"));
        }
        let mut tx = self.begin().await?;
        tx.lock_books(scope.org()).await?;
        let head = tx.invoice_head(scope, id).await?;
        let status = head.string("status")?;
        if status == "void" {
            return Err(conflict("this invoice is void already"));
        }
        let patient = PatientId::from_uuid(head.uuid("patient_id")?);
        let location = LocationId::from_uuid(head.uuid("location_id")?);
        if status == "issued" {
            let (paid, _) = tx.paid_and_open(scope, &[id]).await?;
            let paid = paid.get(&id).copied().unwrap_or(0);
            let cur = head.string("currency")?;
            if paid > 0 {
                return Err(conflict(format!(
                    "{} was paid on this invoice: reverse or refund the payment first",
                    money(paid, &cur)
                )));
            }
            let loc = self
                .location(scope, location)
                .await?
                .ok_or_else(|| refused("location_id", "no such location"))?;
            let today = self.now().to_zoned(loc.tz()?).date();
            if tx.day_closed(scope.org(), location, today).await? {
                return Err(conflict(format!(
                    "today's books are closed at {}",
                    loc.name
                )));
            }
            // The discount first (it pays the charges), then the tax and the item charges.
            let mut undo = Vec::new();
            undo.extend(head.opt_uuid("discount_posting_id")?);
            undo.extend(head.opt_uuid("tax_posting_id")?);
            for l in tx.invoice_lines(id).await? {
                if l.kind != LineKind::Procedure
                    && let Some(c) = l.charge_id
                {
                    undo.push(c);
                }
            }
            let why = format!(
                "{} void: {reason}",
                head.opt_string("label")?.unwrap_or_default()
            );
            for p in undo {
                tx.reverse_in(self, scope, actor, p, today, &why).await?;
            }
        }
        tx.execute(
            Q::new(
                "UPDATE invoices SET status = 'void', voided_at = $1, voided_by_name = $2, void_reason = $3, updated_at = $1 \
                 WHERE id = $4",
            )
            .bind(self.now())
            .bind(actor.name.as_str())
            .bind(reason)
            .bind(id),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "invoice.voided",
                Some(patient),
                &format!("invoice:{id}"),
                json!({ "was": status, "reason": reason }),
            ),
        )
        .await?;
        tx.publish(
            self,
            Some(scope.org()),
            "invoice.changed",
            json!({ "invoice_id": id, "patient_id": patient, "status": "void" }),
        )
        .await?;
        tx.commit().await?;
        self.invoice_unaudited(scope, id).await
    }

    /// One invoice with its lines and where it stands; audited.
    pub async fn invoice(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: uuid::Uuid,
    ) -> Result<Invoice, WriteError> {
        let inv = self.invoice_unaudited(scope, id).await?;
        self.audit_once(
            scope,
            actor,
            "invoice.read",
            Some(inv.patient_id),
            &format!("invoice:{id}"),
            json!({}),
        )
        .await?;
        Ok(inv)
    }

    /// Invoices, newest first (without their lines); the patients shown are audited.
    pub async fn invoices(
        &self,
        scope: &Scope,
        actor: &Actor,
        filter: &InvoiceFilter,
    ) -> Result<Vec<Invoice>, WriteError> {
        let limit = filter.limit.clamp(1, 500);
        // Only the filters asked for (PostgreSQL cannot type a parameter that is only
        // compared with NULL).
        let mut sql = String::from(
            "SELECT i.*, p.given_name, p.family_name, p.preferred_name FROM invoices i \
             JOIN patients p ON p.id = i.patient_id WHERE i.org_id = $1",
        );
        let mut n = 1;
        let mut next = |col: &str, sql: &mut String| {
            n += 1;
            sql.push_str(&format!(" AND i.{col} = ${n}"));
        };
        if filter.patient.is_some() {
            next("patient_id", &mut sql);
        }
        if filter.location.is_some() {
            next("location_id", &mut sql);
        }
        if filter.stored_status.is_some() {
            next("status", &mut sql);
        }
        sql.push_str(&format!(" ORDER BY i.created_at DESC LIMIT ${}", n + 1));
        let mut q = Q::generated(sql).bind(scope.org());
        if let Some(p) = filter.patient {
            q = q.bind(p);
        }
        if let Some(l) = filter.location {
            q = q.bind(l);
        }
        if let Some(st) = filter.stored_status {
            q = q.bind(st);
        }
        let rows = self.db.fetch_all(q.bind(limit)).await?;
        let mut out = rows
            .iter()
            .map(|r| invoice_from(r, Vec::new()))
            .collect::<Result<Vec<_>, WriteError>>()?;
        let ids: Vec<uuid::Uuid> = out
            .iter()
            .filter(|i| i.status == InvoiceStatus::Issued)
            .map(|i| i.id)
            .collect();
        let mut tx = self.begin().await?;
        let (paid, open) = tx.paid_and_open(scope, &ids).await?;
        tx.commit().await?;
        for i in &mut out {
            settle(i, &paid, &open);
        }
        let mut patients: Vec<PatientId> = out.iter().map(|i| i.patient_id).collect();
        patients.sort();
        patients.dedup();
        self.audit_listed_ids(
            scope,
            actor,
            "invoice.list_read",
            &patients,
            json!({ "invoices": out.len() }),
        )
        .await?;
        Ok(out)
    }

    async fn invoice_unaudited(
        &self,
        scope: &Scope,
        id: uuid::Uuid,
    ) -> Result<Invoice, WriteError> {
        let mut tx = self.begin().await?;
        let r = tx
            .fetch_optional(
                Q::new(
                    "SELECT i.*, p.given_name, p.family_name, p.preferred_name FROM invoices i JOIN patients p ON p.id = i.patient_id \
                     WHERE i.id = $1 AND i.org_id = $2",
                )
                .bind(id)
                .bind(scope.org()),
            )
            .await?
            .ok_or_else(|| WriteError::Invalid(DomainError::not_found("invoice")))?;
        let lines = tx.invoice_lines(id).await?;
        let mut inv = invoice_from(&r, lines)?;
        if inv.status == InvoiceStatus::Issued {
            let (paid, open) = tx.paid_and_open(scope, &[id]).await?;
            settle(&mut inv, &paid, &open);
        }
        tx.commit().await?;
        if !scope.allows_location(inv.location_id) {
            return Err(WriteError::Invalid(DomainError::not_found("invoice")));
        }
        Ok(inv)
    }
}

/// Sets what was paid and what is due, and the status it makes.
fn settle(i: &mut Invoice, paid: &HashMap<uuid::Uuid, i64>, open: &HashMap<uuid::Uuid, i64>) {
    if i.status != InvoiceStatus::Issued {
        return;
    }
    i.paid = paid.get(&i.id).copied().unwrap_or(0);
    i.due = open.get(&i.id).copied().unwrap_or(0).max(0);
    i.status = if i.due == 0 {
        InvoiceStatus::Paid
    } else if i.paid > 0 {
        InvoiceStatus::PartlyPaid
    } else {
        InvoiceStatus::Issued
    };
}

fn lines_of(e: Entry, patient: PatientId) -> Result<Vec<Line>, WriteError> {
    e.lines(patient.as_uuid()).map_err(WriteError::Invalid)
}

fn date_opt(r: &Row, col: &str) -> DbResult<Option<Date>> {
    r.opt_string(col)?
        .map(|s| s.parse().map_err(corrupt))
        .transpose()
}

fn cut_of(r: &Row, kind: &str, value: &str) -> DbResult<Option<Cut>> {
    match (r.opt_string(kind)?, r.opt_i64(value)?) {
        (Some(k), Some(v)) => Ok(Some(Cut::from_parts(&k, v).ok_or_else(|| corrupt(&k))?)),
        _ => Ok(None),
    }
}

fn invoice_from(r: &Row, lines: Vec<InvoiceLine>) -> Result<Invoice, WriteError> {
    let status = r.string("status")?;
    let total = r.i64("total_minor")?;
    let status = InvoiceStatus::from_code(&status).ok_or_else(|| corrupt(&status))?;
    Ok(Invoice {
        id: r.uuid("id")?,
        location_id: LocationId::from_uuid(r.uuid("location_id")?),
        patient_id: PatientId::from_uuid(r.uuid("patient_id")?),
        patient_name: domain::patients::display_name(
            &r.string("given_name")?,
            &r.string("family_name")?,
            &r.string("preferred_name")?,
        ),
        number: r.opt_i64("number")?,
        label: r.opt_string("label")?,
        status,
        currency: r.string("currency")?,
        lines,
        discount: cut_of(r, "discount_kind", "discount_value")?,
        discount_reason: r.string("discount_reason")?,
        subtotal: r.i64("subtotal_minor")?,
        discount_amount: r.i64("discount_minor")?,
        tax: r.i64("tax_minor")?,
        total,
        paid: 0,
        due: if status == InvoiceStatus::Draft {
            total
        } else {
            0
        },
        notes: r.string("notes")?,
        issued_on: date_opt(r, "issued_on")?,
        due_on: date_opt(r, "due_on")?,
        created_at: r.ts("created_at")?,
        created_by_name: r.string("created_by_name")?,
        issued_by_name: r.opt_string("issued_by_name")?,
        voided_at: r.opt_ts("voided_at")?,
        voided_by_name: r.opt_string("voided_by_name")?,
        void_reason: r.opt_string("void_reason")?,
    })
}

impl Txn {
    /// Posts one entry an invoice issues (an item's charge, the tax, the discount): on the
    /// invoice's location, patient, currency and day (`at`), with its reason and the
    /// invoice's number as reference (`why`).
    #[allow(clippy::too_many_arguments)]
    async fn issue_entry(
        &mut self,
        store: &Store,
        scope: &Scope,
        actor: &Actor,
        at: (LocationId, PatientId, &str, Date),
        entry: Entry,
        why: (&str, &str),
        allocations: &[(uuid::Uuid, i64)],
    ) -> Result<uuid::Uuid, WriteError> {
        let (location, patient, currency, on) = at;
        let lines = lines_of(entry.clone(), patient)?;
        Ok(self
            .insert_posting(
                store,
                scope,
                actor,
                PostingRow {
                    location,
                    patient,
                    kind: entry.code(),
                    amount: entry.amount(),
                    currency,
                    method: None,
                    on,
                    reason: why.0,
                    reference: why.1,
                    reverses: None,
                    procedure: None,
                    provider: None,
                    transfer_to: None,
                    plan: None,
                },
                &lines,
                allocations,
            )
            .await?)
    }

    async fn invoice_head(&mut self, scope: &Scope, id: uuid::Uuid) -> Result<Row, WriteError> {
        let r = self
            .fetch_optional(
                Q::new("SELECT * FROM invoices WHERE id = $1 AND org_id = $2")
                    .bind(id)
                    .bind(scope.org()),
            )
            .await?
            .ok_or_else(|| WriteError::Invalid(DomainError::not_found("invoice")))?;
        if !scope.allows_location(LocationId::from_uuid(r.uuid("location_id")?)) {
            return Err(WriteError::Invalid(DomainError::not_found("invoice")));
        }
        Ok(r)
    }

    async fn invoice_lines(&mut self, id: uuid::Uuid) -> Result<Vec<InvoiceLine>, WriteError> {
        let rows = self
            .fetch_all(
                Q::new("SELECT * FROM invoice_lines WHERE invoice_id = $1 ORDER BY n").bind(id),
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let kind = r.string("kind")?;
            out.push(InvoiceLine {
                n: r.i64("n")?,
                kind: LineKind::from_code(&kind).ok_or_else(|| corrupt(&kind))?,
                charge_id: r.opt_uuid("charge_id")?,
                code: r.string("code")?,
                description: r.string("description")?,
                quantity: r.i64("quantity")?,
                unit: r.i64("unit_minor")?,
                discount: cut_of(r, "discount_kind", "discount_value")?,
                discount_reason: r.string("discount_reason")?,
                tax_bp: r.i64("tax_bp")?,
                gross: r.i64("gross_minor")?,
                discount_amount: r.i64("discount_minor")?,
                tax: r.i64("tax_minor")?,
                total: r.i64("total_minor")?,
            });
        }
        Ok(out)
    }

    /// Refused unless `charge` is a live charge of `patient` on no invoice but `invoice` (or
    /// a void one).
    async fn check_procedure_charge(
        &mut self,
        scope: &Scope,
        invoice: uuid::Uuid,
        patient: PatientId,
        charge: uuid::Uuid,
    ) -> Result<Row, WriteError> {
        let c = self
            .fetch_optional(
                Q::new(
                    "SELECT c.*, (SELECT MIN(i.label) FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id \
                       WHERE l.charge_id = c.id AND i.status <> 'void' AND i.id <> $3) AS other, \
                     (SELECT COUNT(*) FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id \
                       WHERE l.charge_id = c.id AND i.status <> 'void' AND i.id <> $3) AS others, \
                     EXISTS (SELECT 1 FROM ledger_postings r WHERE r.reverses = c.id) AS reversed \
                     FROM ledger_postings c WHERE c.id = $1 AND c.org_id = $2 AND c.kind = 'charge'",
                )
                .bind(charge)
                .bind(scope.org())
                .bind(invoice),
            )
            .await?
            .ok_or_else(|| refused("lines", "not a charge on the books"))?;
        if c.uuid("patient_id")? != patient.as_uuid() {
            return Err(refused("lines", "a charge of another patient"));
        }
        if c.bool("reversed")? {
            return Err(conflict(
                "a charge on this invoice was reversed (the work was voided); save the draft again",
            ));
        }
        if c.i64("others")? > 0 {
            return Err(conflict(format!(
                "{} is on another invoice already ({})",
                c.string("reference")?,
                c.opt_string("other")?.unwrap_or_else(|| "a draft".into())
            )));
        }
        Ok(c)
    }

    /// What is still to pay on a charge (its amount less what paid or discounted it).
    async fn open_on(&mut self, charge: uuid::Uuid) -> DbResult<i64> {
        self.fetch_one(
            Q::new(
                "SELECT c.amount_minor - CAST(COALESCE((SELECT SUM(a.amount_minor) FROM ledger_allocations a \
                   WHERE a.charge_id = c.id AND NOT EXISTS (SELECT 1 FROM ledger_postings r WHERE r.reverses = a.posting_id)), 0) AS BIGINT) AS open \
                 FROM ledger_postings c WHERE c.id = $1",
            )
            .bind(charge),
        )
        .await?
        .i64("open")
    }

    /// Per issued invoice: what payments (and credit used) paid on its charges, and what is
    /// still open on them.
    pub(crate) async fn paid_and_open(
        &mut self,
        scope: &Scope,
        ids: &[uuid::Uuid],
    ) -> DbResult<(HashMap<uuid::Uuid, i64>, HashMap<uuid::Uuid, i64>)> {
        let mut paid = HashMap::new();
        let mut open = HashMap::new();
        for chunk in ids.chunks(200) {
            let marks = (0..chunk.len())
                .map(|i| format!("${}", i + 2))
                .collect::<Vec<_>>()
                .join(", ");
            let mut q = Q::generated(format!(
                "SELECT x.invoice_id, c.amount_minor, c.id AS charge_id, \
                 CAST(COALESCE((SELECT SUM(a.amount_minor) FROM ledger_allocations a JOIN ledger_postings ap ON ap.id = a.posting_id \
                   WHERE a.charge_id = c.id AND ap.kind IN ('payment', 'apply_credit') \
                   AND NOT EXISTS (SELECT 1 FROM ledger_postings r WHERE r.reverses = ap.id)), 0) AS BIGINT) AS paid, \
                 CAST(COALESCE((SELECT SUM(a.amount_minor) FROM ledger_allocations a \
                   WHERE a.charge_id = c.id AND NOT EXISTS (SELECT 1 FROM ledger_postings r WHERE r.reverses = a.posting_id)), 0) AS BIGINT) AS settled, \
                 EXISTS (SELECT 1 FROM ledger_postings r WHERE r.reverses = c.id) AS reversed \
                 FROM (SELECT invoice_id, charge_id FROM invoice_lines WHERE org_id = $1 AND charge_id IS NOT NULL AND invoice_id IN ({marks}) \
                   UNION ALL SELECT id, tax_posting_id FROM invoices WHERE org_id = $1 AND tax_posting_id IS NOT NULL AND id IN ({marks})) x \
                 JOIN ledger_postings c ON c.id = x.charge_id"
            ))
            .bind(scope.org());
            for id in chunk {
                q = q.bind(*id);
            }
            for r in self.fetch_all(q).await? {
                let inv = r.uuid("invoice_id")?;
                *paid.entry(inv).or_insert(0) += r.i64("paid")?;
                let left = if r.bool("reversed")? {
                    0
                } else {
                    r.i64("amount_minor")? - r.i64("settled")?
                };
                *open.entry(inv).or_insert(0) += left;
            }
        }
        Ok((paid, open))
    }

    /// Writes a draft's content: its lines, computed exactly, and its totals.
    async fn save_draft(
        &mut self,
        store: &Store,
        scope: &Scope,
        id: uuid::Uuid,
        patient: PatientId,
        d: &InvoiceDraft,
        may_discount: bool,
    ) -> Result<Totals, WriteError> {
        let mut errors = Vec::new();
        if d.lines.is_empty() {
            errors.push(FieldError {
                field: "lines".into(),
                message: "an invoice lists at least one line".into(),
            });
        }
        if d.lines.len() > 200 {
            errors.push(FieldError {
                field: "lines".into(),
                message: "at most 200 lines".into(),
            });
        }
        if d.notes.chars().count() > 2000 {
            errors.push(FieldError {
                field: "notes".into(),
                message: "at most 2000 characters".into(),
            });
        }
        let discounted = d.discount.is_some_and(|c| c.value() > 0)
            || d.lines
                .iter()
                .any(|l| l.discount.is_some_and(|c| c.value() > 0));
        if discounted && !may_discount {
            return Err(WriteError::Invalid(DomainError::new(
                ErrorCode::Forbidden,
                NOT_ALLOWED,
            )));
        }
        if d.discount.is_some_and(|c| c.value() > 0) && d.discount_reason.trim().is_empty() {
            errors.push(FieldError {
                field: "discount_reason".into(),
                message: "say why the discount is given".into(),
            });
        }
        // Each line, with a procedure's amount, code and name from its charge.
        let mut resolved = Vec::with_capacity(d.lines.len());
        for (i, l) in d.lines.iter().enumerate() {
            let mut l = l.clone();
            if l.discount.is_some_and(|c| c.value() > 0) && l.discount_reason.trim().is_empty() {
                errors.push(FieldError {
                    field: format!("lines[{i}].discount_reason"),
                    message: "say why the discount is given".into(),
                });
            }
            if l.discount.is_some_and(|c| c.value() == 0) {
                l.discount = None;
            }
            match (l.kind, l.charge_id) {
                (LineKind::Procedure, Some(c)) => {
                    let row = self.check_procedure_charge(scope, id, patient, c).await?;
                    l.quantity = 1;
                    l.unit = row.i64("amount_minor")?;
                    l.code = row.string("reference")?;
                    if resolved.iter().any(|o: &DraftLine| o.charge_id == Some(c)) {
                        errors.push(FieldError {
                            field: format!("lines[{i}]"),
                            message: "this procedure is listed twice".into(),
                        });
                    }
                    let name = self
                        .fetch_optional(
                            Q::new(
                                "SELECT name FROM procedure_codes WHERE org_id = $1 AND code = $2",
                            )
                            .bind(scope.org())
                            .bind(l.code.as_str()),
                        )
                        .await?
                        .map(|r| r.string("name"))
                        .transpose()?;
                    l.description =
                        name.unwrap_or_else(|| row.string("reason").unwrap_or_default());
                }
                (LineKind::Procedure, None) => errors.push(FieldError {
                    field: format!("lines[{i}]"),
                    message: "a procedure line names the procedure's charge".into(),
                }),
                (_, Some(_)) => errors.push(FieldError {
                    field: format!("lines[{i}]"),
                    message: "only a procedure line names a charge".into(),
                }),
                (_, None) => {
                    l.description = l.description.trim().to_string();
                    l.code = l.code.trim().to_string();
                    if l.description.is_empty() || l.description.chars().count() > 200 {
                        errors.push(FieldError {
                            field: format!("lines[{i}].description"),
                            message: "say what it is, in at most 200 characters".into(),
                        });
                    }
                    if l.code.chars().count() > 20 {
                        errors.push(FieldError {
                            field: format!("lines[{i}].code"),
                            message: "at most 20 characters".into(),
                        });
                    }
                    if l.unit == 0 {
                        errors.push(FieldError {
                            field: format!("lines[{i}].unit"),
                            message: "a line costs something (remove it otherwise)".into(),
                        });
                    }
                }
            }
            if l.discount_reason.chars().count() > 200 {
                errors.push(FieldError {
                    field: format!("lines[{i}].discount_reason"),
                    message: "at most 200 characters".into(),
                });
            }
            resolved.push(l);
        }
        let ins: Vec<LineIn> = resolved
            .iter()
            .map(|l| LineIn {
                quantity: l.quantity,
                unit: l.unit,
                discount: l.discount,
                tax_bp: l.tax_bp,
            })
            .collect();
        let discount = d.discount.filter(|c| c.value() > 0);
        let totals = match invoice::compute(&ins, discount) {
            Ok(t) => Some(t),
            Err(e) => {
                errors.extend(e.fields);
                None
            }
        };
        if !errors.is_empty() {
            return Err(WriteError::Invalid(DomainError::validation(errors)));
        }
        let Some(totals) = totals else {
            return Err(refused("lines", "the invoice does not add up"));
        };
        self.execute(Q::new("DELETE FROM invoice_lines WHERE invoice_id = $1").bind(id))
            .await?;
        for (n, (l, t)) in resolved.iter().zip(&totals.lines).enumerate() {
            self.execute(
                Q::new(
                    "INSERT INTO invoice_lines (invoice_id, n, org_id, kind, charge_id, code, description, quantity, unit_minor, \
                     discount_kind, discount_value, discount_reason, tax_bp, gross_minor, discount_minor, tax_minor, total_minor) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
                )
                .bind(id)
                .bind(n as i64)
                .bind(scope.org())
                .bind(l.kind.code())
                .bind(l.charge_id)
                .bind(l.code.as_str())
                .bind(l.description.as_str())
                .bind(l.quantity)
                .bind(l.unit)
                .bind(l.discount.map(|c| c.code()))
                .bind(l.discount.map(|c| c.value()))
                .bind(l.discount_reason.trim())
                .bind(l.tax_bp)
                .bind(t.gross)
                .bind(t.discount())
                .bind(t.tax)
                .bind(t.total),
            )
            .await?;
        }
        self.execute(
            Q::new(
                "UPDATE invoices SET discount_kind = $1, discount_value = $2, discount_reason = $3, notes = $4, due_on = $5, \
                 subtotal_minor = $6, discount_minor = $7, tax_minor = $8, total_minor = $9, updated_at = $10 WHERE id = $11",
            )
            .bind(discount.map(|c| c.code()))
            .bind(discount.map(|c| c.value()))
            .bind(if discount.is_some() { d.discount_reason.trim() } else { "" })
            .bind(d.notes.trim())
            .bind(d.due_on.map(|d| d.to_string()))
            .bind(totals.subtotal)
            .bind(totals.discount)
            .bind(totals.tax)
            .bind(totals.total)
            .bind(store.now())
            .bind(id),
        )
        .await?;
        Ok(totals)
    }

    /// Reverses one posting inside this transaction (for a void invoice), today.
    async fn reverse_in(
        &mut self,
        store: &Store,
        scope: &Scope,
        actor: &Actor,
        id: uuid::Uuid,
        today: Date,
        reason: &str,
    ) -> Result<(), WriteError> {
        let orig = self
            .fetch_one(Q::new("SELECT * FROM ledger_postings WHERE id = $1").bind(id))
            .await?;
        let lines = self
            .fetch_all(
                Q::new("SELECT * FROM ledger_lines WHERE posting_id = $1 ORDER BY n").bind(id),
            )
            .await?
            .iter()
            .map(crate::ledger::line_from)
            .collect::<DbResult<Vec<_>>>()?;
        let method = orig
            .opt_string("method")?
            .and_then(|m| domain::billing::Method::from_code(&m));
        self.insert_posting(
            store,
            scope,
            actor,
            PostingRow {
                location: LocationId::from_uuid(orig.uuid("location_id")?),
                patient: PatientId::from_uuid(orig.uuid("patient_id")?),
                kind: "reversal",
                amount: orig.i64("amount_minor")?,
                currency: &orig.string("currency")?,
                method,
                on: today,
                reason,
                reference: &orig.string("reference")?,
                reverses: Some(id),
                procedure: orig
                    .opt_uuid("procedure_id")?
                    .map(domain::ChartEntryId::from_uuid),
                provider: orig.opt_uuid("provider_id")?.map(domain::UserId::from_uuid),
                transfer_to: None,
                plan: None,
            },
            &billing::reversal(&lines),
            &[],
        )
        .await?;
        Ok(())
    }
}
