//! The money pages: `/payments` (a location's day sheet: every posting of the day, the
//! collections by method, and closing the day) and `/reports` (the financial dashboard: today's
//! production and collections, thirty days of both in SVG, receivables aged, payment plans due,
//! unpaid invoices).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::identity::Permission;
use domain::{Currency, LocationId, Money};
use jiff::civil::Date;
use serde::Deserialize;
use store::daysheet::SheetTotals;
use store::invoices::{InvoiceFilter, InvoiceStatus};

use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::invoices::FormFields;
use crate::pages::html_status;
use crate::patients::{Choice, FieldErrors, actor, show_date};
use crate::phone::ClientIp;
use crate::shell::{Ctx, Shell};

#[derive(Debug, Default, Deserialize)]
pub struct SheetQuery {
    #[serde(default)]
    pub day: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub notice: String,
}

pub struct SheetRow {
    pub seq: i64,
    pub patient_id: String,
    pub patient: String,
    pub kind: String,
    pub kind_label: String,
    pub method: String,
    pub amount: String,
    pub detail: String,
    pub by: String,
    pub receipt: String,
}

#[derive(Template)]
#[template(path = "payments.html")]
struct SheetPage {
    shell: Shell,
    day: String,
    day_label: String,
    prev: String,
    next: String,
    location: String,
    locations: Vec<Choice>,
    rows: Vec<SheetRow>,
    production: String,
    collected: String,
    methods: Vec<(String, String)>,
    discounts: String,
    write_offs: String,
    refunds: String,
    closed: bool,
    closable: bool,
    can_close: bool,
    notice: String,
    fe: FieldErrors,
}

/// The locations the user may see, the chosen one first when asked.
async fn locations(
    state: &AppState,
    auth: &Auth,
    asked: &str,
) -> Result<(domain::Location, Vec<Choice>), AppError> {
    let scope = auth.scope();
    let all: Vec<domain::Location> = state
        .store
        .locations(&scope)
        .await?
        .into_iter()
        .filter(|l| scope.allows_location(l.id))
        .collect();
    let chosen = all
        .iter()
        .find(|l| l.id.to_string() == asked)
        .or(all.first())
        .cloned()
        .ok_or(AppError::NotFound)?;
    let choices = all
        .iter()
        .map(|l| Choice {
            value: l.id.to_string(),
            label: l.name.clone(),
            selected: l.id == chosen.id,
        })
        .collect();
    Ok((chosen, choices))
}

async fn sheet_page(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    ip: &ClientIp,
    q: &SheetQuery,
    fe: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let lang = ctx.lang;
    let scope = auth.scope();
    let (loc, choices) = locations(state, auth, &q.location).await?;
    let today = state.store.now().to_zoned(loc.tz()?).date();
    let day = match q.day.as_str() {
        "" => today,
        d => d.parse::<Date>().map_err(|_| {
            AppError::Domain(domain::DomainError::field("day", "a day: YYYY-MM-DD"))
        })?,
    };
    let sheet = state
        .store
        .day_sheet(&scope, &actor(auth, ctx, ip), loc.id, day)
        .await?;
    let cur = Currency::from_code(&sheet.currency).unwrap_or(Currency::USD);
    let money = |m: i64| Money::from_minor(m, cur).to_string();
    let rows = sheet
        .lines
        .iter()
        .map(|l| {
            let p = &l.posting;
            let kind = match &l.reverses_kind {
                Some(k) => format!(
                    "{} · {}",
                    lang.t("acct-kind-reversal"),
                    lang.t(&format!("acct-kind-{k}"))
                ),
                None => lang.t(&format!("acct-kind-{}", p.kind)),
            };
            SheetRow {
                seq: p.seq,
                patient_id: p.patient_id.to_string(),
                patient: l.patient_name.clone(),
                kind: p.kind.clone(),
                kind_label: kind,
                method: p
                    .method
                    .map(|m| lang.t(&format!("method-{}", m.code())))
                    .unwrap_or_default(),
                amount: money(p.amount),
                detail: if p.reason == "payment" {
                    p.reference.clone()
                } else if p.reference.is_empty() || p.reason.contains(&p.reference) {
                    p.reason.clone()
                } else {
                    format!("{} · {}", p.reason, p.reference)
                },
                by: p.actor_name.clone(),
                receipt: if matches!(p.kind.as_str(), "payment" | "prepayment" | "apply_credit") {
                    format!("/patients/{}/payments/{}/receipt", p.patient_id, p.id)
                } else {
                    String::new()
                },
            }
        })
        .collect();
    let t = &sheet.totals;
    let day_link = |d: Option<Date>| {
        d.map(|d| format!("/payments?location={}&day={d}", loc.id))
            .unwrap_or_default()
    };
    let notice = match q.notice.as_str() {
        "closed" => lang.t("pay-notice-closed"),
        _ => String::new(),
    };
    let page = SheetPage {
        shell: Shell::build(state, ctx).await,
        day: day.to_string(),
        day_label: show_date(lang, day),
        prev: day_link(day.yesterday().ok()),
        next: if day < today {
            day_link(day.tomorrow().ok())
        } else {
            String::new()
        },
        location: loc.id.to_string(),
        locations: choices,
        rows,
        production: money(t.production),
        collected: money(t.collected()),
        methods: t
            .collections
            .iter()
            .filter(|(_, v)| **v != 0)
            .map(|(m, v)| {
                (
                    lang.t(&format!(
                        "method-{}",
                        if m.is_empty() { "credit" } else { m }
                    )),
                    money(*v),
                )
            })
            .collect(),
        discounts: money(t.discounts),
        write_offs: money(t.write_offs),
        refunds: money(t.refunds),
        closed: sheet.closed,
        closable: day < today && !sheet.closed,
        can_close: auth.can(Permission::BillingAdjust),
        notice,
        fe,
    };
    html_status(&page, status)
}

