//! The books over HTTP: payments safe to retry (the `Idempotency-Key` header, as Stripe does)
//! and a patient's account with its aging as of any day.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::billing::{Entry, Method};
use domain::identity::Permission;
use domain::{Currency, DomainError, ErrorCode, LocationId, Money};
use jiff::civil::Date;
use serde::Deserialize;
use serde_json::{Value, json};
use store::ledger::{Claim, NewPosting, PatientAccount, Posting};

use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::mfa::form_urlencoded_pairs;
use crate::pages::html_status;
use crate::patients::{Choice, FieldErrors, actor, parse_patient_id, show_date};
use crate::phone::ClientIp;
use crate::shell::{Ctx, Shell};

fn field_err(field: &str, m: impl Into<String>) -> AppError {
    AppError::Domain(DomainError::field(field, m))
}

/// The ways a desk payment is taken (every method, and credit on account), `chosen` selected.
pub(crate) fn method_choices(lang: crate::i18n::Lang, chosen: &str) -> Vec<Choice> {
    Method::ALL
        .iter()
        .map(|m| m.code())
        .chain(std::iter::once("credit"))
        .map(|m| Choice {
            value: m.to_string(),
            label: lang.t(&format!("method-{m}")),
            selected: m == chosen,
        })
        .collect()
}

/// The status a refused form answers with: the error's own (a 409, a 403), else 422.
pub(crate) fn refusal_status(d: &DomainError) -> StatusCode {
    StatusCode::from_u16(d.code.http_status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY)
}

/// A domain error's fields for a form, or its message when it names none (a conflict).
pub(crate) fn form_errors(d: &DomainError) -> FieldErrors {
    let mut fe = FieldErrors::of(&d.fields);
    if fe.is_empty() {
        fe.0.push((String::new(), d.message.clone()));
    }
    fe
}

/// A payment as the API takes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentBody {
    pub patient_id: String,
    /// Minor units.
    pub amount: i64,
    pub currency: String,
    /// `cash`, `card`, `cheque`, `bank_transfer`, `insurance`, or `credit` (credit on account).
    pub method: String,
    #[serde(default)]
    pub invoice_id: Option<String>,
    #[serde(default)]
    pub location_id: Option<String>,
    #[serde(default)]
    pub reference: Option<String>,
    /// The charges paid: `[{"charge_id", "amount"}]`; the oldest first without it.
    #[serde(default)]
    pub allocations: Option<Vec<AllocationBody>>,
    /// More than what is owed: the rest as credit on account (otherwise refused).
    #[serde(default)]
    pub rest_to_credit: bool,
    /// The patient's payment plan this pays.
    #[serde(default)]
    pub payment_plan_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllocationBody {
    pub charge_id: String,
    pub amount: i64,
}

fn posting_json(p: &Posting) -> Value {
    json!({
        "id": p.id,
        "seq": p.seq,
        "kind": p.kind,
        "amount": p.amount,
        "currency": p.currency,
        "method": p.method.map(|m| m.code()),
        "posted_on": p.posted_on.to_string(),
        "posted_at": p.posted_at.to_string(),
        "reference": p.reference,
        "allocations": p.allocations.iter().map(|(c, a)| json!({ "charge_id": c, "amount": a })).collect::<Vec<_>>(),
    })
}

/// The payment's answer: the postings it made (a payment, and the rest as credit).
fn payment_json(postings: &[Posting]) -> Value {
    let first = postings.first();
    let credit: i64 = postings
        .iter()
        .filter(|p| p.kind == "prepayment")
        .map(|p| p.amount)
        .sum();
    json!({
        "id": first.map(|p| p.id),
        "patient_id": first.map(|p| p.patient_id),
        "amount": postings.iter().map(|p| p.amount).sum::<i64>(),
        "currency": first.map(|p| p.currency.clone()),
        "method": first.and_then(|p| p.method.map(|m| m.code())),
        "posted_on": first.map(|p| p.posted_on.to_string()),
        "to_credit": credit,
        "postings": postings.iter().map(posting_json).collect::<Vec<_>>(),
    })
}

