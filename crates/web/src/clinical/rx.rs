//! Prescriptions. `/patients/{id}/prescriptions`: the patient's prescriptions and a new one —
//! choose a medicine, its defaults fill the order, the checks against the patient's allergies
//! and medicines show at once, and warnings need an override reason.
//! `/patients/{id}/prescriptions/{rx}`: one prescription, its PDF, cancelling.
//! `/prescriptions`: the organization's latest prescriptions and its medicine catalog.
//! And the JSON API over the same.

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use documents::pdf::{Info, pdf_date};
use documents::{Block, Document, Paper};
use domain::clinical::rx::{self, Medicine, Order, ROUTES, Severity, Warning, in_words};
use domain::identity::Permission;
use domain::{ErrorCode, PatientId, Scope};
use serde::Deserialize;
use serde_json::{Value, json};
use store::patients::Patient;
use store::prescriptions::{CatalogMedicine, NewPrescription, Prescription};
use store::tenancy::WriteError;

use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::mfa::form_urlencoded_pairs;
use crate::pages::html_status;
use crate::patients::{
    Banner, Choice, FieldErrors, Head, actor, banner, head, parse_patient_id, show_time, today,
};
use crate::phone::ClientIp;
use crate::shell::{Ctx, Shell};

/// A line of a list of prescriptions.
pub struct RxRow {
    pub id: String,
    pub patient_id: String,
    pub patient: String,
    pub reference: String,
    pub when: String,
    pub medicine: String,
    pub sig: String,
    pub prescriber: String,
    pub status: String,
    pub status_class: &'static str,
    pub warnings: usize,
}

fn status_of(lang: Lang, p: &Prescription, now: jiff::Timestamp) -> (String, &'static str) {
    if p.cancelled.is_some() {
        (lang.t("rx-status-cancelled"), "badge-danger")
    } else if p.active_at(now) {
        (lang.t("rx-status-active"), "badge-success")
    } else {
        (lang.t("rx-status-ended"), "")
    }
}

fn route_label(lang: Lang, route: &str) -> String {
    lang.t(&format!("rx-route-{route}"))
}

/// "1 capsule, oral, every 8 hours, 7 days".
fn sig(lang: Lang, o: &Order) -> String {
    format!(
        "{}, {}, {}, {}",
        o.dose,
        route_label(lang, &o.route),
        o.frequency,
        days(lang, o.duration_days)
    )
}

fn days(lang: Lang, n: u32) -> String {
    if n == 1 {
        lang.t("rx-one-day")
    } else {
        format!("{n} {}", lang.t("rx-days"))
    }
}

fn row(lang: Lang, p: &Prescription, patient: String, now: jiff::Timestamp) -> RxRow {
    let (status, status_class) = status_of(lang, p, now);
    RxRow {
        id: p.id.to_string(),
        patient_id: p.patient_id.to_string(),
        patient,
        reference: p.reference(),
        when: show_time(lang, p.prescribed_at),
        medicine: p.medicine.label(),
        sig: sig(lang, &p.order),
        prescriber: p.prescriber.name.clone(),
        status,
        status_class,
        warnings: p.warnings.len(),
    }
}

pub struct WarningView {
    pub major: bool,
    pub severity: String,
    pub text: String,
}

fn warning_views(lang: Lang, w: &[Warning]) -> Vec<WarningView> {
    w.iter()
        .map(|w| WarningView {
            major: w.severity == Severity::Major,
            severity: lang.t(match w.severity {
                Severity::Major => "rx-severity-major",
                Severity::Moderate => "rx-severity-moderate",
            }),
            text: w.text(lang.code()).to_string(),
        })
        .collect()
}

/// The order form as shown (a medicine's defaults, or what was typed).
#[derive(Default)]
pub struct OrderForm {
    pub medicine_id: String,
    pub label: String,
    pub controlled: bool,
    pub dose: String,
    pub routes: Vec<Choice>,
    pub frequency: String,
    pub duration_days: String,
    pub quantity: String,
    pub refills: String,
    pub instructions: String,
    pub visit_id: String,
    pub override_reason: String,
}

