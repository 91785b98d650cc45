//! Statements: a family's account under its guarantor for a period — each member's opening
//! balance, postings and balance, the family's aging and what is due — as a PDF in the
//! guarantor's language (`GET /patients/{id}/statement?from=`), and by email through the job
//! outbox (`POST /patients/{id}/statement`; [`StatementMailer`] sends it and logs it).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::{Currency, Money, Scope};
use futures::future::BoxFuture;
use jiff::civil::Date;
use messaging::{Email, Mailer};
use serde::Deserialize;
use store::Store;
use store::daysheet::Statement;
use store::jobs::{Job, JobHandler, NewJob};
use store::patients::Actor;
use store::phone::NewCommunication;

use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::invoices::FormFields;
use crate::patients::{actor, parse_patient_id, show_date};
use crate::phone::ClientIp;
use crate::shell::Ctx;

/// The job that emails a statement.
pub const STATEMENT_EMAIL: &str = "statement.email";

#[derive(Debug, Default, Deserialize)]
pub struct StatementQuery {
    #[serde(default)]
    pub from: String,
}

/// The period's first day: as asked, or ninety days before today.
fn from_of(text: &str, today: Date) -> Result<Date, AppError> {
    match text.trim() {
        "" => Ok(today
            .checked_sub(jiff::Span::new().days(90))
            .unwrap_or(today)),
        t => t
            .parse::<Date>()
            .map_err(|_| AppError::Domain(domain::DomainError::field("from", "a day: YYYY-MM-DD"))),
    }
}

async fn today_of(
    state: &Store,
    scope: &Scope,
    patient: domain::PatientId,
) -> Result<Date, AppError> {
    let summary = state.patient_summary(scope, patient).await?;
    let tz = match state.location(scope, summary.location_id).await? {
        Some(l) => l.tz()?,
        None => jiff::tz::TimeZone::UTC,
    };
    Ok(state.now().to_zoned(tz).date())
}

/// The statement as lines of text (the email's body), in `lang`.
fn text_of(s: &Statement, lang: Lang, org: &str) -> String {
    let cur = Currency::from_code(&s.currency).unwrap_or(Currency::USD);
    let money = |m: i64| Money::from_minor(m, cur).to_string();
    let mut out = format!(
        "{}\n{} {}\n{} {} – {}\n\n",
        org,
        lang.t("stmt-for"),
        s.guarantor_name,
        lang.t("stmt-period"),
        show_date(lang, s.from),
        show_date(lang, s.as_of)
    );
    for m in &s.members {
        out.push_str(&format!(
            "{} — {} {}\n",
            m.patient.display_name(),
            lang.t("stmt-opening"),
            money(m.opening)
        ));
        for p in &m.postings {
            let effect = p
                .lines
                .iter()
                .filter(|l| {
                    l.party == Some(m.patient.id.as_uuid())
                        && l.account == domain::billing::Account::Receivable
                })
                .map(|l| l.amount)
                .sum::<i64>();
            if effect == 0 {
                continue;
            }
            out.push_str(&format!(
                "  {}  {:<40} {:>16}\n",
                show_date(lang, p.posted_on),
                lang.t(&format!("acct-kind-{}", p.kind)),
                money(effect)
            ));
        }
        out.push_str(&format!(
            "  {} {}\n\n",
            lang.t("stmt-closing"),
            money(m.account.balance)
        ));
    }
    out.push_str(&format!(
        "{} {}\n{}: {} {} · {} {} · {} {} · {} {} · {} {}\n",
        lang.t("stmt-due"),
        money(s.balance.max(0)),
        lang.t("acct-aging"),
        lang.t("acct-current"),
        money(s.aging.current),
        lang.t("acct-over-30"),
        money(s.aging.over_30),
        lang.t("acct-over-60"),
        money(s.aging.over_60),
        lang.t("acct-over-90"),
        money(s.aging.over_90),
        lang.t("acct-over-120"),
        money(s.aging.over_120)
    ));
    if s.credit > 0 {
        out.push_str(&format!("{} {}\n", lang.t("acct-credit"), money(s.credit)));
    }
    out
}