fn created(body: String, replayed: bool) -> Response {
    let mut r = (StatusCode::CREATED, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if replayed {
        h.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    r
}

/// `POST /api/v1/payments` with an `Idempotency-Key`: 201 with the payment; the same key and
/// body again → the same 201 (header `Idempotent-Replayed: true`); the key with another body
/// → 422; while the first is being answered → 409. A refused payment keeps nothing: the key
/// stays free.
pub async fn api_pay(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| {
            field_err(
                "Idempotency-Key",
                "send an Idempotency-Key header (1 to 255 characters): a retry with it cannot pay twice",
            )
        })?
        .to_string();
    let value: Value =
        serde_json::from_slice(&body).map_err(|e| field_err("body", format!("not JSON: {e}")))?;
    let b: PaymentBody = serde_json::from_value(value.clone())
        .map_err(|e| field_err("body", format!("not a payment: {e}")))?;
    // The request's identity: its JSON with the keys in order (spacing and order do not
    // make another request).
    let hash = hex::encode(ring::digest::digest(
        &ring::digest::SHA256,
        value.to_string().as_bytes(),
    ));
    let scope = auth.scope();
    let org = scope.org();
    match state.store.claim_idempotent(org, &key, &hash).await? {
        Claim::New => {}
        Claim::Replay { body, .. } => {
            let ids: Value =
                serde_json::from_str(&body).map_err(|e| AppError::Internal(e.to_string()))?;
            let mut postings = Vec::new();
            for id in ids["postings"].as_array().into_iter().flatten() {
                let id = id.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| {
                    AppError::Internal("a stored answer without its postings".into())
                })?;
                postings.push(state.store.posting(&scope, id).await?);
            }
            return Ok(created(payment_json(&postings).to_string(), true));
        }
        Claim::Mismatch => {
            return Err(field_err(
                "Idempotency-Key",
                "this key was used with another request; a new payment needs a new key",
            ));
        }
        Claim::InFlight => {
            return Err(AppError::Domain(DomainError::new(
                ErrorCode::Conflict,
                "a request with this Idempotency-Key is being answered; retry in a moment",
            )));
        }
    }
    let result = pay(&state, &ctx, &auth, &ip, &b, &key).await;
    match result {
        Ok(postings) => Ok(created(payment_json(&postings).to_string(), false)),
        Err(e) => {
            state.store.release_idempotent(org, &key).await?;
            Err(e)
        }
    }
}

async fn pay(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    ip: &ClientIp,
    b: &PaymentBody,
    key: &str,
) -> Result<Vec<Posting>, AppError> {
    let patient =
        parse_patient_id(&b.patient_id).map_err(|_| field_err("patient_id", "not a patient id"))?;
    let invoice = match &b.invoice_id {
        Some(i) => Some(
            i.parse::<uuid::Uuid>()
                .map_err(|_| field_err("invoice_id", "not an invoice id"))?,
        ),
        None => None,
    };
    if b.amount <= 0 {
        return Err(field_err(
            "amount",
            "must be more than zero, in minor units (money given back is a refund)",
        ));
    }
    let entry = match b.method.as_str() {
        "credit" => Entry::ApplyCredit { amount: b.amount },
        m => Entry::Payment {
            amount: b.amount,
            method: Method::from_code(m).ok_or_else(|| {
                field_err(
                    "method",
                    "one of cash, card, cheque, bank_transfer, insurance, credit",
                )
            })?,
        },
    };
    let location = match &b.location_id {
        Some(l) => Some(
            l.parse::<LocationId>()
                .map_err(|_| field_err("location_id", "not a location id"))?,
        ),
        None => None,
    };
    let allocations = match &b.allocations {
        Some(a) => Some(
            a.iter()
                .enumerate()
                .map(|(i, x)| {
                    Ok((
                        x.charge_id.parse::<uuid::Uuid>().map_err(|_| {
                            field_err(&format!("allocations[{i}].charge_id"), "not an id")
                        })?,
                        x.amount,
                    ))
                })
                .collect::<Result<Vec<_>, AppError>>()?,
        ),
        None => None,
    };
    let payment_plan = match &b.payment_plan_id {
        Some(p) => Some(
            p.parse::<uuid::Uuid>()
                .map_err(|_| field_err("payment_plan_id", "not a payment plan id"))?,
        ),
        None => None,
    };
    let new = NewPosting {
        location,
        payment_plan,
        invoice,
        currency: Some(b.currency.clone()),
        reference: b.reference.clone().unwrap_or_default(),
        allocations,
        rest_to_credit: b.rest_to_credit,
        idempotency_key: Some(key.to_string()),
        ..NewPosting::new(patient, entry, "payment")
    };
    Ok(state
        .store
        .post(&auth.scope(), &actor(auth, ctx, ip), &new)
        .await?)
}

#[derive(Debug, Deserialize)]
pub struct AccountQuery {
    #[serde(default)]
    pub as_of: String,
}

pub fn account_json(a: &PatientAccount) -> Value {
    json!({
        "patient_id": a.patient_id,
        "as_of": a.as_of.to_string(),
        "currency": a.currency,
        "balance": a.balance,
        "credit": a.credit,
        "charged": a.charged,
        "paid": a.paid,
        "aging": {
            "current": a.aging.current,
            "over_30": a.aging.over_30,
            "over_60": a.aging.over_60,
            "over_90": a.aging.over_90,
            "over_120": a.aging.over_120,
        },
    })
}

/// `GET /api/v1/patients/{id}/account[?as_of=YYYY-MM-DD]`: balance, credit and aging in minor
/// units, as of the end of that day (today without it).
pub async fn api_account(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    Query(q): Query<AccountQuery>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let as_of = match q.as_of.trim() {
        "" => None,
        d => Some(
            d.parse::<Date>()
                .map_err(|_| field_err("as_of", "a date as YYYY-MM-DD"))?,
        ),
    };
    let a = state
        .store
        .account(&auth.scope(), &actor(&auth, &ctx, &ip), id, as_of)
        .await?;
    Ok(Json(account_json(&a)).into_response())
}

// ---------- the patient's account page ----------

pub struct PostingView {
    pub id: String,
    pub seq: i64,
    pub date: String,
    pub kind: String,
    pub kind_label: String,
    pub detail: String,
    pub effect: String,
    pub credit: bool,
    pub by: String,
    pub reversed: bool,
    pub reversible: bool,
    /// A payment: its receipt can be printed.
    pub receipt: bool,
}