fn route_choices(lang: Lang, selected: &str) -> Vec<Choice> {
    ROUTES
        .iter()
        .map(|r| Choice {
            value: (*r).into(),
            label: route_label(lang, r),
            selected: *r == selected,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "patient_prescriptions.html")]
struct PatientPage {
    shell: Shell,
    banner: Banner,
    h: Head,
    rows: Vec<RxRow>,
    medicines: Vec<Choice>,
    visits: Vec<Choice>,
    form: Option<OrderForm>,
    warnings: Vec<WarningView>,
    can_write: bool,
    fe: FieldErrors,
    error: String,
}

/// What the patient page shows in its form.
struct Typed {
    medicine: Option<uuid::Uuid>,
    visit: Option<uuid::Uuid>,
    /// The order as typed (a refused form), or none for the medicine's defaults.
    order: Option<Order>,
    raw: Vec<(String, String)>,
    override_reason: String,
}

#[allow(clippy::too_many_arguments)]
async fn patient_page(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    ip: &ClientIp,
    id: PatientId,
    typed: Typed,
    fe: FieldErrors,
    error: String,
    status: StatusCode,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let lang = ctx.lang;
    let who = actor(auth, ctx, ip);
    let p = state.store.patient(&scope, &who, id).await?;
    let list = state.store.prescriptions(&scope, &who, id).await?;
    let now = state.store.now();
    let catalog: Vec<CatalogMedicine> = state
        .store
        .medicines(&scope)
        .await?
        .into_iter()
        .filter(|m| m.active)
        .collect();
    let chosen = typed
        .medicine
        .and_then(|m| catalog.iter().find(|c| c.id == m));
    let (form, warnings) = match chosen {
        Some(c) => {
            let m = &c.medicine;
            let warnings = state.store.prescription_warnings(&scope, id, m).await?;
            let raw = |k: &str| {
                typed
                    .raw
                    .iter()
                    .find(|(f, _)| f == k)
                    .map(|(_, v)| v.clone())
            };
            let form = match &typed.order {
                Some(o) => OrderForm {
                    medicine_id: c.id.to_string(),
                    label: m.label(),
                    controlled: m.controlled,
                    dose: o.dose.clone(),
                    routes: route_choices(lang, &o.route),
                    frequency: o.frequency.clone(),
                    duration_days: raw("duration_days").unwrap_or_default(),
                    quantity: raw("quantity").unwrap_or_default(),
                    refills: raw("refills").unwrap_or_default(),
                    instructions: o.instructions.clone(),
                    visit_id: typed.visit.map(|v| v.to_string()).unwrap_or_default(),
                    override_reason: typed.override_reason.clone(),
                },
                None => OrderForm {
                    medicine_id: c.id.to_string(),
                    label: m.label(),
                    controlled: m.controlled,
                    dose: m.dose.clone(),
                    routes: route_choices(lang, &m.route),
                    frequency: m.frequency.clone(),
                    duration_days: m.duration_days.to_string(),
                    quantity: m.quantity.to_string(),
                    refills: "0".into(),
                    instructions: m.directions.clone(),
                    visit_id: typed.visit.map(|v| v.to_string()).unwrap_or_default(),
                    override_reason: String::new(),
                },
            };
            (Some(form), warning_views(lang, &warnings))
        }
        None => (None, Vec::new()),
    };
    let open_visits: Vec<Choice> = std::iter::once(Choice {
        value: String::new(),
        label: lang.t("rx-no-visit"),
        selected: typed.visit.is_none(),
    })
    .chain(
        state
            .store
            .visits(&scope, &who, id)
            .await?
            .into_iter()
            .filter(|v| v.signed.is_none())
            .map(|v| Choice {
                value: v.id.to_string(),
                label: format!(
                    "{} · {}",
                    lang.t(&format!("visit-kind-{}", v.kind.code())),
                    show_time(lang, v.created_at)
                ),
                selected: typed.visit == Some(v.id),
            }),
    )
    .collect();
    let medicines = std::iter::once(Choice {
        value: String::new(),
        label: lang.t("rx-choose-medicine"),
        selected: chosen.is_none(),
    })
    .chain(catalog.iter().map(|c| Choice {
        value: c.id.to_string(),
        label: c.medicine.label(),
        selected: chosen.is_some_and(|x| x.id == c.id),
    }))
    .collect();
    let name = p.details.display_name();
    html_status(
        &PatientPage {
            shell: Shell::build(state, ctx).await,
            banner: banner(state, lang, &scope, &p).await?,
            h: Head {
                chart_tab: true,
                ..head(lang, today(state), &p)
            },
            rows: list
                .iter()
                .map(|r| row(lang, r, name.clone(), now))
                .collect(),
            medicines,
            visits: open_visits,
            form,
            warnings,
            can_write: auth.can(Permission::PrescriptionsWrite),
            fe,
            error,
        },
        status,
    )
}

#[derive(Deserialize, Default)]
pub struct PatientQuery {
    #[serde(default)]
    medicine: String,
    #[serde(default)]
    visit: String,
}

/// `GET /patients/{id}/prescriptions[?medicine=…&visit=…]`
pub async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    Query(q): Query<PatientQuery>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    patient_page(
        &state,
        &ctx,
        &auth,
        &ip,
        id,
        Typed {
            medicine: q.medicine.parse().ok(),
            visit: q.visit.parse().ok(),
            order: None,
            raw: Vec::new(),
            override_reason: String::new(),
        },
        FieldErrors::default(),
        String::new(),
        StatusCode::OK,
    )
    .await
}

