//! Invoices over HTTP: `/invoices` (the list), a patient's new invoice (their charges not on
//! an invoice yet, and items), an invoice's page (issue, take a payment on it, void), its PDF
//! in the patient's language, and the JSON API.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::billing::invoice::Cut;
use domain::billing::{Entry, Method};
use domain::identity::Permission;
use domain::{Currency, DomainError, Money, PatientId};
use jiff::civil::Date;
use serde::Deserialize;
use serde_json::{Value, json};
use store::invoices::{DraftLine, Invoice, InvoiceDraft, InvoiceFilter, InvoiceStatus, LineKind};
use store::ledger::{Claim, NewPosting};

use crate::AppState;
use crate::access::Auth;
use crate::billing::parse_amount;
use crate::error::AppError;
use crate::mfa::form_urlencoded_pairs;
use crate::pages::html_status;
use crate::patients::{Choice, FieldErrors, actor, parse_patient_id, show_date};
use crate::phone::ClientIp;
use crate::shell::{Ctx, Shell};

fn field_err(field: &str, m: impl Into<String>) -> AppError {
    AppError::Domain(DomainError::field(field, m))
}

/// A form's fields by name (the last value of each; `all` for repeated ones).
pub(crate) struct FormFields(Vec<(String, String)>);

impl FormFields {
    pub(crate) fn parse(body: &[u8]) -> FormFields {
        FormFields(form_urlencoded_pairs(body).collect())
    }

    /// The field's value, trimmed; empty when absent.
    pub(crate) fn get(&self, k: &str) -> String {
        self.0
            .iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    }

    pub(crate) fn all(&self, k: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(key, _)| key == k)
            .map(|(_, v)| v.trim().to_string())
            .collect()
    }
}

/// A percentage as typed ("10", "12.5", "12,5") in basis points.
pub fn parse_percent(text: &str) -> Option<i64> {
    let t = text.trim().trim_end_matches('%').trim().replace(',', ".");
    let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
    if whole.is_empty() && frac.is_empty()
        || frac.len() > 2
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || whole.len() > 3
    {
        return None;
    }
    let w: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let f: i64 = format!("{frac:0<2}").parse().ok()?;
    Some(w * 100 + f)
}

fn show_percent(bp: i64) -> String {
    if bp % 100 == 0 {
        format!("{}", bp / 100)
    } else {
        format!("{}.{:02}", bp / 100, bp % 100)
            .trim_end_matches('0')
            .to_string()
    }
}

/// An amount as a form shows it: `1250.00`, without the currency.
pub(crate) fn amount_text(minor: i64, cur: Currency) -> String {
    let s = Money::from_minor(minor, cur).to_string();
    s.trim_end_matches(cur.code()).trim_end().to_string()
}

fn cut_text(c: Option<Cut>, cur: Currency) -> (String, String) {
    match c {
        Some(Cut::Percent(bp)) => ("percent".into(), show_percent(bp)),
        Some(Cut::Amount(a)) => ("amount".into(), amount_text(a, cur)),
        None => (String::new(), String::new()),
    }
}

/// A discount as typed: its kind (`percent`, `amount` or none) and value.
fn parse_cut(kind: &str, value: &str, cur: Currency, field: &str) -> Result<Option<Cut>, AppError> {
    if value.is_empty() || kind.is_empty() {
        return Ok(None);
    }
    match kind {
        "percent" => parse_percent(value)
            .map(|bp| Some(Cut::Percent(bp)))
            .ok_or_else(|| field_err(field, "a percentage such as 10 or 12.5")),
        "amount" => match parse_amount(value, cur) {
            Ok(m) if m.minor() >= 0 => Ok(Some(Cut::Amount(m.minor()))),
            _ => Err(field_err(field, format!("an amount in {}", cur.code()))),
        },
        _ => Err(field_err(field, "percent or amount")),
    }
}

pub fn invoice_json(i: &Invoice) -> Value {
    json!({
        "id": i.id,
        "number": i.number,
        "label": i.label,
        "status": i.status.code(),
        "patient_id": i.patient_id,
        "location_id": i.location_id,
        "currency": i.currency,
        "lines": i.lines.iter().map(|l| json!({
            "kind": l.kind.code(),
            "charge_id": l.charge_id,
            "code": l.code,
            "description": l.description,
            "quantity": l.quantity,
            "unit": l.unit,
            "discount": l.discount,
            "discount_reason": l.discount_reason,
            "tax_bp": l.tax_bp,
            "gross": l.gross,
            "discount_amount": l.discount_amount,
            "tax": l.tax,
            "total": l.total,
        })).collect::<Vec<_>>(),
        "discount": i.discount,
        "discount_reason": i.discount_reason,
        "subtotal": i.subtotal,
        "discount_amount": i.discount_amount,
        "tax": i.tax,
        "total": i.total,
        "paid": i.paid,
        "due": i.due,
        "notes": i.notes,
        "issued_on": i.issued_on.map(|d| d.to_string()),
        "due_on": i.due_on.map(|d| d.to_string()),
        "void_reason": i.void_reason,
    })
}

// ---------- the JSON API ----------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CutBody {
    /// `percent` (value in basis points) or `amount` (minor units).
    pub kind: String,
    pub value: i64,
}

impl CutBody {
    fn cut(&self, field: &str) -> Result<Cut, AppError> {
        Cut::from_parts(&self.kind, self.value).ok_or_else(|| field_err(field, "percent or amount"))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineBody {
    /// `procedure` (with `charge_id`), `medicine`, `product` or `service`.
    pub kind: String,
    #[serde(default)]
    pub charge_id: Option<String>,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "one")]
    pub quantity: i64,
    /// Minor units.
    #[serde(default)]
    pub unit: i64,
    #[serde(default)]
    pub discount: Option<CutBody>,
    #[serde(default)]
    pub discount_reason: String,
    #[serde(default)]
    pub tax_bp: i64,
}