/// `GET /payments?location=&day=`: the day sheet of a location (today by default).
pub async fn payments(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Query(q): Query<SheetQuery>,
) -> Result<Response, AppError> {
    sheet_page(
        &state,
        &ctx,
        &auth,
        &ip,
        &q,
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// `POST /payments` with `action=close`, `location`, `day` (`billing.adjust`): the day's
/// postings become final; a correction posts to today.
pub async fn close(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    body: Bytes,
) -> Result<Response, AppError> {
    let f = FormFields::parse(&body);
    let q = SheetQuery {
        day: f.get("day"),
        location: f.get("location"),
        notice: String::new(),
    };
    if !auth.can(Permission::BillingAdjust) {
        return Err(AppError::Domain(domain::DomainError::new(
            domain::ErrorCode::Forbidden,
            "closing a day needs the billing.adjust permission",
        )));
    }
    let location: LocationId = q
        .location
        .parse()
        .map_err(|_| AppError::Domain(domain::DomainError::field("location", "not a location")))?;
    let day: Date = q
        .day
        .parse()
        .map_err(|_| AppError::Domain(domain::DomainError::field("day", "a day: YYYY-MM-DD")))?;
    match state
        .store
        .close_day(&auth.scope(), &actor(&auth, &ctx, &ip), location, day)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!(
            "/payments?location={location}&day={day}&notice=closed"
        ))
        .into_response()),
        Err(store::tenancy::WriteError::Invalid(d)) => {
            let fe = crate::billing::form_errors(&d);
            sheet_page(
                &state,
                &ctx,
                &auth,
                &ip,
                &q,
                fe,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// Two series of bars per day (production and collections), in SVG, scaled to the largest.
fn bars_svg(days: &[(Date, SheetTotals)], label: &dyn Fn(Date) -> String, title: &str) -> String {
    let (w, h, pad) = (720.0_f64, 180.0_f64, 24.0_f64);
    let top = days
        .iter()
        .map(|(_, t)| t.production.max(t.collected()))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let n = days.len().max(1) as f64;
    let slot = (w - pad) / n;
    let bw = (slot / 2.0 - 1.0).max(1.0);
    let mut s = format!(
        r#"<svg class="chart" viewBox="0 0 {w} {}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        h + 20.0,
        crate::clinical::svg::esc(title)
    );
    s.push_str(&format!(
        r#"<line x1="{pad}" y1="{h}" x2="{w}" y2="{h}" class="axis"/>"#
    ));
    for (i, (d, t)) in days.iter().enumerate() {
        let x = pad + i as f64 * slot;
        let ph = t.production.max(0) as f64 / top * (h - 10.0);
        let ch = t.collected().max(0) as f64 / top * (h - 10.0);
        s.push_str(&format!(
            r#"<rect class="bar-production" x="{x:.1}" y="{:.1}" width="{bw:.1}" height="{ph:.1}"><title>{} · {}</title></rect>"#,
            h - ph,
            label(*d),
            t.production
        ));
        s.push_str(&format!(
            r#"<rect class="bar-collections" x="{:.1}" y="{:.1}" width="{bw:.1}" height="{ch:.1}"><title>{} · {}</title></rect>"#,
            x + bw + 1.0,
            h - ch,
            label(*d),
            t.collected()
        ));
        let last = i + 1 == days.len();
        if (i % 7 == 0 && days.len() - i > 3) || last {
            s.push_str(&format!(
                r#"<text x="{x:.1}" y="{}" class="tick">{}</text>"#,
                h + 14.0,
                d.strftime("%m-%d")
            ));
        }
    }
    s.push_str("</svg>");
    s
}

/// One horizontal bar per aging bucket, in SVG.
fn aging_svg(buckets: &[(String, i64)], title: &str) -> String {
    let (w, row) = (520.0_f64, 26.0_f64);
    let top = buckets.iter().map(|b| b.1).max().unwrap_or(0).max(1) as f64;
    let mut s = format!(
        r#"<svg class="chart" viewBox="0 0 {w} {}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        row * buckets.len() as f64,
        crate::clinical::svg::esc(title)
    );
    for (i, (label, v)) in buckets.iter().enumerate() {
        let y = i as f64 * row;
        let bw = (*v).max(0) as f64 / top * (w - 140.0);
        s.push_str(&format!(
            r#"<text x="0" y="{:.1}" class="tick">{}</text><rect class="bar-aging bar-aging-{i}" x="110" y="{:.1}" width="{bw:.1}" height="{:.1}"/>"#,
            y + 17.0,
            crate::clinical::svg::esc(label),
            y + 4.0,
            row - 8.0
        ));
    }
    s.push_str("</svg>");
    s
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    shell: Shell,
    as_of: String,
    production_today: String,
    collected_today: String,
    production_30: String,
    collected_30: String,
    receivable: String,
    owing: i64,
    credits: String,
    aging: Vec<(String, String, bool)>,
    aging_chart: String,
    days_chart: String,
    plans_active: i64,
    plans_overdue: i64,
    plans_overdue_amount: String,
    plans_due_week: String,
    unpaid_count: usize,
    unpaid_due: String,
}

/// `GET /reports`: the financial dashboard.
pub async fn reports(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
) -> Result<Response, AppError> {
    let lang = ctx.lang;
    let scope = auth.scope();
    let (loc, _) = locations(&state, &auth, "").await?;
    let cur = loc.currency;
    let money = |m: i64| Money::from_minor(m, cur).to_string();
    let today = state.store.now().to_zoned(loc.tz()?).date();
    let from = today
        .checked_sub(jiff::Span::new().days(29))
        .unwrap_or(today);
    let days = state.store.daily_totals(&scope, from, today).await?;
    let r = state.store.receivables(&scope, today).await?;
    let dues = state.store.plan_dues(&scope, today).await?;
    let unpaid: Vec<_> = state
        .store
        .invoices(
            &scope,
            &actor(&auth, &ctx, &ip),
            &InvoiceFilter {
                stored_status: Some("issued"),
                limit: 500,
                ..InvoiceFilter::default()
            },
        )
        .await?
        .into_iter()
        .filter(|i| matches!(i.status, InvoiceStatus::Issued | InvoiceStatus::PartlyPaid))
        .collect();
    let buckets = [
        (lang.t("acct-current"), r.aging.current, false),
        (lang.t("acct-over-30"), r.aging.over_30, true),
        (lang.t("acct-over-60"), r.aging.over_60, true),
        (lang.t("acct-over-90"), r.aging.over_90, true),
        (lang.t("acct-over-120"), r.aging.over_120, true),
    ];
    let last = days.last().map(|d| d.1.clone()).unwrap_or_default();
    let page = ReportsPage {
        shell: Shell::build(&state, &ctx).await,
        as_of: show_date(lang, today),
        production_today: money(last.production),
        collected_today: money(last.collected()),
        production_30: money(days.iter().map(|d| d.1.production).sum()),
        collected_30: money(days.iter().map(|d| d.1.collected()).sum()),
        receivable: money(r.aging.total()),
        owing: r.owing,
        credits: money(r.credits),
        aging: buckets
            .iter()
            .map(|(k, v, late)| (k.clone(), money(*v), *late && *v > 0))
            .collect(),
        aging_chart: aging_svg(
            &buckets
                .iter()
                .map(|(k, v, _)| (k.clone(), *v))
                .collect::<Vec<_>>(),
            &lang.t("rep-aging"),
        ),
        days_chart: bars_svg(&days, &|d| show_date(lang, d), &lang.t("rep-30-days")),
        plans_active: dues.active_plans,
        plans_overdue: dues.overdue_plans,
        plans_overdue_amount: money(dues.overdue),
        plans_due_week: money(dues.due_week),
        unpaid_count: unpaid.len(),
        unpaid_due: money(unpaid.iter().map(|i| i.due).sum()),
    };
    html_status(&page, StatusCode::OK)
}