/// A number field: empty or not a number is 0, which the order check refuses by name.
fn number(v: &str) -> u32 {
    v.trim().parse().unwrap_or(0)
}

/// `POST /patients/{id}/prescriptions`: writes it and shows it; a refused one comes back with
/// what was typed, the warnings and each problem named.
pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let pairs: Vec<(String, String)> = form_urlencoded_pairs(&body).collect();
    let mut new = NewPrescription::default();
    for (k, v) in &pairs {
        match k.as_str() {
            "medicine_id" => new.medicine_id = v.parse().ok(),
            "visit_id" => new.visit_id = v.parse().ok(),
            "dose" => new.order.dose = v.clone(),
            "route" => new.order.route = v.clone(),
            "frequency" => new.order.frequency = v.clone(),
            "duration_days" => new.order.duration_days = number(v),
            "quantity" => new.order.quantity = number(v),
            "refills" => new.order.refills = number(v),
            "instructions" => new.order.instructions = v.clone(),
            "override_reason" => new.override_reason = v.clone(),
            _ => {}
        }
    }
    match state
        .store
        .prescribe(&auth.scope(), &actor(&auth, &ctx, &ip), id, &new)
        .await
    {
        Ok(p) => Ok(Redirect::to(&format!(
            "/patients/{id}/prescriptions/{}?notice=written",
            p.id
        ))
        .into_response()),
        Err(WriteError::Invalid(d)) if d.code == ErrorCode::Validation => {
            let fe = FieldErrors::of(&d.fields);
            patient_page(
                &state,
                &ctx,
                &auth,
                &ip,
                id,
                Typed {
                    medicine: new.medicine_id,
                    visit: new.visit_id,
                    order: Some(new.order.clone()),
                    raw: pairs,
                    override_reason: new.override_reason.clone(),
                },
                fe,
                d.message,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "patient_prescription.html")]
struct RxPage {
    shell: Shell,
    banner: Banner,
    h: Head,
    r: RxRow,
    p: Prescription,
    route: String,
    duration: String,
    quantity_words: String,
    refills_words: String,
    warnings: Vec<WarningView>,
    cancelled: String,
    can_write: bool,
    fe: FieldErrors,
    notice: String,
}

#[derive(Deserialize, Default)]
pub struct RxQuery {
    #[serde(default)]
    notice: String,
}

fn parse_rx(s: &str) -> Result<uuid::Uuid, AppError> {
    s.parse().map_err(|_| AppError::NotFound)
}

#[allow(clippy::too_many_arguments)]
async fn rx_page(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    ip: &ClientIp,
    id: PatientId,
    rx: uuid::Uuid,
    fe: FieldErrors,
    notice: String,
    status: StatusCode,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let lang = ctx.lang;
    let who = actor(auth, ctx, ip);
    let patient = state.store.patient(&scope, &who, id).await?;
    let p = state
        .store
        .prescription(&scope, &who, id, rx, false)
        .await?;
    let now = state.store.now();
    html_status(
        &RxPage {
            shell: Shell::build(state, ctx).await,
            banner: banner(state, lang, &scope, &patient).await?,
            h: Head {
                chart_tab: true,
                ..head(lang, today(state), &patient)
            },
            r: row(lang, &p, patient.details.display_name(), now),
            route: route_label(lang, &p.order.route),
            duration: days(lang, p.order.duration_days),
            quantity_words: in_words(p.order.quantity, lang.code()),
            refills_words: in_words(p.order.refills, lang.code()),
            warnings: warning_views(lang, &p.warnings),
            cancelled: p
                .cancelled
                .as_ref()
                .map(|c| format!("{} · {} · {}", show_time(lang, c.at), c.by_name, c.reason))
                .unwrap_or_default(),
            p,
            can_write: auth.can(Permission::PrescriptionsWrite),
            fe,
            notice,
        },
        status,
    )
}

/// `GET /patients/{id}/prescriptions/{rx}`
pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path((id, rx)): Path<(String, String)>,
    Query(q): Query<RxQuery>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let rx = parse_rx(&rx)?;
    let notice = match q.notice.as_str() {
        "written" | "cancelled" => ctx.lang.t(&format!("rx-notice-{}", q.notice)),
        _ => String::new(),
    };
    rx_page(
        &state,
        &ctx,
        &auth,
        &ip,
        id,
        rx,
        FieldErrors::default(),
        notice,
        StatusCode::OK,
    )
    .await
}