/// `GET /patients/{id}/statement?from=`: the family's statement as a PDF.
pub async fn pdf(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    Query(q): Query<StatementQuery>,
) -> Result<Response, AppError> {
    use documents::{Align, Block, Column};
    let patient = parse_patient_id(&id)?;
    let scope = auth.scope();
    let who = actor(&auth, &ctx, &ip);
    let today = today_of(&state.store, &scope, patient).await?;
    let s = state
        .store
        .statement(&scope, &who, patient, from_of(&q.from, today)?)
        .await?;
    let lang = Lang::from_code(&s.language).unwrap_or(ctx.lang);
    let cur = Currency::from_code(&s.currency).unwrap_or(Currency::USD);
    let money = |m: i64| Money::from_minor(m, cur).to_string();
    let summary = state.store.patient_summary(&scope, patient).await?;
    let lh = crate::clinical::rx::letterhead(&state.store, &scope, summary.location_id).await?;
    let reference = format!("ST-{}", s.as_of.strftime("%Y%m%d"));
    let col = |t: String, share: f32, align: Align| Column {
        title: t,
        share,
        align,
    };
    let mut blocks = vec![
        Block::Title(lang.t("stmt-title")),
        Block::Fields(vec![
            (lang.t("stmt-for"), s.guarantor_name.clone()),
            (
                lang.t("stmt-period"),
                format!("{} – {}", show_date(lang, s.from), show_date(lang, s.as_of)),
            ),
            (lang.t("stmt-due"), money(s.balance.max(0))),
        ]),
        Block::Rule,
    ];
    for m in &s.members {
        blocks.push(Block::Heading(m.patient.display_name()));
        let mut rows = vec![vec![
            show_date(lang, s.from),
            lang.t("stmt-opening"),
            String::new(),
            money(m.opening),
        ]];
        let mut running = m.opening;
        for p in &m.postings {
            let effect: i64 = p
                .lines
                .iter()
                .filter(|l| {
                    l.party == Some(m.patient.id.as_uuid())
                        && l.account == domain::billing::Account::Receivable
                })
                .map(|l| l.amount)
                .sum();
            if effect == 0 {
                continue;
            }
            running += effect;
            let what = if p.reason == "payment" || p.reason.is_empty() {
                lang.t(&format!("acct-kind-{}", p.kind))
            } else {
                format!(
                    "{} · {}",
                    lang.t(&format!("acct-kind-{}", p.kind)),
                    p.reason
                )
            };
            rows.push(vec![
                show_date(lang, p.posted_on),
                what,
                money(effect),
                money(running),
            ]);
        }
        blocks.push(Block::Table {
            columns: vec![
                col(lang.t("acct-date"), 1.3, Align::Left),
                col(lang.t("acct-detail"), 4.2, Align::Left),
                col(lang.t("acct-effect"), 1.5, Align::Right),
                col(lang.t("acct-balance"), 1.5, Align::Right),
            ],
            rows,
            totals: vec![vec![
                String::new(),
                lang.t("stmt-closing"),
                String::new(),
                money(m.account.balance),
            ]],
        });
    }
    blocks.push(Block::Table {
        columns: vec![
            col(lang.t("acct-current"), 1.0, Align::Right),
            col(lang.t("acct-over-30"), 1.0, Align::Right),
            col(lang.t("acct-over-60"), 1.0, Align::Right),
            col(lang.t("acct-over-90"), 1.0, Align::Right),
            col(lang.t("acct-over-120"), 1.0, Align::Right),
        ],
        rows: vec![vec![
            money(s.aging.current),
            money(s.aging.over_30),
            money(s.aging.over_60),
            money(s.aging.over_90),
            money(s.aging.over_120),
        ]],
        totals: Vec::new(),
    });
    blocks.push(Block::Heading(format!(
        "{} {}",
        lang.t("stmt-due"),
        money(s.balance.max(0))
    )));
    blocks.push(Block::Note(lang.t("stmt-note")));
    Ok(lh.pdf(
        format!("{} {reference}", lang.t("stmt-title")),
        state.store.now(),
        vec![reference.clone(), show_date(lang, s.as_of)],
        blocks,
        lang.t("doc-page-label"),
    ))
}

/// `POST /patients/{id}/statement` with `action=email` (`from`): the statement goes out by
/// email to the guarantor through the outbox. Refused without an address they agreed to.
pub async fn email(
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
    let f = FormFields::parse(&body);
    let today = today_of(&state.store, &scope, patient).await?;
    let from = from_of(&f.get("from"), today)?;
    let s = state.store.statement(&scope, &who, patient, from).await?;
    if s.email.is_none() {
        return Err(AppError::Domain(domain::DomainError::field(
            "email",
            ctx.lang.t("stmt-no-email"),
        )));
    }
    state
        .store
        .enqueue(NewJob {
            org_id: Some(scope.org()),
            ..NewJob::new(
                STATEMENT_EMAIL,
                serde_json::json!({ "patient_id": patient, "from": from.to_string(), "by": who.name }),
            )
        })
        .await?;
    Ok(Redirect::to(&format!("/patients/{patient}/account?notice=statement")).into_response())
}

/// Emails a statement (the job [`STATEMENT_EMAIL`]) and logs the message.
pub struct StatementMailer {
    pub mail: Arc<dyn Mailer>,
}

impl JobHandler for StatementMailer {
    fn run<'a>(&'a self, store: &'a Store, job: &'a Job) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let Some(org) = job.org_id else {
                return Err("a statement job without its organization".into());
            };
            let scope = Scope::system(org);
            let patient = parse_patient_id(job.payload["patient_id"].as_str().unwrap_or_default())
                .map_err(|_| "a statement job without a patient".to_string())?;
            let from: Date = job.payload["from"]
                .as_str()
                .unwrap_or_default()
                .parse()
                .map_err(|_| "a statement job without its first day".to_string())?;
            let by = job.payload["by"].as_str().unwrap_or("statement mailer");
            let who = Actor::system(by);
            let s = store
                .statement(&scope, &who, patient, from)
                .await
                .map_err(|e| e.to_string())?;
            let Some(to) = s.email.clone() else {
                // The address or the consent went away since: nothing to send.
                return Ok(());
            };
            let lang = Lang::from_code(&s.language).unwrap_or(Lang::En);
            let org_name = store
                .org(org)
                .await
                .map_err(|e| e.to_string())?
                .map(|o| o.name)
                .unwrap_or_default();
            let sent = self
                .mail
                .send(&Email {
                    to: to.clone(),
                    to_name: Some(s.guarantor_name.clone()),
                    subject: format!("{} · {org_name}", lang.t("stmt-title")),
                    text: text_of(&s, lang, &org_name),
                    html: None,
                })
                .await;
            let entry = NewCommunication {
                org_id: org,
                user_id: None,
                channel: "email",
                kind: "statement".into(),
                recipient: crate::reset::mask_email(&to),
                provider: self.mail.name().into(),
                provider_id: None,
                status: "",
                error: None,
            };
            crate::comms::record_send(store, entry, sent, true).await
        })
    }
}