pub struct PlanView {
    pub id: String,
    pub reference: String,
    pub summary: String,
    pub total: String,
    pub paid: String,
    pub next: String,
    pub overdue: usize,
    pub completed: bool,
    pub autopay: bool,
    pub autopay_error: String,
    /// (n, due, amount, left)
    pub installments: Vec<(u32, String, String, String)>,
}

pub struct FamilyView {
    pub guarantor: String,
    pub total: String,
    /// (id, name, balance, this patient)
    pub members: Vec<(String, String, String, bool)>,
}

#[derive(askama::Template)]
#[template(path = "patient_account.html")]
struct AccountPage {
    family: Option<FamilyView>,
    invoices: Vec<crate::invoices::ListRow>,
    plans: Vec<PlanView>,
    first_due: String,
    shell: Shell,
    patient_id: String,
    patient_name: String,
    balance: String,
    owes: bool,
    credit: String,
    as_of: String,
    currency: String,
    /// (label, amount, overdue and not zero)
    aging: Vec<(String, String, bool)>,
    rows: Vec<PostingView>,
    can_pay: bool,
    can_void: bool,
    methods: Vec<Choice>,
    token: String,
    amount: String,
    notice: String,
    fe: FieldErrors,
}

#[derive(Debug, Default, Deserialize)]
pub struct AccountPageQuery {
    #[serde(default)]
    pub notice: String,
}

struct Form {
    amount: String,
    method: String,
    notice: String,
    fe: FieldErrors,
}

async fn account_page(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    ip: &ClientIp,
    patient: domain::PatientId,
    form: Form,
    status: StatusCode,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let lang = ctx.lang;
    let who = actor(auth, ctx, ip);
    let summary = state.store.patient_summary(&scope, patient).await?;
    let a = state.store.account(&scope, &who, patient, None).await?;
    let postings = state.store.postings(&scope, &who, patient, 200).await?;
    let cur = Currency::from_code(&a.currency).unwrap_or(Currency::USD);
    let money = |m: i64| Money::from_minor(m, cur).to_string();
    let reversed: std::collections::HashSet<uuid::Uuid> =
        postings.iter().filter_map(|p| p.reverses).collect();
    let seq_of: std::collections::HashMap<uuid::Uuid, i64> =
        postings.iter().map(|p| (p.id, p.seq)).collect();
    let rows = postings
        .iter()
        .map(|p| {
            let effect = if p.patient_id == patient {
                p.receivable()
            } else {
                // A transfer from a family member: what it moved to this patient.
                p.lines
                    .iter()
                    .filter(|l| l.party == Some(patient.as_uuid()))
                    .map(|l| l.amount)
                    .sum()
            };
            let mut detail = match p.method {
                Some(m) => lang.t(&format!("method-{}", m.code())),
                None => String::new(),
            };
            let note = if p.kind == "reversal" {
                format!(
                    "{} #{} · {}",
                    lang.t("acct-reverses"),
                    p.reverses
                        .and_then(|r| seq_of.get(&r).copied())
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "?".into()),
                    p.reason
                )
            } else if p.reason == "payment" || p.reason == p.reference {
                // The API's and the form's own word: the reference says more.
                p.reference.clone()
            } else if p.reference.is_empty() || p.reason.contains(&p.reference) {
                p.reason.clone()
            } else {
                format!("{} · {}", p.reason, p.reference)
            };
            if !note.is_empty() {
                if !detail.is_empty() {
                    detail.push_str(" · ");
                }
                detail.push_str(&note);
            }
            PostingView {
                id: p.id.to_string(),
                seq: p.seq,
                date: show_date(lang, p.posted_on),
                kind: p.kind.clone(),
                kind_label: lang.t(&format!("acct-kind-{}", p.kind)),
                detail,
                effect: if effect == 0 {
                    "—".into()
                } else {
                    money(effect)
                },
                credit: effect < 0,
                by: p.actor_name.clone(),
                reversed: reversed.contains(&p.id),
                reversible: p.kind != "reversal" && !reversed.contains(&p.id),
                receipt: p.patient_id == patient
                    && matches!(p.kind.as_str(), "payment" | "prepayment" | "apply_credit"),
            }
        })
        .collect();
    let buckets = [
        ("acct-current", a.aging.current, false),
        ("acct-over-30", a.aging.over_30, true),
        ("acct-over-60", a.aging.over_60, true),
        ("acct-over-90", a.aging.over_90, true),
        ("acct-over-120", a.aging.over_120, true),
    ];
    let chosen = if form.method.is_empty() {
        "card"
    } else {
        form.method.as_str()
    };
    let methods = method_choices(lang, chosen);
    // The family under its guarantor, when there is more than this patient.
    let family = match state.store.family(&scope, summary.family_id).await {
        Ok(f) if f.members.len() > 1 => {
            let (total, members) = state
                .store
                .family_account(&scope, &who, summary.family_id, None)
                .await?;
            Some(FamilyView {
                guarantor: f.guarantor_name(),
                total: money(total.balance),
                members: members
                    .iter()
                    .map(|(m, a)| {
                        (
                            m.id.to_string(),
                            m.display_name(),
                            money(a.balance),
                            m.id == patient,
                        )
                    })
                    .collect(),
            })
        }
        _ => None,
    };
    let plans = state
        .store
        .payment_plans(&scope, patient)
        .await?
        .iter()
        .map(|p| PlanView {
            id: p.id.to_string(),
            reference: p.reference(),
            summary: format!(
                "{} {} ({})",
                p.installments.len(),
                lang.t(&format!("acct-plan-each-{}", p.terms.frequency.code())),
                if p.terms.annual_rate_bp == 0 {
                    lang.t("plan-no-interest")
                } else {
                    format!(
                        "{}.{:02} %",
                        p.terms.annual_rate_bp / 100,
                        p.terms.annual_rate_bp % 100
                    )
                }
            ),
            total: money(p.total()),
            paid: money(p.paid),
            next: match p.next_due() {
                Some((i, left)) => format!("{} · {}", show_date(lang, i.due), money(left)),
                None => "—".into(),
            },
            overdue: p.overdue.len(),
            completed: p.completed,
            autopay: p.autopay,
            autopay_error: p.autopay_error.clone().unwrap_or_default(),
            installments: p
                .installments
                .iter()
                .zip(&p.left)
                .map(|(i, l)| (i.n, show_date(lang, i.due), money(i.amount), money(*l)))
                .collect(),
        })
        .collect();
    let invoices = crate::invoices::rows_of(
        lang,
        &state
            .store
            .invoices(
                &scope,
                &who,
                &store::invoices::InvoiceFilter {
                    patient: Some(patient),
                    limit: 20,
                    ..Default::default()
                },
            )
            .await?,
    );
    let page = AccountPage {
        family,
        invoices,
        plans,
        // Tomorrow at the patient's location.
        first_due: a
            .as_of
            .tomorrow()
            .map(|d| d.to_string())
            .unwrap_or_default(),
        shell: Shell::build(state, ctx).await,
        patient_id: patient.to_string(),
        patient_name: summary.display_name(),
        balance: money(a.balance),
        owes: a.balance > 0,
        credit: money(a.credit),
        as_of: show_date(lang, a.as_of),
        currency: a.currency.clone(),
        aging: buckets
            .iter()
            .map(|(k, v, late)| (lang.t(k), money(*v), *late && *v > 0))
            .collect(),
        rows,
        can_pay: auth.can(Permission::BillingPost),
        can_void: auth.can(Permission::BillingVoid),
        methods,
        token: state.store.new_uuid().to_string(),
        amount: form.amount,
        notice: form.notice,
        fe: form.fe,
    };
    html_status(&page, status)
}