/// `POST /patients/{id}/prescriptions/{rx}/cancel` with `reason`.
pub async fn cancel(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path((id, rx)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let rx = parse_rx(&rx)?;
    let reason = form_urlencoded_pairs(&body)
        .into_iter()
        .find(|(k, _)| k == "reason")
        .map(|(_, v)| v)
        .unwrap_or_default();
    match state
        .store
        .cancel_prescription(&auth.scope(), &actor(&auth, &ctx, &ip), id, rx, &reason)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!(
            "/patients/{id}/prescriptions/{rx}?notice=cancelled"
        ))
        .into_response()),
        Err(WriteError::Invalid(d))
            if matches!(d.code, ErrorCode::Validation | ErrorCode::Conflict) =>
        {
            let status = StatusCode::from_u16(d.code.http_status())
                .unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            let mut fe = FieldErrors::of(&d.fields);
            if fe.is_empty() {
                fe.0.push(("reason".into(), d.message.clone()));
            }
            rx_page(&state, &ctx, &auth, &ip, id, rx, fe, String::new(), status).await
        }
        Err(e) => Err(e.into()),
    }
}

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// "3 December 2026", "3 décembre 2026".
fn long_date(lang: Lang, d: jiff::civil::Date) -> String {
    let months = if lang == Lang::Fr {
        &MONTHS_FR
    } else {
        &MONTHS_EN
    };
    let m = months
        .get(usize::try_from(d.month() - 1).unwrap_or(0))
        .copied()
        .unwrap_or("");
    format!("{} {m} {}", d.day(), d.year())
}

/// What a printed document's letterhead says: the organization, the clinic's name and address,
/// the paper of its country, and its time zone for the dates.
pub(crate) struct Letterhead {
    pub org_name: String,
    pub from: Vec<String>,
    pub paper: Paper,
    pub tz: jiff::tz::TimeZone,
}

impl Letterhead {
    /// A PDF on this letterhead, as a response: `title` in its metadata, made at `at` (in the
    /// letterhead's time zone), `reference` at the top right (its first line also names the
    /// file and ends the footer).
    pub(crate) fn pdf(
        self,
        title: String,
        at: jiff::Timestamp,
        reference: Vec<String>,
        blocks: Vec<documents::Block>,
        page_label: String,
    ) -> Response {
        let z = at.to_zoned(self.tz.clone());
        let key = reference.first().cloned().unwrap_or_default();
        let doc = Document {
            paper: self.paper,
            info: Info {
                title,
                author: self.org_name.clone(),
                created: pdf_date(
                    z.year(),
                    z.month(),
                    z.day(),
                    z.hour(),
                    z.minute(),
                    z.second(),
                ),
            },
            from: self.from,
            reference,
            blocks,
            footer: format!("{} · {key}", self.org_name),
            page_label,
        };
        pdf_response(doc.render(), &key)
    }
}

pub(crate) async fn letterhead(
    store: &store::Store,
    scope: &Scope,
    location: domain::LocationId,
) -> Result<Letterhead, AppError> {
    let org = store.org(scope.org()).await?.ok_or(AppError::NotFound)?;
    let location = store.location(scope, location).await?;
    let tz = location
        .as_ref()
        .and_then(|l| l.tz().ok())
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let mut from = vec![org.name.clone()];
    let mut paper = Paper::A4;
    if let Some(l) = &location {
        if l.name != org.name {
            from.push(l.name.clone());
        }
        let a = l.address.one_line();
        if !a.is_empty() {
            from.push(a);
        }
        paper = Paper::for_country(&l.address.country);
    }
    Ok(Letterhead {
        org_name: org.name,
        from,
        paper,
        tz,
    })
}