fn one() -> i64 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvoiceBody {
    pub patient_id: String,
    #[serde(default)]
    pub location_id: Option<String>,
    pub lines: Vec<LineBody>,
    #[serde(default)]
    pub discount: Option<CutBody>,
    #[serde(default)]
    pub discount_reason: String,
    #[serde(default)]
    pub notes: String,
    /// YYYY-MM-DD.
    #[serde(default)]
    pub due_on: Option<String>,
    /// Issue it at once (otherwise a draft).
    #[serde(default)]
    pub issue: bool,
}

fn draft_of(b: &InvoiceBody) -> Result<InvoiceDraft, AppError> {
    let mut lines = Vec::with_capacity(b.lines.len());
    for (i, l) in b.lines.iter().enumerate() {
        let kind = LineKind::from_code(&l.kind).ok_or_else(|| {
            field_err(
                &format!("lines[{i}].kind"),
                "procedure, medicine, product or service",
            )
        })?;
        let charge_id = match &l.charge_id {
            Some(c) => Some(
                c.parse::<uuid::Uuid>()
                    .map_err(|_| field_err(&format!("lines[{i}].charge_id"), "not an id"))?,
            ),
            None => None,
        };
        lines.push(DraftLine {
            kind,
            charge_id,
            code: l.code.clone(),
            description: l.description.clone(),
            quantity: l.quantity,
            unit: l.unit,
            discount: l
                .discount
                .as_ref()
                .map(|d| d.cut(&format!("lines[{i}].discount")))
                .transpose()?,
            discount_reason: l.discount_reason.clone(),
            tax_bp: l.tax_bp,
        });
    }
    Ok(InvoiceDraft {
        location: match &b.location_id {
            Some(l) => Some(
                l.parse()
                    .map_err(|_| field_err("location_id", "not a location id"))?,
            ),
            None => None,
        },
        lines,
        discount: b.discount.as_ref().map(|d| d.cut("discount")).transpose()?,
        discount_reason: b.discount_reason.clone(),
        notes: b.notes.clone(),
        due_on: match &b.due_on {
            Some(d) => Some(
                d.parse::<Date>()
                    .map_err(|_| field_err("due_on", "YYYY-MM-DD"))?,
            ),
            None => None,
        },
    })
}

/// `POST /api/v1/invoices`: a draft, or an issued invoice with `"issue": true`.
pub async fn api_create(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Json(b): Json<InvoiceBody>,
) -> Result<Response, AppError> {
    let patient =
        parse_patient_id(&b.patient_id).map_err(|_| field_err("patient_id", "not a patient id"))?;
    let draft = draft_of(&b)?;
    let scope = auth.scope();
    let who = actor(&auth, &ctx, &ip);
    let may = auth.can(Permission::BillingAdjust);
    let mut inv = state
        .store
        .create_invoice(&scope, &who, patient, &draft, may)
        .await?;
    if b.issue {
        inv = state.store.issue_invoice(&scope, &who, inv.id, may).await?;
    }
    Ok((StatusCode::CREATED, Json(invoice_json(&inv))).into_response())
}

