//! The books over HTTP: payments safe to retry (the `Idempotency-Key` header, as Stripe does)
//! and a patient's account with its aging as of any day.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::billing::{Entry, Method};
use domain::{DomainError, ErrorCode, LocationId};
use jiff::civil::Date;
use serde::Deserialize;
use serde_json::{Value, json};
use store::ledger::{Claim, NewPosting, PatientAccount, Posting};

use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::patients::{actor, parse_patient_id};
use crate::phone::ClientIp;
use crate::shell::Ctx;

fn field_err(field: &str, m: impl Into<String>) -> AppError {
    AppError::Domain(DomainError::field(field, m))
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
    if b.invoice_id.is_some() {
        return Err(field_err(
            "invoice_id",
            "invoices are not kept yet: pay charges with allocations",
        ));
    }
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
    let new = NewPosting {
        location,
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
