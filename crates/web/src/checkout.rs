//! Post-exam checkout (seed 000's PostExamCheckout), one screen at the front desk: the plan
//! reviewed with its estimate, today's completed work invoiced in one press, the payment
//! collected (a card through the gateway, or recorded from a terminal), the next visits the
//! planner proposes booked, the receipt and invoice printed, and the "check out" task closed.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::identity::Permission;
use domain::plans::{ItemStatus, PlanStatus};
use domain::{Currency, Money, PatientId};
use serde::Deserialize;
use store::invoices::{DraftLine, InvoiceDraft, InvoiceFilter, InvoiceStatus};
use store::plans::{SeriesPreferences, SlotChoice};

use crate::AppState;
use crate::access::Auth;
use crate::clinical::plans::{VisitRow, visit_rows};
use crate::error::AppError;
use crate::invoices::{Collect, FormFields, ListRow, amount_text, collect, open_invoices, rows_of};
use crate::pages::html_status;
use crate::patients::{Choice, FieldErrors, actor, parse_patient_id, show_date};
use crate::phone::ClientIp;
use crate::shell::{Ctx, Shell};

pub struct PlanLine {
    pub code: String,
    pub name: String,
    pub tooth: String,
    pub fee: String,
    pub status: String,
    pub status_code: &'static str,
}

pub struct PlanReview {
    pub id: String,
    pub reference: String,
    pub name: String,
    pub status: String,
    pub lines: Vec<PlanLine>,
    pub total: String,
    /// What is still to do (planned or scheduled), the patient's estimate.
    pub remaining: String,
}

pub struct ChargeLine {
    pub date: String,
    pub code: String,
    pub description: String,
    pub amount: String,
}

#[derive(Template)]
#[template(path = "checkout.html")]
struct CheckoutPage {
    shell: Shell,
    patient_id: String,
    patient_name: String,
    balance: String,
    owes: bool,
    credit: String,
    currency: String,
    plan: Option<PlanReview>,
    uninvoiced: Vec<ChargeLine>,
    uninvoiced_total: String,
    invoices: Vec<ListRow>,
    pay_amount: String,
    pay_for: String,
    methods: Vec<Choice>,
    token: String,
    card_label: String,
    visits: Vec<VisitRow>,
    visits_note: String,
    book_plan: String,
    upcoming: Vec<(String, String)>,
    receipts: Vec<(String, String)>,
    can_pay: bool,
    can_book: bool,
    notice: String,
    fe: FieldErrors,
}

#[derive(Debug, Default, Deserialize)]
pub struct CheckoutQuery {
    #[serde(default)]
    pub notice: String,
}