/// `GET /patients/{id}/account`: balance, credit, aging, the postings (newest first), and the
/// payment form for those who may take one.
pub async fn account(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    Query(q): Query<AccountPageQuery>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let notice = match q.notice.as_str() {
        "paid" | "reversed" | "again" | "plan" | "statement" => {
            ctx.lang.t(&format!("acct-notice-{}", q.notice))
        }
        _ => String::new(),
    };
    account_page(
        &state,
        &ctx,
        &auth,
        &ip,
        id,
        Form {
            amount: String::new(),
            method: String::new(),
            notice,
            fe: FieldErrors::default(),
        },
        StatusCode::OK,
    )
    .await
}

/// `POST /patients/{id}/account`: `action=pay` (`amount` as typed, `method`, `reference`,
/// `rest_to_credit`, and the form's `token`: a second press of the button, or the browser's
/// resend, takes nothing twice) or `action=reverse` (`posting`, `reason`; `billing.void`).
pub async fn account_act(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let patient = parse_patient_id(&id)?;
    let scope = auth.scope();
    // The record first: another organization's id is not found, whatever was sent.
    let summary = state.store.patient_summary(&scope, patient).await?;
    let who = actor(&auth, &ctx, &ip);
    let pairs: Vec<(String, String)> = form_urlencoded_pairs(&body).collect();
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let back = |notice: &str| {
        Ok(
            axum::response::Redirect::to(&format!("/patients/{patient}/account?notice={notice}"))
                .into_response(),
        )
    };
    let refused = |e: AppError, amount: String, method: String| async {
        match e {
            AppError::Domain(d) => {
                let fe = form_errors(&d);
                account_page(
                    &state,
                    &ctx,
                    &auth,
                    &ip,
                    patient,
                    Form {
                        amount,
                        method,
                        notice: String::new(),
                        fe,
                    },
                    refusal_status(&d),
                )
                .await
            }
            e => Err(e),
        }
    };
    match get("action").as_str() {
        "pay" => {
            let (amount_text, method) = (get("amount"), get("method"));
            let cur = state
                .store
                .location(&scope, summary.location_id)
                .await?
                .map(|l| l.currency)
                .unwrap_or(Currency::USD);
            let amount = match parse_amount(&amount_text, cur) {
                Ok(m) if m.minor() > 0 => m.minor(),
                _ => {
                    return refused(
                        field_err(
                            "amount",
                            format!("{} ({})", ctx.lang.t("acct-amount-invalid"), cur.code()),
                        ),
                        amount_text,
                        method,
                    )
                    .await;
                }
            };
            let entry = match method.as_str() {
                "credit" => Entry::ApplyCredit { amount },
                m => match Method::from_code(m) {
                    Some(method) => Entry::Payment { amount, method },
                    None => {
                        return refused(field_err("method", "unknown method"), amount_text, method)
                            .await;
                    }
                },
            };
            let token = get("token");
            if token.is_empty() || token.len() > 100 {
                return Err(field_err("token", "reload the page and try again"));
            }
            let key = format!("form:{token}");
            let hash = hex::encode(ring::digest::digest(
                &ring::digest::SHA256,
                format!(
                    "{patient}|{amount}|{method}|{}|{}|{}",
                    get("reference"),
                    get("rest_to_credit"),
                    get("payment_plan")
                )
                .as_bytes(),
            ));
            match state
                .store
                .claim_idempotent(scope.org(), &key, &hash)
                .await?
            {
                Claim::New => {}
                // Sent twice: the first one counted.
                Claim::Replay { .. } | Claim::InFlight => return back("again"),
                Claim::Mismatch => {
                    return refused(
                        field_err("token", ctx.lang.t("acct-token-used")),
                        amount_text,
                        method,
                    )
                    .await;
                }
            }
            let payment_plan = match get("payment_plan").as_str() {
                "" => None,
                p => Some(p.parse::<uuid::Uuid>().map_err(|_| AppError::NotFound)?),
            };
            let new = NewPosting {
                payment_plan,
                reference: get("reference"),
                rest_to_credit: get("rest_to_credit") == "on",
                idempotency_key: Some(key.clone()),
                ..NewPosting::new(patient, entry, "payment")
            };
            match state.store.post(&scope, &who, &new).await {
                Ok(_) => back("paid"),
                Err(e) => {
                    state.store.release_idempotent(scope.org(), &key).await?;
                    refused(e.into(), amount_text, method).await
                }
            }
        }
        "plan" => {
            use domain::billing::amortize::{Frequency, Terms};
            let cur = state
                .store
                .location(&scope, summary.location_id)
                .await?
                .map(|l| l.currency)
                .unwrap_or(Currency::USD);
            let amount = |k: &str| -> Result<i64, AppError> {
                let t = get(k);
                if t.is_empty() {
                    return Ok(0);
                }
                parse_amount(&t, cur).map(|m| m.minor()).map_err(|_| {
                    field_err(
                        k,
                        format!("{} ({})", ctx.lang.t("acct-amount-invalid"), cur.code()),
                    )
                })
            };
            let rate = get("rate").replace(',', ".");
            let rate_bp = if rate.is_empty() {
                Ok(0)
            } else {
                Money::parse(&rate, Currency::USD)
                    .ok()
                    .and_then(|m| u32::try_from(m.minor()).ok())
                    .ok_or_else(|| field_err("annual_rate", "a yearly rate such as 5.99"))
            };
            let terms = (move || -> Result<Terms, AppError> {
                Ok(Terms {
                    principal: amount("principal")?,
                    down_payment: amount("down_payment")?,
                    annual_rate_bp: rate_bp?,
                    installments: get("installments")
                        .parse()
                        .map_err(|_| field_err("installments", "between 1 and 520"))?,
                    frequency: Frequency::from_code(&get("frequency"))
                        .ok_or_else(|| field_err("frequency", "weekly or monthly"))?,
                    first_due: get("first_due")
                        .parse()
                        .map_err(|_| field_err("first_due", "a date as YYYY-MM-DD"))?,
                })
            })();
            let made = match terms {
                Ok(t) => state
                    .store
                    .create_payment_plan(&scope, &who, patient, &t)
                    .await
                    .map_err(AppError::from),
                Err(e) => Err(e),
            };
            let made = match made {
                // A card on file from the start: installments are charged as they fall due.
                Ok(p) if !get("card").is_empty() => state
                    .store
                    .set_plan_autopay(&scope, &who, p.id, Some(&get("card")))
                    .await
                    .map_err(AppError::from),
                other => other,
            };
            match made {
                Ok(_) => back("plan"),
                Err(e) => refused(e, String::new(), String::new()).await,
            }
        }
        "autopay" => {
            let plan: uuid::Uuid = get("plan").parse().map_err(|_| AppError::NotFound)?;
            if state.store.payment_plan(&scope, plan).await?.patient_id != patient {
                return Err(AppError::NotFound);
            }
            let card = get("card");
            match state
                .store
                .set_plan_autopay(
                    &scope,
                    &who,
                    plan,
                    Some(card.as_str()).filter(|c| !c.is_empty()),
                )
                .await
            {
                Ok(_) => back("plan"),
                Err(e) => refused(e.into(), String::new(), String::new()).await,
            }
        }
        "reverse" => {
            if !auth.can(Permission::BillingVoid) {
                return Err(AppError::Domain(DomainError::new(
                    ErrorCode::Forbidden,
                    "reversing a posting needs billing.void",
                )));
            }
            let posting: uuid::Uuid = get("posting").parse().map_err(|_| AppError::NotFound)?;
            // The posting must be this patient's.
            let p = state.store.posting(&scope, posting).await?;
            if p.patient_id != patient {
                return Err(AppError::NotFound);
            }
            match state
                .store
                .reverse(&scope, &who, posting, &get("reason"))
                .await
            {
                Ok(_) => back("reversed"),
                Err(e) => refused(e.into(), String::new(), String::new()).await,
            }
        }
        _ => Err(field_err("action", "unknown action")),
    }
}