/// The printable prescription.
async fn pdf_of(
    state: &AppState,
    scope: &Scope,
    lang: Lang,
    patient: &Patient,
    p: &Prescription,
) -> Result<Vec<u8>, AppError> {
    let Letterhead {
        org_name,
        from,
        paper,
        tz,
    } = letterhead(&state.store, scope, patient.location_id).await?;
    let date = long_date(lang, p.prescribed_at.to_zoned(tz).date());
    let mut prescriber = vec![(lang.t("rx-prescriber"), p.prescriber.name.clone())];
    if !p.prescriber.specialty.is_empty() {
        prescriber.push((
            lang.t("rx-specialty"),
            lang.t(&format!("spec-{}", p.prescriber.specialty)),
        ));
    }
    prescriber.push((lang.t("rx-licence"), p.prescriber.licence_number.clone()));
    if !p.prescriber.npi.is_empty() {
        prescriber.push((lang.t("rx-npi"), p.prescriber.npi.clone()));
    }
    let d = &patient.details;
    let mut who = vec![
        // The legal name, in reading order, and an unambiguous date: a pharmacy reads this.
        (
            lang.t("rx-patient"),
            format!("{} {}", d.given_name, d.family_name),
        ),
        (lang.t("rx-birth"), long_date(lang, d.birth_date)),
        (lang.t("rx-chart"), patient.chart_number.to_string()),
    ];
    let address = d.address.one_line();
    if !address.is_empty() {
        who.push((lang.t("rx-address"), address));
    }
    let o = &p.order;
    let mut order = vec![
        (lang.t("rx-dose"), o.dose.clone()),
        (lang.t("rx-route"), route_label(lang, &o.route)),
        (lang.t("rx-frequency"), o.frequency.clone()),
        (lang.t("rx-duration"), days(lang, o.duration_days)),
        (
            lang.t("rx-quantity"),
            format!("{} ({})", o.quantity, in_words(o.quantity, lang.code())),
        ),
        (
            lang.t("rx-refills"),
            format!("{} ({})", o.refills, in_words(o.refills, lang.code())),
        ),
    ];
    if !o.instructions.is_empty() {
        order.push((lang.t("rx-instructions"), o.instructions.clone()));
    }
    let mut body = vec![Block::Heading(format!("Rx  {}", p.medicine.label()))];
    if p.medicine.controlled {
        body.push(Block::Note(lang.t("rx-controlled")));
    }
    body.push(Block::Fields(order));
    let mut blocks = vec![Block::Title(if p.cancelled.is_some() {
        lang.t("rx-pdf-cancelled-title")
    } else {
        lang.t("rx-pdf-title")
    })];
    if let Some(c) = &p.cancelled {
        blocks.push(Block::Paragraph(format!(
            "{} {} — {}",
            lang.t("rx-cancelled-on"),
            long_date(lang, c.at.to_zoned(jiff::tz::TimeZone::UTC).date()),
            c.reason
        )));
    }
    blocks.extend([
        Block::Fields(prescriber),
        Block::Rule,
        Block::Fields(who),
        Block::Space(6.0),
        Block::Framed(body),
        Block::Signature {
            label: lang.t("rx-signature"),
            lines: vec![
                p.prescriber.name.clone(),
                format!("{} {}", lang.t("rx-licence"), p.prescriber.licence_number),
                date.clone(),
            ],
        },
        Block::Space(12.0),
        Block::Note(format!(
            "{} {} · {}",
            lang.t("rx-pdf-footnote"),
            p.reference(),
            org_name
        )),
    ]);
    let z = p.prescribed_at.to_zoned(jiff::tz::TimeZone::UTC);
    let doc = Document {
        paper,
        info: Info {
            title: format!("{} {}", lang.t("rx-pdf-title"), p.reference()),
            author: p.prescriber.name.clone(),
            created: pdf_date(
                z.year(),
                z.month(),
                z.day(),
                z.hour(),
                z.minute(),
                z.second(),
            ),
        },
        from,
        reference: vec![p.reference(), date],
        blocks,
        footer: format!("{} · {}", org_name, p.reference()),
        page_label: lang.t("doc-page-label"),
    };
    Ok(doc.render())
}