/// `GET /api/v1/invoices/{id}`.
pub async fn api_get(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id: uuid::Uuid = id.parse().map_err(|_| AppError::NotFound)?;
    let inv = state
        .store
        .invoice(&auth.scope(), &actor(&auth, &ctx, &ip), id)
        .await?;
    Ok(Json(invoice_json(&inv)).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub patient_id: Option<String>,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub notice: String,
}

/// Lists invoices, the derived statuses (partly paid, paid) filtered after reading.
async fn list(
    state: &AppState,
    auth: &Auth,
    who: &store::patients::Actor,
    q: &ListQuery,
) -> Result<Vec<Invoice>, AppError> {
    let status = match q.status.as_str() {
        "" | "all" => None,
        s => Some(
            InvoiceStatus::from_code(s)
                .ok_or_else(|| field_err("status", "draft, issued, partly_paid, paid or void"))?,
        ),
    };
    let patient = match &q.patient_id {
        Some(p) if !p.is_empty() => Some(parse_patient_id(p)?),
        _ => None,
    };
    let stored = status.map(|s| match s {
        InvoiceStatus::Draft => "draft",
        InvoiceStatus::Void => "void",
        _ => "issued",
    });
    let mut out = state
        .store
        .invoices(
            &auth.scope(),
            who,
            &InvoiceFilter {
                patient,
                location: None,
                stored_status: stored,
                limit: 200,
            },
        )
        .await?;
    if let Some(s) = status {
        out.retain(|i| i.status == s);
    }
    Ok(out)
}

/// A patient's issued invoices with something still due, oldest number first.
pub(crate) async fn open_invoices(
    state: &AppState,
    scope: &domain::Scope,
    who: &store::patients::Actor,
    patient: PatientId,
) -> Result<Vec<Invoice>, AppError> {
    let mut out: Vec<Invoice> = state
        .store
        .invoices(
            scope,
            who,
            &InvoiceFilter {
                patient: Some(patient),
                stored_status: Some("issued"),
                limit: 50,
                ..InvoiceFilter::default()
            },
        )
        .await?
        .into_iter()
        .filter(|i| matches!(i.status, InvoiceStatus::Issued | InvoiceStatus::PartlyPaid))
        .collect();
    out.sort_by_key(|i| i.number);
    Ok(out)
}

/// `GET /api/v1/invoices?patient_id=&status=`.
pub async fn api_list(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let who = actor(&auth, &ctx, &ip);
    let out = list(&state, &auth, &who, &q).await?;
    Ok(
        Json(json!({ "invoices": out.iter().map(invoice_json).collect::<Vec<_>>() }))
            .into_response(),
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoidBody {
    pub reason: String,
}

/// `POST /api/v1/invoices/{id}/issue`.
pub async fn api_issue(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id: uuid::Uuid = id.parse().map_err(|_| AppError::NotFound)?;
    let inv = state
        .store
        .issue_invoice(
            &auth.scope(),
            &actor(&auth, &ctx, &ip),
            id,
            auth.can(Permission::BillingAdjust),
        )
        .await?;
    Ok(Json(invoice_json(&inv)).into_response())
}

/// `POST /api/v1/invoices/{id}/void` (`billing.void`).
pub async fn api_void(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    body: Result<Json<VoidBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, AppError> {
    let id: uuid::Uuid = id.parse().map_err(|_| AppError::NotFound)?;
    let who = actor(&auth, &ctx, &ip);
    // Another organization's invoice is not found, whatever was sent.
    state.store.invoice(&auth.scope(), &who, id).await?;
    let Json(b) = body.map_err(|e| field_err("reason", e.body_text()))?;
    let inv = state
        .store
        .void_invoice(&auth.scope(), &who, id, &b.reason)
        .await?;
    Ok(Json(invoice_json(&inv)).into_response())
}

// ---------- pages ----------

fn status_choices(shell: &Shell, chosen: &str) -> Vec<Choice> {
    std::iter::once("all")
        .chain(InvoiceStatus::ALL.iter().map(|s| s.code()))
        .map(|s| Choice {
            value: s.to_string(),
            label: shell.t(&format!("inv-status-{s}")),
            selected: s == chosen || (chosen.is_empty() && s == "all"),
        })
        .collect()
}

pub struct ListRow {
    pub id: String,
    pub label: String,
    pub date: String,
    pub patient_id: String,
    pub patient: String,
    pub total: String,
    pub paid: String,
    pub due: String,
    pub status: String,
    pub status_label: String,
}

#[derive(askama::Template)]
#[template(path = "invoices.html")]
struct ListPage {
    shell: Shell,
    rows: Vec<ListRow>,
    statuses: Vec<Choice>,
    count: usize,
    due_total: String,
    notice: String,
}

fn money_of(cur: &str) -> impl Fn(i64) -> String {
    let c = Currency::from_code(cur).unwrap_or(Currency::USD);
    move |m| Money::from_minor(m, c).to_string()
}

/// `GET /invoices`: the newest invoices, by status, with what is due.
pub async fn index(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let who = actor(&auth, &ctx, &ip);
    let shell = Shell::build(&state, &ctx).await;
    let out = list(&state, &auth, &who, &q).await?;
    let lang = ctx.lang;
    let mut due: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for i in &out {
        if matches!(i.status, InvoiceStatus::Issued | InvoiceStatus::PartlyPaid) {
            *due.entry(i.currency.clone()).or_insert(0) += i.due;
        }
    }
    let rows = rows_of(lang, &out);
    let due_total = due
        .iter()
        .map(|(c, m)| money_of(c)(*m))
        .collect::<Vec<_>>()
        .join(" · ");
    let notice = match q.notice.as_str() {
        "" => String::new(),
        n => lang.t(&format!("inv-notice-{n}")),
    };
    html_status(
        &ListPage {
            statuses: status_choices(&shell, &q.status),
            shell,
            count: out.len(),
            rows,
            due_total: if due_total.is_empty() {
                "—".into()
            } else {
                due_total
            },
            notice,
        },
        StatusCode::OK,
    )
}

/// The rows of a list of invoices.
pub fn rows_of(lang: crate::i18n::Lang, out: &[Invoice]) -> Vec<ListRow> {
    out.iter()
        .map(|i| {
            let money = money_of(&i.currency);
            ListRow {
                id: i.id.to_string(),
                label: i.label.clone().unwrap_or_else(|| lang.t("inv-draft")),
                date: show_date(
                    lang,
                    i.issued_on
                        .unwrap_or_else(|| i.created_at.to_zoned(jiff::tz::TimeZone::UTC).date()),
                ),
                patient_id: i.patient_id.to_string(),
                patient: i.patient_name.clone(),
                total: money(i.total),
                paid: money(i.paid),
                due: if matches!(i.status, InvoiceStatus::Void | InvoiceStatus::Draft) {
                    "—".into()
                } else {
                    money(i.due)
                },
                status: i.status.code().to_string(),
                status_label: lang.t(&format!("inv-status-{}", i.status.code())),
            }
        })
        .collect()
}

/// A charge offered on the form.
pub struct ChargeRow {
    pub id: String,
    pub date: String,
    pub code: String,
    pub description: String,
    pub amount: String,
    pub checked: bool,
    pub dkind: String,
    pub dvalue: String,
    pub dreason: String,
}

pub struct ItemRow {
    pub i: usize,
    pub kinds: Vec<Choice>,
    pub code: String,
    pub description: String,
    pub quantity: String,
    pub unit: String,
    pub tax: String,
    pub dkind: String,
    pub dvalue: String,
    pub dreason: String,
}

#[derive(askama::Template)]
#[template(path = "invoice_form.html")]
struct FormPage {
    shell: Shell,
    patient_id: String,
    patient_name: String,
    /// The draft edited, or empty for a new invoice.
    invoice_id: String,
    currency: String,
    tax_label: String,
    charges: Vec<ChargeRow>,
    items: Vec<ItemRow>,
    can_discount: bool,
    dkind: String,
    dvalue: String,
    dreason: String,
    notes: String,
    due_on: String,
    fe: FieldErrors,
}

fn kind_choices(shell: &Shell, chosen: &str) -> Vec<Choice> {
    [LineKind::Product, LineKind::Medicine, LineKind::Service]
        .iter()
        .map(|k| Choice {
            value: k.code().to_string(),
            label: shell.t(&format!("inv-kind-{}", k.code())),
            selected: k.code() == chosen,
        })
        .collect()
}

/// What the form shows: the patient's charges not on an invoice (or on this draft) and the
/// item rows, from what was typed (`typed`) or the draft (`draft`).
#[allow(clippy::too_many_arguments)]
async fn form_page(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    patient: PatientId,
    draft: Option<&Invoice>,
    typed: Option<&FormFields>,
    fe: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let lang = ctx.lang;
    let shell = Shell::build(state, ctx).await;
    let summary = state.store.patient_summary(&scope, patient).await?;
    let loc = state
        .store
        .location(&scope, summary.location_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let cur = loc.currency;
    let money = |m: i64| Money::from_minor(m, cur).to_string();
    let settings = state.store.invoice_settings(&scope, loc.id).await?;
    let mut charges = Vec::new();
    // The draft's procedures first, then the charges on no invoice.
    if let Some(d) = draft {
        for l in d.lines.iter().filter(|l| l.kind == LineKind::Procedure) {
            let (dkind, dvalue) = cut_text(l.discount, cur);
            charges.push(ChargeRow {
                id: l.charge_id.map(|c| c.to_string()).unwrap_or_default(),
                date: String::new(),
                code: l.code.clone(),
                description: l.description.clone(),
                amount: money(l.gross),
                checked: true,
                dkind,
                dvalue,
                dreason: l.discount_reason.clone(),
            });
        }
    }
    for c in state.store.uninvoiced_charges(&scope, patient).await? {
        charges.push(ChargeRow {
            id: c.id.to_string(),
            date: show_date(lang, c.posted_on),
            code: c.reference.clone(),
            description: c.reason.clone(),
            amount: money(c.amount),
            checked: draft.is_none(),
            dkind: String::new(),
            dvalue: String::new(),
            dreason: String::new(),
        });
    }
    let mut items: Vec<ItemRow> = Vec::new();
    if let Some(d) = draft {
        for l in d.lines.iter().filter(|l| l.kind != LineKind::Procedure) {
            let (dkind, dvalue) = cut_text(l.discount, cur);
            items.push(ItemRow {
                i: items.len(),
                kinds: kind_choices(&shell, l.kind.code()),
                code: l.code.clone(),
                description: l.description.clone(),
                quantity: l.quantity.to_string(),
                unit: amount_text(l.unit, cur),
                tax: show_percent(l.tax_bp),
                dkind,
                dvalue,
                dreason: l.discount_reason.clone(),
            });
        }
    }
    let (mut dkind, mut dvalue, mut dreason, mut notes, mut due_on) = match draft {
        Some(d) => {
            let (k, v) = cut_text(d.discount, cur);
            (
                k,
                v,
                d.discount_reason.clone(),
                d.notes.clone(),
                d.due_on.map(|d| d.to_string()).unwrap_or_default(),
            )
        }
        None => Default::default(),
    };
    // What was typed wins over what is stored.
    if let Some(f) = typed {
        let picked = f.all("charge");
        for c in &mut charges {
            c.checked = picked.contains(&c.id);
            c.dkind = f.get(&format!("cd_kind_{}", c.id));
            c.dvalue = f.get(&format!("cd_value_{}", c.id));
            c.dreason = f.get(&format!("cd_reason_{}", c.id));
        }
        items.clear();
        for i in 0..MAX_ITEMS {
            let g = |k: &str| f.get(&format!("item_{k}_{i}"));
            if g("description").is_empty() && g("unit").is_empty() {
                continue;
            }
            items.push(ItemRow {
                i: items.len(),
                kinds: kind_choices(&shell, &g("kind")),
                code: g("code"),
                description: g("description"),
                quantity: g("quantity"),
                unit: g("unit"),
                tax: g("tax"),
                dkind: g("dkind"),
                dvalue: g("dvalue"),
                dreason: g("dreason"),
            });
        }
        dkind = f.get("discount_kind");
        dvalue = f.get("discount_value");
        dreason = f.get("discount_reason");
        notes = f.get("notes");
        due_on = f.get("due_on");
    }
    // Blank rows to add items.
    let rows = MAX_ITEMS.min(items.len() + BLANK_ITEMS);
    while items.len() < rows {
        items.push(ItemRow {
            i: items.len(),
            kinds: kind_choices(&shell, "product"),
            code: String::new(),
            description: String::new(),
            quantity: "1".into(),
            unit: String::new(),
            tax: show_percent(settings.tax_rate_bp),
            dkind: String::new(),
            dvalue: String::new(),
            dreason: String::new(),
        });
    }
    html_status(
        &FormPage {
            shell,
            patient_id: patient.to_string(),
            patient_name: summary.display_name(),
            invoice_id: draft.map(|d| d.id.to_string()).unwrap_or_default(),
            currency: cur.code().to_string(),
            tax_label: settings.tax_label,
            charges,
            items,
            can_discount: auth.can(Permission::BillingAdjust),
            dkind,
            dvalue,
            dreason,
            notes,
            due_on,
            fe,
        },
        status,
    )
}

const MAX_ITEMS: usize = 20;
const BLANK_ITEMS: usize = 3;

/// The draft a form describes (refused: an amount, percentage or date not understood).
fn draft_from_form(f: &FormFields, cur: Currency) -> Result<InvoiceDraft, AppError> {
    let mut lines = Vec::new();
    for c in f.all("charge") {
        let id: uuid::Uuid = c.parse().map_err(|_| field_err("lines", "not a charge"))?;
        let mut l = DraftLine::procedure(id);
        l.discount = parse_cut(
            &f.get(&format!("cd_kind_{c}")),
            &f.get(&format!("cd_value_{c}")),
            cur,
            &format!("lines[{}].discount", lines.len()),
        )?;
        l.discount_reason = f.get(&format!("cd_reason_{c}"));
        lines.push(l);
    }
    for i in 0..MAX_ITEMS {
        let g = |k: &str| f.get(&format!("item_{k}_{i}"));
        if g("description").is_empty() && g("unit").is_empty() {
            continue;
        }
        let n = lines.len();
        let kind = LineKind::from_code(&g("kind"))
            .filter(|k| *k != LineKind::Procedure)
            .unwrap_or(LineKind::Product);
        let quantity = g("quantity")
            .parse::<i64>()
            .map_err(|_| field_err(&format!("lines[{n}].quantity"), "a whole number"))?;
        let unit = match parse_amount(&g("unit"), cur) {
            Ok(m) => m.minor(),
            Err(_) => {
                return Err(field_err(
                    &format!("lines[{n}].unit"),
                    format!("an amount in {}", cur.code()),
                ));
            }
        };
        let tax_bp = match g("tax").as_str() {
            "" => 0,
            t => parse_percent(t)
                .ok_or_else(|| field_err(&format!("lines[{n}].tax"), "a percentage such as 13"))?,
        };
        let mut l = DraftLine::item(kind, &g("description"), quantity, unit);
        l.code = g("code");
        l.tax_bp = tax_bp;
        l.discount = parse_cut(
            &g("dkind"),
            &g("dvalue"),
            cur,
            &format!("lines[{n}].discount"),
        )?;
        l.discount_reason = g("dreason");
        lines.push(l);
    }
    Ok(InvoiceDraft {
        location: None,
        lines,
        discount: parse_cut(
            &f.get("discount_kind"),
            &f.get("discount_value"),
            cur,
            "discount",
        )?,
        discount_reason: f.get("discount_reason"),
        notes: f.get("notes"),
        due_on: match f.get("due_on").as_str() {
            "" => None,
            d => Some(
                d.parse::<Date>()
                    .map_err(|_| field_err("due_on", "a date"))?,
            ),
        },
    })
}

/// `GET /patients/{id}/invoices/new`: a new invoice of the patient's charges and items.
pub async fn new_form(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let patient = parse_patient_id(&id)?;
    form_page(
        &state,
        &ctx,
        &auth,
        patient,
        None,
        None,
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// `GET /invoices/{id}/edit`: a draft's form.
pub async fn edit_form(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id: uuid::Uuid = id.parse().map_err(|_| AppError::NotFound)?;
    let inv = state
        .store
        .invoice(&auth.scope(), &actor(&auth, &ctx, &ip), id)
        .await?;
    if inv.status != InvoiceStatus::Draft {
        return Ok(Redirect::to(&format!("/invoices/{id}")).into_response());
    }
    form_page(
        &state,
        &ctx,
        &auth,
        inv.patient_id,
        Some(&inv),
        None,
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

use crate::billing::refusal_status;

/// `POST /patients/{id}/invoices` (a new draft) and `POST /invoices/{id}/edit` (a draft
/// changed): `action=save` keeps it a draft, `action=issue` issues it.
async fn save(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    ip: &ClientIp,
    patient: PatientId,
    existing: Option<&Invoice>,
    body: &[u8],
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let who = actor(auth, ctx, ip);
    let f = FormFields::parse(body);
    let summary = state.store.patient_summary(&scope, patient).await?;
    let cur = state
        .store
        .location(&scope, summary.location_id)
        .await?
        .map(|l| l.currency)
        .unwrap_or(Currency::USD);
    let may = auth.can(Permission::BillingAdjust);
    let result = match draft_from_form(&f, cur) {
        Ok(d) => match existing {
            Some(inv) => {
                state
                    .store
                    .update_invoice(&scope, &who, inv.id, &d, may)
                    .await
            }
            None => {
                state
                    .store
                    .create_invoice(&scope, &who, patient, &d, may)
                    .await
            }
        }
        .map_err(AppError::from),
        Err(e) => Err(e),
    };
    let inv = match result {
        Ok(inv) => inv,
        Err(AppError::Domain(d)) => {
            let status = refusal_status(&d);
            return form_page(
                state,
                ctx,
                auth,
                patient,
                existing,
                Some(&f),
                crate::billing::form_errors(&d),
                status,
            )
            .await;
        }
        Err(e) => return Err(e),
    };
    if f.get("action") == "issue" {
        return match state.store.issue_invoice(&scope, &who, inv.id, may).await {
            Ok(_) => {
                Ok(Redirect::to(&format!("/invoices/{}?notice=issued", inv.id)).into_response())
            }
            Err(e) => match AppError::from(e) {
                AppError::Domain(d) => {
                    invoice_page(
                        state,
                        ctx,
                        auth,
                        ip,
                        inv.id,
                        String::new(),
                        crate::billing::form_errors(&d),
                        refusal_status(&d),
                    )
                    .await
                }
                e => Err(e),
            },
        };
    }
    Ok(Redirect::to(&format!("/invoices/{}?notice=saved", inv.id)).into_response())
}

pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let patient = parse_patient_id(&id)?;
    save(&state, &ctx, &auth, &ip, patient, None, &body).await
}

pub async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let id: uuid::Uuid = id.parse().map_err(|_| AppError::NotFound)?;
    let inv = state
        .store
        .invoice(&auth.scope(), &actor(&auth, &ctx, &ip), id)
        .await?;
    if inv.status != InvoiceStatus::Draft {
        // Issued since the form was opened: it is not changed; its page says where it stands.
        return Ok(Redirect::to(&format!("/invoices/{id}")).into_response());
    }
    save(&state, &ctx, &auth, &ip, inv.patient_id, Some(&inv), &body).await
}

pub struct LineView {
    pub description: String,
    pub code: String,
    pub kind: String,
    pub quantity: i64,
    pub unit: String,
    pub discount: String,
    pub discount_reason: String,
    pub tax: String,
    pub total: String,
}

#[derive(askama::Template)]
#[template(path = "invoice.html")]
struct InvoicePage {
    shell: Shell,
    id: String,
    label: String,
    status: String,
    status_label: String,
    patient_id: String,
    patient_name: String,
    issued_on: String,
    due_on: String,
    created: String,
    lines: Vec<LineView>,
    subtotal: String,
    discount: String,
    discount_reason: String,
    has_discount: bool,
    tax: String,
    has_tax: bool,
    tax_label: String,
    total: String,
    paid: String,
    due: String,
    due_amount: String,
    currency: String,
    notes: String,
    void_reason: String,
    is_draft: bool,
    payable: bool,
    voidable: bool,
    can_post: bool,
    can_void: bool,
    methods: Vec<Choice>,
    token: String,
    card_label: String,
    notice: String,
    fe: FieldErrors,
}

#[allow(clippy::too_many_arguments)]
async fn invoice_page(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    ip: &ClientIp,
    id: uuid::Uuid,
    notice: String,
    fe: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let lang = ctx.lang;
    let inv = state
        .store
        .invoice(&scope, &actor(auth, ctx, ip), id)
        .await?;
    let cur = Currency::from_code(&inv.currency).unwrap_or(Currency::USD);
    let money = |m: i64| Money::from_minor(m, cur).to_string();
    let settings = state
        .store
        .invoice_settings(&scope, inv.location_id)
        .await?;
    let open = matches!(
        inv.status,
        InvoiceStatus::Issued | InvoiceStatus::PartlyPaid
    );
    let page = InvoicePage {
        shell: Shell::build(state, ctx).await,
        id: inv.id.to_string(),
        label: inv.label.clone().unwrap_or_else(|| lang.t("inv-draft")),
        status: inv.status.code().to_string(),
        status_label: lang.t(&format!("inv-status-{}", inv.status.code())),
        patient_id: inv.patient_id.to_string(),
        patient_name: inv.patient_name.clone(),
        issued_on: inv
            .issued_on
            .map(|d| show_date(lang, d))
            .unwrap_or_default(),
        due_on: inv.due_on.map(|d| show_date(lang, d)).unwrap_or_default(),
        created: format!(
            "{} · {}",
            show_date(
                lang,
                inv.created_at.to_zoned(jiff::tz::TimeZone::UTC).date()
            ),
            inv.created_by_name
        ),
        lines: inv
            .lines
            .iter()
            .map(|l| LineView {
                description: l.description.clone(),
                code: l.code.clone(),
                kind: lang.t(&format!("inv-kind-{}", l.kind.code())),
                quantity: l.quantity,
                unit: money(l.unit),
                discount: if l.discount_amount > 0 {
                    money(-l.discount_amount)
                } else {
                    String::new()
                },
                discount_reason: l.discount_reason.clone(),
                tax: if l.tax_bp > 0 {
                    format!("{} %", show_percent(l.tax_bp))
                } else {
                    String::new()
                },
                total: money(l.total),
            })
            .collect(),
        subtotal: money(inv.subtotal),
        discount: money(-inv.discount_amount),
        discount_reason: inv.discount_reason.clone(),
        has_discount: inv.discount_amount > 0,
        tax: money(inv.tax),
        has_tax: inv.tax > 0,
        tax_label: if settings.tax_label.is_empty() {
            lang.t("inv-tax")
        } else {
            settings.tax_label
        },
        total: money(inv.total),
        paid: money(inv.paid),
        due: money(inv.due),
        due_amount: amount_text(inv.due, cur),
        currency: inv.currency.clone(),
        notes: inv.notes.clone(),
        void_reason: inv.void_reason.clone().unwrap_or_default(),
        is_draft: inv.status == InvoiceStatus::Draft,
        payable: open && inv.due > 0,
        voidable: inv.status == InvoiceStatus::Draft || (open && inv.paid == 0),
        can_post: auth.can(Permission::BillingPost),
        can_void: auth.can(Permission::BillingVoid),
        methods: crate::billing::method_choices(lang, "card"),
        token: state.store.new_uuid().to_string(),
        card_label: lang.t(&format!("co-card-{}", state.cards.name())),
        notice,
        fe,
    };
    html_status(&page, status)
}

#[derive(Debug, Default, Deserialize)]
pub struct NoticeQuery {
    #[serde(default)]
    pub notice: String,
}

/// `GET /invoices/{id}`.
pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let id: uuid::Uuid = id.parse().map_err(|_| AppError::NotFound)?;
    let notice = match q.notice.as_str() {
        "saved" | "issued" | "paid" | "voided" | "again" => {
            ctx.lang.t(&format!("inv-notice-{}", q.notice))
        }
        _ => String::new(),
    };
    invoice_page(
        &state,
        &ctx,
        &auth,
        &ip,
        id,
        notice,
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// `POST /invoices/{id}`: `action=issue`, `action=void` (`reason`; `billing.void`) or
/// `action=pay` (`amount`, `method`, `reference`, the form's `token`: sent twice, taken once).
pub async fn act(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let id: uuid::Uuid = id.parse().map_err(|_| AppError::NotFound)?;
    let scope = auth.scope();
    let who = actor(&auth, &ctx, &ip);
    let inv = state.store.invoice(&scope, &who, id).await?;
    let f = FormFields::parse(&body);
    let back = |n: &str| Ok(Redirect::to(&format!("/invoices/{id}?notice={n}")).into_response());
    let outcome: Result<&str, AppError> = match f.get("action").as_str() {
        "issue" => state
            .store
            .issue_invoice(&scope, &who, id, auth.can(Permission::BillingAdjust))
            .await
            .map(|_| "issued")
            .map_err(AppError::from),
        "void" => {
            if !auth.can(Permission::BillingVoid) {
                return Err(AppError::Domain(DomainError::new(
                    domain::ErrorCode::Forbidden,
                    "voiding needs the billing.void permission",
                )));
            }
            state
                .store
                .void_invoice(&scope, &who, id, &f.get("reason"))
                .await
                .map(|_| "voided")
                .map_err(AppError::from)
        }
        "pay" => pay(&state, &scope, &who, &inv, &f).await,
        _ => Err(field_err("action", "issue, void or pay")),
    };
    match outcome {
        Ok(n) => back(n),
        Err(AppError::Domain(d)) => {
            invoice_page(
                &state,
                &ctx,
                &auth,
                &ip,
                id,
                String::new(),
                crate::billing::form_errors(&d),
                refusal_status(&d),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

/// A payment on an invoice from its page, once per form (the token).
async fn pay(
    state: &AppState,
    scope: &domain::Scope,
    who: &store::patients::Actor,
    inv: &Invoice,
    f: &FormFields,
) -> Result<&'static str, AppError> {
    let cur = Currency::from_code(&inv.currency).unwrap_or(Currency::USD);
    let amount = match parse_amount(&f.get("amount"), cur) {
        Ok(m) if m.minor() > 0 => m.minor(),
        _ => {
            return Err(field_err(
                "amount",
                format!("an amount in {} above zero", cur.code()),
            ));
        }
    };
    collect(
        state,
        scope,
        who,
        Collect {
            patient: inv.patient_id,
            invoice: Some(inv),
            amount,
            currency: cur,
            method: &f.get("method"),
            card: &f.get("card"),
            reference: &f.get("reference"),
            token: &f.get("token"),
        },
    )
    .await
}

/// A payment to take at the desk.
pub(crate) struct Collect<'a> {
    pub patient: PatientId,
    pub invoice: Option<&'a Invoice>,
    pub amount: i64,
    pub currency: Currency,
    /// `cash`, `card`, …, or `credit`.
    pub method: &'a str,
    /// For a card: the gateway's token (or the terminal's authorization code); empty when the
    /// card was taken on a stand-alone terminal and only recorded here.
    pub card: &'a str,
    pub reference: &'a str,
    /// The form's one-time token.
    pub token: &'a str,
}

/// Takes a payment once per form token: a card with a token goes through the card gateway
/// first (under the same idempotency key, so a retry never charges twice), then the payment is
/// posted; a posting refused after the card was charged is refunded at once. Returns the
/// page's notice: `paid`, or `again` when the form was sent twice.
pub(crate) async fn collect(
    state: &AppState,
    scope: &domain::Scope,
    who: &store::patients::Actor,
    c: Collect<'_>,
) -> Result<&'static str, AppError> {
    let entry = match c.method {
        "credit" => Entry::ApplyCredit { amount: c.amount },
        m => Entry::Payment {
            amount: c.amount,
            method: Method::from_code(m).ok_or_else(|| field_err("method", "unknown method"))?,
        },
    };
    if c.token.is_empty() || c.token.len() > 100 {
        return Err(field_err("token", "reload the page and try again"));
    }
    let key = format!("form:{}", c.token);
    let invoice_id = c.invoice.map(|i| i.id.to_string()).unwrap_or_default();
    let hash = hex::encode(ring::digest::digest(
        &ring::digest::SHA256,
        format!(
            "{}|{invoice_id}|{}|{}|{}|{}",
            c.patient, c.amount, c.method, c.card, c.reference
        )
        .as_bytes(),
    ));
    match state
        .store
        .claim_idempotent(scope.org(), &key, &hash)
        .await?
    {
        Claim::New => {}
        Claim::Replay { .. } | Claim::InFlight => return Ok("again"),
        Claim::Mismatch => {
            return Err(field_err(
                "token",
                "this form was sent already: reload the page",
            ));
        }
    }
    let label = c.invoice.and_then(|i| i.label.clone());
    let mut reference = match (c.reference, &label) {
        ("", Some(l)) => l.clone(),
        (r, _) => r.to_string(),
    };
    // Through the gateway first, when there is a card to charge.
    let charged = if c.method == "card" && !c.card.is_empty() {
        let gateway_key = format!("cuspid-{}-{}", scope.org(), c.token);
        let charge = messaging::CardCharge {
            amount_minor: c.amount,
            currency: c.currency.code().to_string(),
            payment_method: c.card.to_string(),
            description: label.clone().unwrap_or_else(|| "Dental care".into()),
            idempotency_key: gateway_key.clone(),
            metadata: vec![("patient_id".into(), c.patient.to_string())]
                .into_iter()
                .chain(
                    c.invoice
                        .map(|i| ("invoice_id".to_string(), i.id.to_string())),
                )
                .collect(),
        };
        match state.cards.charge(&charge).await {
            Ok(r) => {
                let card = match (&r.brand, &r.last4) {
                    (Some(b), Some(l)) => format!("{b} ····{l}"),
                    _ => String::new(),
                };
                reference = [reference.as_str(), card.as_str(), r.gateway_id.as_str()]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" · ");
                Some((r.gateway_id, gateway_key))
            }
            Err(e) => {
                state.store.release_idempotent(scope.org(), &key).await?;
                return Err(field_err("card", card_message(&e)));
            }
        }
    } else {
        None
    };
    let new = NewPosting {
        invoice: c.invoice.map(|i| i.id),
        reference: reference.chars().take(200).collect(),
        idempotency_key: Some(key.clone()),
        ..NewPosting::new(c.patient, entry, "payment")
    };
    match state.store.post(scope, who, &new).await {
        Ok(_) => Ok("paid"),
        Err(e) => {
            let e = AppError::from(e);
            if let Some((gateway_id, gateway_key)) = charged {
                // The card was charged but the books refused the payment: give it back. The
                // form's token stays used (reload the page for a new one).
                let refund_key = format!("{gateway_key}-refund");
                let refunded = state.cards.refund(&gateway_id, c.amount, &refund_key).await;
                tracing::warn!(gateway = state.cards.name(), %gateway_id, refunded = refunded.is_ok(), "card charged, payment refused by the books");
                return Err(match (e, refunded) {
                    (AppError::Domain(d), Ok(_)) => field_err(
                        "card",
                        format!("{} — the card charge was refunded", d.message),
                    ),
                    (AppError::Domain(d), Err(r)) => field_err(
                        "card",
                        format!(
                            "{} — and the refund of the card charge {gateway_id} failed ({r}): refund it from the gateway",
                            d.message
                        ),
                    ),
                    (other, _) => other,
                });
            }
            state.store.release_idempotent(scope.org(), &key).await?;
            Err(e)
        }
    }
}

/// What the desk is told when a card does not go through.
fn card_message(e: &messaging::CardError) -> String {
    use messaging::CardError as E;
    match e {
        E::Declined {
            message,
            decline_code,
            ..
        } => match decline_code {
            Some(d) => format!("the card was declined ({d}): {message}"),
            None => format!("the card was declined: {message}"),
        },
        E::RequiresAction { .. } => {
            "this card needs the cardholder to authenticate: take it on the terminal".into()
        }
        E::Invalid(m) => format!("the card gateway refused the payment: {m}"),
        E::Unavailable(m) => format!(
            "the card gateway did not answer ({m}); send again: the card will not be charged twice"
        ),
    }
}

/// `GET /invoices/{id}/pdf`: the invoice in the patient's language (a draft says so).
pub async fn pdf(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    use documents::{Align, Block, Column};
    let id: uuid::Uuid = id.parse().map_err(|_| AppError::NotFound)?;
    let scope = auth.scope();
    let who = actor(&auth, &ctx, &ip);
    let inv = state.store.invoice(&scope, &who, id).await?;
    let summary = state.store.patient_summary(&scope, inv.patient_id).await?;
    let lang =
        crate::i18n::Lang::from_code(&state.store.patient_language(&scope, inv.patient_id).await?)
            .unwrap_or(ctx.lang);
    let cur = Currency::from_code(&inv.currency).unwrap_or(Currency::USD);
    let money = |m: i64| Money::from_minor(m, cur).to_string();
    let settings = state
        .store
        .invoice_settings(&scope, inv.location_id)
        .await?;
    let lh = crate::clinical::rx::letterhead(&state.store, &scope, inv.location_id).await?;
    let reference = inv.label.clone().unwrap_or_else(|| lang.t("inv-draft"));
    let mut fields = vec![
        (lang.t("rx-patient"), summary.display_name()),
        (lang.t("rx-chart"), summary.chart_number.to_string()),
    ];
    if let Some(d) = inv.issued_on {
        fields.push((lang.t("inv-issued-on"), show_date(lang, d)));
    }
    if let Some(d) = inv.due_on {
        fields.push((lang.t("inv-due-on"), show_date(lang, d)));
    }
    fields.push((
        lang.t("inv-status"),
        lang.t(&format!("inv-status-{}", inv.status.code())),
    ));
    let rows = inv
        .lines
        .iter()
        .map(|l| {
            let mut what = l.description.clone();
            if !l.code.is_empty() && !what.contains(&l.code) {
                what = format!("{} · {what}", l.code);
            }
            if l.discount_amount > 0 && !l.discount_reason.is_empty() {
                what = format!("{what} ({})", l.discount_reason);
            }
            vec![
                what,
                l.quantity.to_string(),
                money(l.unit),
                if l.discount_amount > 0 {
                    money(-l.discount_amount)
                } else {
                    String::new()
                },
                if l.tax > 0 {
                    money(l.tax)
                } else {
                    String::new()
                },
                money(l.total),
            ]
        })
        .collect();
    let col = |t: String, share: f32, align: Align| Column {
        title: t,
        share,
        align,
    };
    let total_row = |label: String, v: String| {
        vec![
            label,
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            v,
        ]
    };
    let mut totals = vec![total_row(lang.t("inv-subtotal"), money(inv.subtotal))];
    if inv.discount_amount > 0 {
        let label = if inv.discount_reason.is_empty() {
            lang.t("inv-discount")
        } else {
            format!("{} ({})", lang.t("inv-discount"), inv.discount_reason)
        };
        totals.push(total_row(label, money(-inv.discount_amount)));
    }
    if inv.tax > 0 {
        let label = if settings.tax_label.is_empty() {
            lang.t("inv-tax")
        } else {
            settings.tax_label.clone()
        };
        totals.push(total_row(label, money(inv.tax)));
    }
    totals.push(total_row(lang.t("plan-total"), money(inv.total)));
    if inv.status != InvoiceStatus::Draft && inv.status != InvoiceStatus::Void {
        totals.push(total_row(lang.t("receipt-paid"), money(inv.paid)));
        totals.push(total_row(lang.t("inv-due"), money(inv.due)));
    }
    let mut blocks = vec![
        Block::Title(if inv.status == InvoiceStatus::Draft {
            lang.t("inv-draft-title")
        } else {
            format!("{} {reference}", lang.t("inv-title"))
        }),
        Block::Fields(fields),
        Block::Rule,
        Block::Table {
            columns: vec![
                col(lang.t("inv-line"), 4.0, Align::Left),
                col(lang.t("inv-qty"), 0.7, Align::Right),
                col(lang.t("inv-unit"), 1.4, Align::Right),
                col(lang.t("inv-discount"), 1.3, Align::Right),
                col(lang.t("inv-tax"), 1.1, Align::Right),
                col(lang.t("plan-total"), 1.5, Align::Right),
            ],
            rows,
            totals,
        },
    ];
    if inv.status == InvoiceStatus::Void {
        blocks.push(Block::Heading(format!(
            "{} · {}",
            lang.t("inv-status-void"),
            inv.void_reason.clone().unwrap_or_default()
        )));
    }
    if !inv.notes.is_empty() {
        blocks.push(Block::Note(inv.notes.clone()));
    }
    Ok(lh.pdf(
        format!("{} {reference}", lang.t("inv-title")),
        inv.created_at,
        vec![
            reference.clone(),
            inv.issued_on
                .map(|d| show_date(lang, d))
                .unwrap_or_default(),
        ],
        blocks,
        lang.t("doc-page-label"),
    ))
}