/// An amount as a person types it: `125.50`, `1,250.00`, or with a decimal comma `125,50`
/// (a comma followed by no more digits than the currency has is the decimal separator; with
/// three, as in `1,250`, it separates thousands).
pub fn parse_amount(text: &str, cur: Currency) -> Result<Money, domain::MoneyError> {
    let t = text.trim();
    let decimal_comma = !t.contains('.')
        && t.rsplit_once(',').is_some_and(|(_, frac)| {
            !frac.is_empty()
                && frac.len() <= usize::from(cur.exponent())
                && frac.chars().all(|c| c.is_ascii_digit())
        });
    if decimal_comma {
        let t = t.replace(['.', ' ', '\u{a0}', '\u{202f}'], "");
        return Money::parse(&t.replacen(',', ".", 1).replace(',', ""), cur);
    }
    Money::parse(t, cur)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn amounts_are_read_as_typed_in_either_language() {
        let usd = |m| Money::from_minor(m, Currency::USD);
        assert_eq!(parse_amount("125.50", Currency::USD).unwrap(), usd(12_550));
        assert_eq!(parse_amount("125,50", Currency::USD).unwrap(), usd(12_550));
        assert_eq!(parse_amount("125,5", Currency::USD).unwrap(), usd(12_550));
        assert_eq!(parse_amount("1,250", Currency::USD).unwrap(), usd(125_000));
        assert_eq!(
            parse_amount("1,250.75", Currency::USD).unwrap(),
            usd(125_075)
        );
        assert_eq!(
            parse_amount("1 250,75", Currency::USD).unwrap(),
            usd(125_075)
        );
        assert!(parse_amount("12.505", Currency::USD).is_err());
        assert!(parse_amount("abc", Currency::USD).is_err());
    }
}