pub(crate) fn pdf_response(bytes: Vec<u8>, reference: &str) -> Response {
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{reference}.pdf\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, private"),
    );
    r
}

/// `GET /patients/{id}/prescriptions/{rx}/pdf` (and the same under `/api/v1`): the
/// printable prescription; audited as printed.
pub async fn pdf(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path((id, rx)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let rx = parse_rx(&rx)?;
    let scope = auth.scope();
    let who = actor(&auth, &ctx, &ip);
    let patient = state.store.patient(&scope, &who, id).await?;
    let p = state.store.prescription(&scope, &who, id, rx, true).await?;
    let bytes = pdf_of(&state, &scope, ctx.lang, &patient, &p).await?;
    Ok(pdf_response(bytes, &p.reference()))
}

pub struct MedicineRow {
    pub id: String,
    pub label: String,
    pub defaults: String,
    pub classes: String,
    pub controlled: bool,
    pub active: bool,
}

#[derive(Default)]
pub struct MedicineForm {
    pub id: String,
    pub name: String,
    pub strength: String,
    pub form: String,
    pub routes: Vec<Choice>,
    pub dose: String,
    pub frequency: String,
    pub duration_days: String,
    pub quantity: String,
    pub directions: String,
    pub controlled: bool,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "prescriptions.html")]
struct OrgPage {
    shell: Shell,
    rows: Vec<RxRow>,
    medicines: Vec<MedicineRow>,
    form: MedicineForm,
    can_manage: bool,
    fe: FieldErrors,
    notice: String,
}

fn class_names(lang: Lang, classes: &[String]) -> String {
    classes
        .iter()
        .filter_map(|c| rx::class(c))
        .map(|c| if lang == Lang::Fr { c.fr } else { c.en })
        .collect::<Vec<_>>()
        .join(", ")
}

fn medicine_form(lang: Lang, id: Option<uuid::Uuid>, m: &Medicine, active: bool) -> MedicineForm {
    MedicineForm {
        id: id.map(|i| i.to_string()).unwrap_or_default(),
        name: m.name.clone(),
        strength: m.strength.clone(),
        form: m.form.clone(),
        routes: route_choices(lang, if m.route.is_empty() { "oral" } else { &m.route }),
        dose: m.dose.clone(),
        frequency: m.frequency.clone(),
        duration_days: m.duration_days.to_string(),
        quantity: m.quantity.to_string(),
        directions: m.directions.clone(),
        controlled: m.controlled,
        active,
    }
}

#[allow(clippy::too_many_arguments)]
async fn org_page(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    ip: &ClientIp,
    form: MedicineForm,
    fe: FieldErrors,
    notice: String,
    status: StatusCode,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let lang = ctx.lang;
    let now = state.store.now();
    let listed = state
        .store
        .recent_prescriptions(&scope, &actor(auth, ctx, ip), 100)
        .await?;
    let medicines = state.store.medicines(&scope).await?;
    html_status(
        &OrgPage {
            shell: Shell::build(state, ctx).await,
            rows: listed
                .iter()
                .map(|l| {
                    row(
                        lang,
                        &l.prescription,
                        format!(
                            "{} (#{})",
                            domain::patients::display_name(
                                &l.patient.given_name,
                                &l.patient.family_name,
                                &l.patient.preferred_name
                            ),
                            l.patient.chart_number
                        ),
                        now,
                    )
                })
                .collect(),
            medicines: medicines
                .iter()
                .map(|c| MedicineRow {
                    id: c.id.to_string(),
                    label: c.medicine.label(),
                    defaults: format!(
                        "{}, {}, {} · {} {}",
                        c.medicine.dose,
                        route_label(lang, &c.medicine.route),
                        c.medicine.frequency,
                        days(lang, c.medicine.duration_days),
                        format_args!("· {} {}", lang.t("rx-quantity"), c.medicine.quantity)
                    ),
                    classes: class_names(lang, &c.medicine.classes),
                    controlled: c.medicine.controlled,
                    active: c.active,
                })
                .collect(),
            form,
            can_manage: auth.can(Permission::PrescriptionsWrite),
            fe,
            notice,
        },
        status,
    )
}

#[derive(Deserialize, Default)]
pub struct OrgQuery {
    #[serde(default)]
    edit: String,
    #[serde(default)]
    notice: String,
}