#[allow(clippy::too_many_arguments)]
async fn page(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    ip: &ClientIp,
    patient: PatientId,
    notice: String,
    fe: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let lang = ctx.lang;
    let who = actor(auth, ctx, ip);
    let shell = Shell::build(state, ctx).await;
    let summary = state.store.patient_summary(&scope, patient).await?;
    let loc = state
        .store
        .location(&scope, summary.location_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let cur = loc.currency;
    let tz = loc.tz()?;
    let money = |m: i64| Money::from_minor(m, cur).to_string();
    let account = state.store.account(&scope, &who, patient, None).await?;
    let today = account.as_of;

    // The plan to review: the newest open one with work still to do.
    let numbering = state.store.clinical_settings(&scope).await?.numbering;
    // The front desk sees plans to book them (as on the plan's page: schedule.read).
    let plans = if auth.can(Permission::EstimatesView)
        || auth.can(Permission::TreatmentRead)
        || auth.can(Permission::ScheduleRead)
    {
        state
            .store
            .plans(
                &scope,
                &who,
                Some(patient),
                &[
                    PlanStatus::Pending,
                    PlanStatus::Presented,
                    PlanStatus::Accepted,
                    PlanStatus::InProgress,
                ],
                10,
            )
            .await?
    } else {
        Vec::new()
    };
    let chosen = plans
        .iter()
        .find(|p| p.plan.items.iter().any(|i| i.status == ItemStatus::Planned))
        .or(plans.first())
        .map(|p| &p.plan);
    let plan = chosen.map(|p| PlanReview {
        id: p.id.to_string(),
        reference: p.reference(),
        name: p.name.clone(),
        status: lang.t(&format!("plan-status-{}", p.status.code())),
        lines: p
            .items
            .iter()
            .map(|i| PlanLine {
                code: i.code.clone(),
                name: i.name.clone(),
                tooth: i
                    .tooth
                    .and_then(domain::clinical::teeth::Tooth::from_fdi)
                    .map(|t| t.show(numbering))
                    .unwrap_or_default(),
                fee: money(i.fee_minor),
                status: lang.t(&format!("plan-item-{}", i.status.code())),
                status_code: i.status.code(),
            })
            .collect(),
        total: money(p.items.iter().map(|i| i.fee_minor).sum()),
        remaining: money(
            p.items
                .iter()
                .filter(|i| matches!(i.status, ItemStatus::Planned | ItemStatus::Scheduled))
                .map(|i| i.fee_minor)
                .sum(),
        ),
    });

    // The next visits, as the planner proposes them.
    let mut visits = Vec::new();
    let mut visits_note = String::new();
    let mut book_plan = String::new();
    let can_book = auth.can(Permission::ScheduleWrite);
    if let Some(p) = chosen.filter(|p| p.items.iter().any(|i| i.status == ItemStatus::Planned)) {
        match state
            .store
            .propose_series(&scope, &who, p.id, &SeriesPreferences::default())
            .await
        {
            Ok(proposal) => {
                let providers = state.store.agenda_providers(&scope, loc.id).await?;
                let chairs = state.store.operatories(&scope, loc.id, true).await?;
                visits = visit_rows(lang, &tz, &providers, &chairs, numbering, &proposal);
                book_plan = p.id.to_string();
            }
            Err(store::tenancy::WriteError::Invalid(d)) => visits_note = d.message,
            Err(e) => return Err(e.into()),
        }
    } else {
        visits_note = lang.t("co-no-planned-work");
    }
    let now = state.store.now();
    let upcoming = if auth.can(Permission::ScheduleRead) {
        state
            .store
            .patient_appointments(&scope, &who, patient, 50)
            .await?
            .into_iter()
            .filter(|a| {
                a.appointment.start > now
                    && a.appointment.cancelled_at.is_none()
                    && a.appointment.no_show_at.is_none()
            })
            .map(|a| {
                (
                    a.appointment
                        .start
                        .to_zoned(tz.clone())
                        .strftime("%a %Y-%m-%d %H:%M")
                        .to_string(),
                    a.type_name.unwrap_or_default(),
                )
            })
            .collect::<Vec<_>>()
    } else {
        Vec::new()
    };

    // Today's work not on an invoice, and the invoices still open (or paid today).
    let uninvoiced = state.store.uninvoiced_charges(&scope, patient).await?;
    let uninvoiced_total = uninvoiced.iter().map(|c| c.amount).sum::<i64>();
    let invoices = state
        .store
        .invoices(
            &scope,
            &who,
            &InvoiceFilter {
                patient: Some(patient),
                stored_status: Some("issued"),
                limit: 20,
                ..InvoiceFilter::default()
            },
        )
        .await?;
    let open: Vec<_> = invoices
        .iter()
        .filter(|i| {
            matches!(i.status, InvoiceStatus::Issued | InvoiceStatus::PartlyPaid)
                || i.issued_on == Some(today)
        })
        .cloned()
        .collect();
    let pay_for = open
        .iter()
        .find(|i| matches!(i.status, InvoiceStatus::Issued | InvoiceStatus::PartlyPaid))
        .and_then(|i| i.label.clone())
        .unwrap_or_default();
    let receipts = state
        .store
        .postings(&scope, &who, patient, 50)
        .await?
        .into_iter()
        .filter(|p| {
            p.patient_id == patient
                && p.posted_on == today
                && matches!(p.kind.as_str(), "payment" | "prepayment" | "apply_credit")
        })
        .map(|p| {
            (
                format!("{} · {}", lang.t("acct-receipt"), money(p.amount)),
                format!("/patients/{patient}/payments/{}/receipt", p.id),
            )
        })
        .collect();
    let html = CheckoutPage {
        patient_id: patient.to_string(),
        patient_name: summary.display_name(),
        balance: money(account.balance),
        owes: account.balance > 0,
        credit: money(account.credit),
        currency: cur.code().to_string(),
        plan,
        uninvoiced: uninvoiced
            .iter()
            .map(|c| ChargeLine {
                date: show_date(lang, c.posted_on),
                code: c.reference.clone(),
                description: c.reason.clone(),
                amount: money(c.amount),
            })
            .collect(),
        uninvoiced_total: money(uninvoiced_total),
        invoices: rows_of(lang, &open),
        pay_amount: amount_text(account.balance.max(0), cur),
        pay_for,
        methods: crate::billing::method_choices(lang, "card"),
        token: state.store.new_uuid().to_string(),
        card_label: lang.t(&format!("co-card-{}", state.cards.name())),
        visits,
        visits_note,
        book_plan,
        upcoming,
        receipts,
        can_pay: auth.can(Permission::BillingPost),
        can_book,
        notice,
        fe,
        shell,
    };
    html_status(&html, status)
}

/// `GET /patients/{id}/checkout`.
pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    Query(q): Query<CheckoutQuery>,
) -> Result<Response, AppError> {
    let patient = parse_patient_id(&id)?;
    let notice = match q.notice.as_str() {
        "invoiced" | "paid" | "again" | "booked" | "finished" => {
            ctx.lang.t(&format!("co-notice-{}", q.notice))
        }
        _ => String::new(),
    };
    page(
        &state,
        &ctx,
        &auth,
        &ip,
        patient,
        notice,
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// `POST /patients/{id}/checkout` with `action`: `invoice` (today's work not invoiced, issued
/// as one invoice), `pay` (`amount`, `method`, `card`, `reference`, the form's `token`; it pays
/// the open invoice first), `book` (`plan` and the proposed `slot_start`, `slot_operatory`,
/// `slot_provider`, as shown), `finish` (the checkout task is done).
pub async fn act(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let patient = parse_patient_id(&id)?;
    let scope = auth.scope();
    let who = actor(&auth, &ctx, &ip);
    let summary = state.store.patient_summary(&scope, patient).await?;
    let f = FormFields::parse(&body);
    let forbidden = |what: &str| {
        AppError::Domain(domain::DomainError::new(
            domain::ErrorCode::Forbidden,
            format!("this needs the {what} permission"),
        ))
    };
    let outcome: Result<&str, AppError> = match f.get("action").as_str() {
        "invoice" => {
            let lines: Vec<DraftLine> = state
                .store
                .uninvoiced_charges(&scope, patient)
                .await?
                .iter()
                .map(|c| DraftLine::procedure(c.id))
                .collect();
            if lines.is_empty() {
                Err(AppError::Domain(domain::DomainError::field(
                    "lines",
                    ctx.lang.t("inv-no-charges"),
                )))
            } else {
                let draft = InvoiceDraft {
                    lines,
                    ..InvoiceDraft::default()
                };
                match state
                    .store
                    .create_invoice(&scope, &who, patient, &draft, false)
                    .await
                {
                    Ok(inv) => state
                        .store
                        .issue_invoice(&scope, &who, inv.id, false)
                        .await
                        .map(|_| "invoiced")
                        .map_err(AppError::from),
                    Err(e) => Err(e.into()),
                }
            }
        }
        "pay" => {
            let cur = state
                .store
                .location(&scope, summary.location_id)
                .await?
                .map(|l| l.currency)
                .unwrap_or(Currency::USD);
            let open = open_invoices(&state, &scope, &who, patient)
                .await?
                .into_iter()
                .next();
            match crate::billing::parse_amount(&f.get("amount"), cur) {
                Ok(m) if m.minor() > 0 => {
                    collect(
                        &state,
                        &scope,
                        &who,
                        Collect {
                            patient,
                            invoice: open.as_ref(),
                            amount: m.minor(),
                            currency: cur,
                            method: &f.get("method"),
                            card: &f.get("card"),
                            reference: &f.get("reference"),
                            token: &f.get("token"),
                        },
                    )
                    .await
                }
                _ => Err(AppError::Domain(domain::DomainError::field(
                    "amount",
                    format!("{} ({})", ctx.lang.t("acct-amount-invalid"), cur.code()),
                ))),
            }
        }
        "book" => {
            if !auth.can(Permission::ScheduleWrite) {
                return Err(forbidden("schedule.write"));
            }
            let plan: uuid::Uuid = f.get("plan").parse().map_err(|_| AppError::NotFound)?;
            let slots: Option<Vec<SlotChoice>> = f
                .all("slot_start")
                .iter()
                .zip(f.all("slot_operatory"))
                .zip(f.all("slot_provider"))
                .map(|((s, c), p)| {
                    Some(SlotChoice {
                        start: s.parse().ok()?,
                        operatory_id: c.parse().ok()?,
                        provider_id: p.parse().ok()?,
                    })
                })
                .collect();
            state
                .store
                .accept_series(
                    &scope,
                    &who,
                    store::scheduling::appointments::Permits {
                        may_override: auth.can(Permission::ScheduleOverride),
                    },
                    plan,
                    &SeriesPreferences::default(),
                    slots.as_deref().filter(|s| !s.is_empty()),
                )
                .await
                .map(|_| "booked")
                .map_err(AppError::from)
        }
        "finish" => state
            .store
            .finish_checkout(&scope, &who, patient)
            .await
            .map(|_| "finished")
            .map_err(AppError::from),
        _ => Err(AppError::Domain(domain::DomainError::field(
            "action",
            "invoice, pay, book or finish",
        ))),
    };
    match outcome {
        Ok(n) => {
            Ok(Redirect::to(&format!("/patients/{patient}/checkout?notice={n}")).into_response())
        }
        Err(AppError::Domain(d)) => {
            let status = crate::billing::refusal_status(&d);
            page(
                &state,
                &ctx,
                &auth,
                &ip,
                patient,
                String::new(),
                crate::billing::form_errors(&d),
                status,
            )
            .await
        }
        Err(e) => Err(e),
    }
}