// ---------- fee schedules ----------

pub struct FeeView {
    pub code: String,
    pub name: String,
    pub from: String,
    pub fee: String,
    pub catalog: String,
    /// The fee in effect today (the newest start on or before today).
    pub current: bool,
    pub future: bool,
}

pub struct ScheduleView {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub kind_label: String,
    pub scope: String,
    pub fees: Vec<FeeView>,
}

#[derive(askama::Template)]
#[template(path = "settings_fees.html")]
struct FeesPage {
    shell: Shell,
    schedules: Vec<ScheduleView>,
    codes: Vec<Choice>,
    kinds: Vec<Choice>,
    locations: Vec<Choice>,
    currency: String,
    today: String,
    notice: String,
    fe: FieldErrors,
}

async fn fees_page(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    notice: String,
    fe: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    use domain::clinical::catalog::EntryKind;
    let scope = auth.scope();
    let lang = ctx.lang;
    let locations = state.store.locations(&scope).await?;
    let (cur, today) = match locations.first() {
        Some(l) => (l.currency, state.store.now().to_zoned(l.tz()?).date()),
        None => (
            Currency::USD,
            state.store.now().to_zoned(jiff::tz::TimeZone::UTC).date(),
        ),
    };
    let money = |m: i64| Money::from_minor(m, cur).to_string();
    let catalog: std::collections::HashMap<String, (String, i64)> = state
        .store
        .procedure_codes(&scope)
        .await?
        .into_iter()
        .filter(|c| c.active && c.entry.kind == EntryKind::Procedure)
        .map(|c| {
            (
                c.entry.code.clone(),
                (c.entry.name.clone(), c.entry.fee_minor),
            )
        })
        .collect();
    let mut codes: Vec<Choice> = catalog
        .iter()
        .map(|(code, (name, fee))| Choice {
            value: code.clone(),
            label: format!("{code} — {name} ({})", money(*fee)),
            selected: false,
        })
        .collect();
    codes.sort_by(|a, b| a.value.cmp(&b.value));
    let schedules = state
        .store
        .fee_schedules(&scope)
        .await?
        .into_iter()
        .map(|s| {
            // Fees come newest first per code: the first on or before today is in effect.
            let mut seen = std::collections::HashSet::new();
            let fees = s
                .fees
                .iter()
                .map(|(code, from, fee)| {
                    let future = *from > today;
                    let current = !future && seen.insert(code.clone());
                    let (name, catalog_fee) = catalog.get(code).cloned().unwrap_or_default();
                    FeeView {
                        code: code.clone(),
                        name,
                        from: show_date(lang, *from),
                        fee: money(*fee),
                        catalog: money(catalog_fee),
                        current: current || future,
                        future,
                    }
                })
                .collect();
            ScheduleView {
                id: s.id.to_string(),
                name: s.name.clone(),
                kind: s.kind.code().to_string(),
                kind_label: lang.t(&format!("fees-kind-{}", s.kind.code())),
                scope: match (&s.location_id, &s.payer) {
                    (Some(l), _) => locations
                        .iter()
                        .find(|x| x.id == *l)
                        .map(|x| x.name.clone())
                        .unwrap_or_default(),
                    (None, Some(p)) => p.clone(),
                    _ => String::new(),
                },
                fees,
            }
        })
        .collect();
    let page = FeesPage {
        shell: Shell::build(state, ctx).await,
        schedules,
        codes,
        kinds: domain::billing::fees::ScheduleKind::ALL
            .iter()
            .map(|k| Choice {
                value: k.code().to_string(),
                label: lang.t(&format!("fees-kind-{}", k.code())),
                selected: false,
            })
            .collect(),
        locations: locations
            .iter()
            .map(|l| Choice {
                value: l.id.to_string(),
                label: l.name.clone(),
                selected: false,
            })
            .collect(),
        currency: cur.code().to_string(),
        today: today.to_string(),
        notice,
        fe,
    };
    html_status(&page, status)
}