/// `GET /prescriptions[?edit=<medicine>]`
pub async fn org_list(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Query(q): Query<OrgQuery>,
) -> Result<Response, AppError> {
    let lang = ctx.lang;
    let form = match q.edit.parse::<uuid::Uuid>() {
        Ok(id) => match state.store.medicine(&auth.scope(), id).await? {
            Some(c) => medicine_form(lang, Some(c.id), &c.medicine, c.active),
            None => return Err(AppError::NotFound),
        },
        Err(_) => medicine_form(
            lang,
            None,
            &Medicine {
                duration_days: 7,
                quantity: 1,
                ..Default::default()
            },
            true,
        ),
    };
    let notice = if q.notice == "saved" {
        lang.t("rx-medicine-saved")
    } else {
        String::new()
    };
    org_page(
        &state,
        &ctx,
        &auth,
        &ip,
        form,
        FieldErrors::default(),
        notice,
        StatusCode::OK,
    )
    .await
}

/// `POST /prescriptions/medicines`: adds (no `id`) or changes a medicine of the catalog.
pub async fn save_medicine(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let mut m = Medicine::default();
    let mut id = None;
    let mut active = false;
    for (k, v) in form_urlencoded_pairs(&body) {
        match k.as_str() {
            "id" if !v.is_empty() => id = Some(v.parse().map_err(|_| AppError::NotFound)?),
            "name" => m.name = v,
            "strength" => m.strength = v,
            "form" => m.form = v,
            "route" => m.route = v,
            "dose" => m.dose = v,
            "frequency" => m.frequency = v,
            "duration_days" => m.duration_days = number(&v),
            "quantity" => m.quantity = number(&v),
            "directions" => m.directions = v,
            "controlled" => m.controlled = true,
            "active" => active = true,
            _ => {}
        }
    }
    match state
        .store
        .save_medicine(&auth.scope(), &actor(&auth, &ctx, &ip), id, &m, active)
        .await
    {
        Ok(_) => Ok(Redirect::to("/prescriptions?notice=saved#catalog").into_response()),
        Err(WriteError::Invalid(d)) if d.code == ErrorCode::Validation => {
            let fe = FieldErrors::of(&d.fields);
            org_page(
                &state,
                &ctx,
                &auth,
                &ip,
                medicine_form(ctx.lang, id, &m, active),
                fe,
                String::new(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

// The JSON API.

fn medicine_json(c: &CatalogMedicine) -> Value {
    let m = &c.medicine;
    json!({
        "id": c.id,
        "name": m.name,
        "strength": m.strength,
        "form": m.form,
        "route": m.route,
        "dose": m.dose,
        "frequency": m.frequency,
        "duration_days": m.duration_days,
        "quantity": m.quantity,
        "directions": m.directions,
        "classes": m.classes,
        "controlled": m.controlled,
        "active": c.active,
    })
}

fn warning_json(w: &Warning, lang: Lang) -> Value {
    json!({
        "kind": w.kind,
        "code": w.code,
        "severity": match w.severity { Severity::Major => "major", Severity::Moderate => "moderate" },
        "subject": w.subject,
        "message": w.text(lang.code()),
    })
}

fn rx_json(p: &Prescription, lang: Lang, now: jiff::Timestamp) -> Value {
    let o = &p.order;
    json!({
        "id": p.id,
        "number": p.number,
        "reference": p.reference(),
        "patient_id": p.patient_id,
        "visit_id": p.visit_id,
        "medicine_id": p.medicine_id,
        "medicine": {
            "name": p.medicine.name,
            "strength": p.medicine.strength,
            "form": p.medicine.form,
            "classes": p.medicine.classes,
            "controlled": p.medicine.controlled,
        },
        "dose": o.dose,
        "route": o.route,
        "frequency": o.frequency,
        "duration_days": o.duration_days,
        "quantity": o.quantity,
        "refills": o.refills,
        "instructions": o.instructions,
        "warnings": p.warnings.iter().map(|w| warning_json(w, lang)).collect::<Vec<_>>(),
        "override_reason": p.override_reason,
        "prescriber": {
            "id": p.prescriber_id,
            "name": p.prescriber.name,
            "licence_number": p.prescriber.licence_number,
            "npi": p.prescriber.npi,
        },
        "prescribed_at": p.prescribed_at.to_string(),
        "ends_at": p.ends_at.to_string(),
        "status": if p.cancelled.is_some() { "cancelled" } else if p.active_at(now) { "active" } else { "ended" },
        "cancelled": p.cancelled.as_ref().map(|c| json!({
            "at": c.at.to_string(), "by": c.by_name, "reason": c.reason,
        })),
    })
}

/// `GET /api/v1/medicines`
pub async fn api_medicines(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Response, AppError> {
    let items = state.store.medicines(&auth.scope()).await?;
    Ok(
        Json(json!({ "items": items.iter().map(medicine_json).collect::<Vec<_>>() }))
            .into_response(),
    )
}

/// `GET /api/v1/patients/{id}/prescriptions`
pub async fn api_list(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let now = state.store.now();
    let items = state
        .store
        .prescriptions(&auth.scope(), &actor(&auth, &ctx, &ip), id)
        .await?;
    Ok(Json(json!({
        "items": items.iter().map(|p| rx_json(p, ctx.lang, now)).collect::<Vec<_>>()
    }))
    .into_response())
}

/// `GET /api/v1/patients/{id}/prescriptions/{rx}`
pub async fn api_get(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path((id, rx)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let rx = parse_rx(&rx)?;
    let p = state
        .store
        .prescription(&auth.scope(), &actor(&auth, &ctx, &ip), id, rx, false)
        .await?;
    Ok(Json(rx_json(&p, ctx.lang, state.store.now())).into_response())
}

#[derive(Deserialize)]
pub struct RxBody {
    medicine_id: Option<uuid::Uuid>,
    #[serde(default)]
    visit_id: Option<uuid::Uuid>,
    dose: Option<String>,
    route: Option<String>,
    frequency: Option<String>,
    duration_days: Option<u32>,
    quantity: Option<u32>,
    #[serde(default)]
    refills: u32,
    instructions: Option<String>,
    #[serde(default)]
    override_reason: String,
}

/// `POST /api/v1/patients/{id}/prescriptions`: what is left out comes from the medicine's
/// defaults. 201 with the prescription; 422 naming each invalid field, and with the
/// warnings when they need an `override_reason`.
pub async fn api_create(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    Json(b): Json<RxBody>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let scope = auth.scope();
    let catalog = match b.medicine_id {
        Some(m) => state.store.medicine(&scope, m).await?,
        None => None,
    };
    let defaults = catalog
        .as_ref()
        .map(|c| c.medicine.clone())
        .unwrap_or_default();
    let new = NewPrescription {
        medicine_id: b.medicine_id,
        visit_id: b.visit_id,
        override_reason: b.override_reason,
        order: Order {
            dose: b.dose.unwrap_or(defaults.dose.clone()),
            route: b.route.unwrap_or(defaults.route.clone()),
            frequency: b.frequency.unwrap_or(defaults.frequency.clone()),
            duration_days: b.duration_days.unwrap_or(defaults.duration_days),
            quantity: b.quantity.unwrap_or(defaults.quantity),
            refills: b.refills,
            instructions: b.instructions.unwrap_or(defaults.directions.clone()),
        },
    };
    match state
        .store
        .prescribe(&scope, &actor(&auth, &ctx, &ip), id, &new)
        .await
    {
        Ok(p) => Ok((
            StatusCode::CREATED,
            Json(rx_json(&p, ctx.lang, state.store.now())),
        )
            .into_response()),
        Err(WriteError::Invalid(d))
            if d.code == ErrorCode::Validation
                && d.fields.iter().any(|f| f.field == "override_reason") =>
        {
            let warnings = match &catalog {
                Some(c) => {
                    state
                        .store
                        .prescription_warnings(&scope, id, &c.medicine)
                        .await?
                }
                None => Vec::new(),
            };
            let body = json!({
                "type": "about:blank",
                "title": "Unprocessable Entity",
                "status": 422,
                "code": "validation",
                "detail": d.message,
                "instance": ctx.path,
                "request_id": ctx.request_id,
                "errors": d.fields.iter().map(|f| json!({"field": f.field, "message": f.message})).collect::<Vec<_>>(),
                "warnings": warnings.iter().map(|w| warning_json(w, ctx.lang)).collect::<Vec<_>>(),
            });
            let mut r = (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response();
            // The body is the problem already (with the warnings): kept as it is.
            r.extensions_mut().insert(crate::middleware::KeepBody);
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            );
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}