/// `GET /settings/fees`: the schedules with their fees, and the forms to add both.
pub async fn fees(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Query(q): Query<AccountPageQuery>,
) -> Result<Response, AppError> {
    let notice = match q.notice.as_str() {
        "created" | "set" => ctx.lang.t(&format!("fees-notice-{}", q.notice)),
        _ => String::new(),
    };
    fees_page(
        &state,
        &ctx,
        &auth,
        notice,
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// `POST /settings/fees`: `action=create` (`name`, `kind`, `location`, `payer`) or
/// `action=set` (`schedule`, `code`, `fee` as typed, `from`).
pub async fn save_fees(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    body: Bytes,
) -> Result<Response, AppError> {
    use domain::billing::fees::ScheduleKind;
    let scope = auth.scope();
    let who = actor(&auth, &ctx, &ip);
    let pairs: Vec<(String, String)> = form_urlencoded_pairs(&body).collect();
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let result: Result<&str, AppError> = match get("action").as_str() {
        "create" => {
            let kind = ScheduleKind::from_code(&get("kind"))
                .ok_or_else(|| field_err("kind", "standard, location or insurance"))?;
            let location = match get("location").as_str() {
                "" => None,
                l => Some(
                    l.parse::<LocationId>()
                        .map_err(|_| field_err("location_id", "no such location"))?,
                ),
            };
            let payer = get("payer");
            state
                .store
                .create_fee_schedule(
                    &scope,
                    &who,
                    &get("name"),
                    kind,
                    location,
                    Some(payer.as_str()),
                )
                .await
                .map(|_| "created")
                .map_err(AppError::from)
        }
        "set" => {
            let schedule: uuid::Uuid = get("schedule").parse().map_err(|_| AppError::NotFound)?;
            let cur = state
                .store
                .locations(&scope)
                .await?
                .first()
                .map(|l| l.currency)
                .unwrap_or(Currency::USD);
            match (parse_amount(&get("fee"), cur), get("from").parse::<Date>()) {
                (Ok(fee), Ok(from)) if fee.minor() >= 0 => state
                    .store
                    .set_fee(&scope, &who, schedule, &get("code"), fee.minor(), from)
                    .await
                    .map(|_| "set")
                    .map_err(AppError::from),
                (Ok(_), Ok(_)) | (Err(_), _) => Err(field_err(
                    "fee",
                    format!("{} ({})", ctx.lang.t("acct-amount-invalid"), cur.code()),
                )),
                (_, Err(_)) => Err(field_err("from", "a date as YYYY-MM-DD")),
            }
        }
        _ => Err(field_err("action", "unknown action")),
    };
    match result {
        Ok(notice) => Ok(
            axum::response::Redirect::to(&format!("/settings/fees?notice={notice}"))
                .into_response(),
        ),
        Err(AppError::Domain(d)) => {
            let fe = form_errors(&d);
            fees_page(&state, &ctx, &auth, String::new(), fe, refusal_status(&d)).await
        }
        Err(e) => Err(e),
    }
}

// ---------- the walkout receipt ----------

/// `GET /patients/{id}/payments/{posting}/receipt`: the receipt of a payment (PDF, in the
/// patient's language): what was paid, how, what it paid for, and what is left to pay.
pub async fn receipt(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path((id, posting)): Path<(String, String)>,
) -> Result<Response, AppError> {
    use documents::{Align, Block, Column};
    let patient = parse_patient_id(&id)?;
    let posting: uuid::Uuid = posting.parse().map_err(|_| AppError::NotFound)?;
    let scope = auth.scope();
    let who = actor(&auth, &ctx, &ip);
    let summary = state.store.patient_summary(&scope, patient).await?;
    let p = state.store.posting(&scope, posting).await?;
    if p.patient_id != patient
        || !matches!(p.kind.as_str(), "payment" | "prepayment" | "apply_credit")
    {
        return Err(AppError::NotFound);
    }
    let lang = crate::i18n::Lang::from_code(&state.store.patient_language(&scope, patient).await?)
        .unwrap_or(ctx.lang);
    let cur = Currency::from_code(&p.currency).unwrap_or(Currency::USD);
    let money = |m: i64| Money::from_minor(m, cur).to_string();
    let account = state.store.account(&scope, &who, patient, None).await?;
    let lh = crate::clinical::rx::letterhead(&state.store, &scope, p.location_id).await?;
    let reference = format!("R-{:06}", p.seq);
    let mut fields = vec![
        (lang.t("rx-patient"), summary.display_name()),
        (lang.t("rx-chart"), summary.chart_number.to_string()),
        (lang.t("acct-date"), show_date(lang, p.posted_on)),
        (
            lang.t("acct-method"),
            match p.method {
                Some(m) => lang.t(&format!("method-{}", m.code())),
                None => lang.t("method-credit"),
            },
        ),
    ];
    if !p.reference.is_empty() {
        fields.push((lang.t("acct-reference"), p.reference.clone()));
    }
    let mut rows = Vec::new();
    for (charge, amount) in &p.allocations {
        let c = state.store.posting(&scope, *charge).await?;
        rows.push(vec![
            show_date(lang, c.posted_on),
            c.reason.clone(),
            money(c.amount),
            money(*amount),
        ]);
    }
    let col = |t: String, share: f32, align: Align| Column {
        title: t,
        share,
        align,
    };
    let mut blocks = vec![
        Block::Title(lang.t("receipt-title")),
        Block::Fields(fields),
        Block::Rule,
        Block::Heading(format!(
            "{} {}",
            lang.t("receipt-received"),
            money(p.amount)
        )),
    ];
    if !rows.is_empty() {
        blocks.push(Block::Table {
            columns: vec![
                col(lang.t("acct-date"), 1.3, Align::Left),
                col(lang.t("receipt-for"), 4.0, Align::Left),
                col(lang.t("receipt-charged"), 1.5, Align::Right),
                col(lang.t("receipt-paid"), 1.5, Align::Right),
            ],
            rows,
            totals: vec![vec![
                lang.t("plan-total"),
                String::new(),
                String::new(),
                money(p.allocations.iter().map(|a| a.1).sum()),
            ]],
        });
    }
    blocks.push(Block::Fields(vec![
        (lang.t("acct-balance"), money(account.balance)),
        (lang.t("acct-credit"), money(account.credit)),
    ]));
    blocks.push(Block::Note(lang.t("receipt-note")));
    Ok(lh.pdf(
        format!("{} {reference}", lang.t("receipt-title")),
        p.posted_at,
        vec![reference.clone(), show_date(lang, p.posted_on)],
        blocks,
        lang.t("doc-page-label"),
    ))
}

// ---------- payment plans ----------

/// A payment plan as the API takes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanBody {
    /// Minor units: what the plan covers (at most what is owed).
    pub principal: i64,
    #[serde(default)]
    pub down_payment: i64,
    /// Yearly interest in basis points (599 = 5.99 %).
    #[serde(default)]
    pub annual_rate_bp: u32,
    pub installments: u32,
    /// `weekly` or `monthly`.
    pub frequency: String,
    /// YYYY-MM-DD, today or later.
    pub first_due: String,
}

pub fn payment_plan_json(p: &store::payment_plans::PaymentPlan) -> Value {
    json!({
        "id": p.id,
        "reference": p.reference(),
        "autopay": p.autopay,
        "autopay_error": p.autopay_error,
        "due_now": p.due_now,
        "patient_id": p.patient_id,
        "currency": p.currency,
        "principal": p.terms.principal,
        "down_payment": p.terms.down_payment,
        "annual_rate_bp": p.terms.annual_rate_bp,
        "frequency": p.terms.frequency.code(),
        "interest": p.interest,
        "total": p.total(),
        "paid": p.paid,
        "down_payment_left": p.down_left,
        "completed": p.completed,
        "overdue": p.overdue,
        "installments": p.installments.iter().zip(&p.left).map(|(i, left)| json!({
            "n": i.n, "due": i.due.to_string(), "amount": i.amount, "principal": i.principal,
            "interest": i.interest, "balance_after": i.balance_after, "left": left,
        })).collect::<Vec<_>>(),
    })
}

fn plan_terms(b: &PlanBody) -> Result<domain::billing::amortize::Terms, AppError> {
    use domain::billing::amortize::{Frequency, Terms};
    Ok(Terms {
        principal: b.principal,
        down_payment: b.down_payment,
        annual_rate_bp: b.annual_rate_bp,
        installments: b.installments,
        frequency: Frequency::from_code(&b.frequency)
            .ok_or_else(|| field_err("frequency", "weekly or monthly"))?,
        first_due: b
            .first_due
            .parse()
            .map_err(|_| field_err("first_due", "a date as YYYY-MM-DD"))?,
    })
}

/// `POST /api/v1/patients/{id}/payment-plans` → 201 with the plan and its schedule.
pub async fn api_create_plan(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let patient = parse_patient_id(&id)?;
    // The record first: another organization's id is not found, whatever was sent.
    state.store.patient_summary(&auth.scope(), patient).await?;
    let b: PlanBody = serde_json::from_slice(&body)
        .map_err(|e| field_err("body", format!("not a payment plan: {e}")))?;
    let terms = plan_terms(&b)?;
    let plan = state
        .store
        .create_payment_plan(&auth.scope(), &actor(&auth, &ctx, &ip), patient, &terms)
        .await?;
    Ok((StatusCode::CREATED, Json(payment_plan_json(&plan))).into_response())
}

/// `GET /api/v1/payment-plans/{id}` → the plan, what was paid and what is overdue.
pub async fn api_plan(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id: uuid::Uuid = id.parse().map_err(|_| AppError::NotFound)?;
    let plan = state
        .store
        .payment_plan_read(&auth.scope(), &actor(&auth, &ctx, &ip), id)
        .await?;
    Ok(Json(payment_plan_json(&plan)).into_response())
}
