//! `/patients` and `/patients/{id}` (seed 004): search as you type, registration with the
//! duplicate warning, the profile with its medical alert banner, family, history, documents
//! and merges. The JSON API is in [`api`], the CSV import page in [`import`].

pub mod api;
pub mod documents;
pub mod family;
pub mod fields;
pub mod history;
pub mod import;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::identity::Permission;
use domain::patients::history::Alert;
use domain::patients::search::DateOrder;
use domain::patients::{
    EmergencyContact, PatientInput, PatientStatus, Phone, REFERRAL_SOURCES, SEXES,
};
use domain::{Address, DomainError, FieldError, LocationId, PatientId, Scope};
use serde::Deserialize;
use store::patients::{
    Actor, FamilyChoice, NewPatient, NonPatientGuarantor, Patient, PatientSummary,
};

use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::mfa::form_urlencoded_pairs;
use crate::pages::html;
use crate::phone::ClientIp;
use crate::shell::{Ctx, Shell};

/// The acting user, for the audit trail.
pub fn actor(auth: &Auth, ctx: &Ctx, ip: &ClientIp) -> Actor {
    Actor {
        id: Some(auth.user.id),
        name: auth.user.email.clone(),
        ip: ip.0.clone(),
        request_id: Some(ctx.request_id.clone()),
    }
}

pub fn parse_patient_id(s: &str) -> Result<PatientId, AppError> {
    s.parse().map_err(|_| AppError::NotFound)
}

/// How dates are typed and shown in a language.
pub fn date_order(lang: Lang) -> DateOrder {
    DateOrder::for_language(lang.code())
}

/// A date as the language writes it: 03/27/1984 or 27/03/1984.
pub fn show_date(lang: Lang, d: jiff::civil::Date) -> String {
    match date_order(lang) {
        DateOrder::MonthFirst => format!("{:02}/{:02}/{}", d.month(), d.day(), d.year()),
        DateOrder::DayFirst => format!("{:02}/{:02}/{}", d.day(), d.month(), d.year()),
    }
}

/// A timestamp in the viewer's terms (UTC, to the minute).
pub fn show_time(lang: Lang, t: jiff::Timestamp) -> String {
    let z = t.to_zoned(jiff::tz::TimeZone::UTC);
    format!(
        "{} {:02}:{:02} UTC",
        show_date(lang, z.date()),
        z.hour(),
        z.minute()
    )
}

/// E.164 as people read it: (802) 555-0143 in North America, grouped elsewhere.
pub fn show_phone(e164: &str) -> String {
    let d: String = e164.chars().filter(char::is_ascii_digit).collect();
    if d.len() == 11 && d.starts_with('1') {
        return format!("({}) {}-{}", &d[1..4], &d[4..7], &d[7..]);
    }
    if d.len() == 11 && d.starts_with("33") {
        return format!(
            "+33 {} {} {} {} {}",
            &d[2..3],
            &d[3..5],
            &d[5..7],
            &d[7..9],
            &d[9..]
        );
    }
    e164.to_string()
}

/// One line of a patient list.
pub struct Row {
    pub id: String,
    pub chart: i64,
    pub name: String,
    pub birth: String,
    pub age: i64,
    pub phone: String,
    pub status: String,
    pub status_code: &'static str,
}

pub fn row(lang: Lang, today: jiff::civil::Date, p: &PatientSummary) -> Row {
    Row {
        id: p.id.to_string(),
        chart: p.chart_number,
        name: p.display_name(),
        birth: show_date(lang, p.birth_date),
        age: domain::patients::age_on(p.birth_date, today),
        phone: p.phone.as_deref().map(show_phone).unwrap_or_default(),
        status: lang.t(&format!("patient-status-{}", p.status.code())),
        status_code: p.status.code(),
    }
}

pub fn today(state: &AppState) -> jiff::civil::Date {
    state.store.now().to_zoned(jiff::tz::TimeZone::UTC).date()
}

/// One line of the medical alert banner.
pub struct AlertView {
    pub label: String,
    pub text: String,
    pub critical: bool,
}

/// The banner every patient page starts with.
pub struct Banner {
    pub alerts: Vec<AlertView>,
    pub review_due: bool,
    pub never_recorded: bool,
    pub patient_id: String,
}

pub fn alert_views(lang: Lang, alerts: &[Alert]) -> Vec<AlertView> {
    alerts
        .iter()
        .map(|a| AlertView {
            label: lang.t(&format!("alert-{}", a.kind)),
            text: a.text.clone(),
            critical: a.critical,
        })
        .collect()
}

pub async fn banner(
    state: &AppState,
    lang: Lang,
    scope: &Scope,
    p: &Patient,
) -> Result<Banner, AppError> {
    let current = state.store.medical_history(scope, p.id).await?;
    let months = state
        .store
        .patient_settings(scope.org())
        .await?
        .history_review_months;
    Ok(Banner {
        alerts: current
            .as_ref()
            .map(|c| alert_views(lang, &c.history.alerts()))
            .unwrap_or_default(),
        review_due: domain::patients::history::review_due(
            p.history_reviewed_at,
            state.store.now(),
            months,
        ),
        never_recorded: current.is_none(),
        patient_id: p.id.to_string(),
    })
}

/// The header of every patient page.
pub struct Head {
    pub id: String,
    pub name: String,
    pub chart: i64,
    pub birth: String,
    pub age: i64,
    pub status: String,
    pub status_code: &'static str,
    pub merged_into: String,
    pub restricted: bool,
    /// Show the chart tab (the user may read charts).
    pub chart_tab: bool,
}

pub fn head(lang: Lang, today: jiff::civil::Date, p: &Patient) -> Head {
    Head {
        id: p.id.to_string(),
        name: p.details.display_name(),
        chart: p.chart_number,
        birth: show_date(lang, p.details.birth_date),
        age: p.details.age_on(today),
        status: lang.t(&format!("patient-status-{}", p.status.code())),
        status_code: p.status.code(),
        merged_into: p.merged_into.map(|m| m.to_string()).unwrap_or_default(),
        restricted: p.restricted,
        chart_tab: false,
    }
}

// ---------------------------------------------------------------- list and search

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
}

#[derive(Template)]
#[template(path = "patients.html")]
struct ListPage {
    shell: Shell,
    q: String,
    rows: Vec<Row>,
    searched: bool,
    can_write: bool,
    can_import: bool,
}

/// `GET /patients`: recent patients, or the results of `?q=`.
pub async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let actor = actor(&auth, &ctx, &ip);
    let today = today(&state);
    let text = q.q.trim().to_string();
    let summaries: Vec<PatientSummary> = if text.is_empty() {
        state.store.recent_patients(&scope, &actor, 25).await?
    } else {
        state
            .store
            .search_patients(&scope, &actor, &text, date_order(ctx.lang), 50)
            .await?
            .into_iter()
            .map(|h| h.patient)
            .collect()
    };
    html(&ListPage {
        shell: Shell::build(&state, &ctx).await,
        rows: summaries.iter().map(|p| row(ctx.lang, today, p)).collect(),
        searched: !text.is_empty(),
        q: text,
        can_write: auth.can(Permission::PatientsWrite),
        can_import: auth.can(Permission::SettingsManage),
    })
}

// ---------------------------------------------------------------- the form

/// The form's values as typed (strings, so a refused form comes back as it was).
#[derive(Clone, Debug, Default)]
pub struct FormValues {
    pub given_name: String,
    pub middle_name: String,
    pub family_name: String,
    pub preferred_name: String,
    pub birth_date: String,
    pub sex: String,
    pub gender_identity: String,
    pub pronouns: String,
    pub language: String,
    pub phone_mobile: String,
    pub sms_consent: bool,
    pub phone_home: String,
    pub phone_work: String,
    pub email: String,
    pub email_consent: bool,
    pub address_line1: String,
    pub address_line2: String,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    pub country: String,
    pub ec_name: String,
    pub ec_relationship: String,
    pub ec_phone: String,
    pub referral_source: String,
    pub referral_detail: String,
    pub national_id: String,
    pub external_id: String,
    pub location_id: String,
    pub restricted: bool,
    pub family_mode: String,
    pub family_member: String,
    pub family_member_label: String,
    pub guarantor_name: String,
    pub guarantor_relationship: String,
    pub guarantor_phone: String,
    pub guarantor_email: String,
    pub confirm_new: bool,
    /// Custom field answers by key.
    pub custom: std::collections::BTreeMap<String, String>,
}

impl FormValues {
    pub fn parse(body: &[u8]) -> FormValues {
        let mut v = FormValues::default();
        for (k, val) in form_urlencoded_pairs(body) {
            let on = val == "on" || val == "1" || val == "true";
            match k.as_str() {
                "given_name" => v.given_name = val,
                "middle_name" => v.middle_name = val,
                "family_name" => v.family_name = val,
                "preferred_name" => v.preferred_name = val,
                "birth_date" => v.birth_date = val,
                "sex" => v.sex = val,
                "gender_identity" => v.gender_identity = val,
                "pronouns" => v.pronouns = val,
                "language" => v.language = val,
                "phone_mobile" => v.phone_mobile = val,
                "sms_consent" => v.sms_consent = on,
                "phone_home" => v.phone_home = val,
                "phone_work" => v.phone_work = val,
                "email" => v.email = val,
                "email_consent" => v.email_consent = on,
                "address_line1" => v.address_line1 = val,
                "address_line2" => v.address_line2 = val,
                "city" => v.city = val,
                "region" => v.region = val,
                "postal_code" => v.postal_code = val,
                "country" => v.country = val,
                "ec_name" => v.ec_name = val,
                "ec_relationship" => v.ec_relationship = val,
                "ec_phone" => v.ec_phone = val,
                "referral_source" => v.referral_source = val,
                "referral_detail" => v.referral_detail = val,
                "national_id" => v.national_id = val,
                "external_id" => v.external_id = val,
                "location_id" => v.location_id = val,
                "restricted" => v.restricted = on,
                "family_mode" => v.family_mode = val,
                "family_member" => v.family_member = val,
                "family_member_label" => v.family_member_label = val,
                "guarantor_name" => v.guarantor_name = val,
                "guarantor_relationship" => v.guarantor_relationship = val,
                "guarantor_phone" => v.guarantor_phone = val,
                "guarantor_email" => v.guarantor_email = val,
                "confirm_new" => v.confirm_new = on,
                k if k.starts_with("custom.") && !val.trim().is_empty() => {
                    v.custom.insert(k["custom.".len()..].to_string(), val);
                }
                _ => {}
            }
        }
        v
    }

    /// The input, and which form field each phone came from (errors name `phone`,
    /// `phones[1]`, ... by position among the numbers given).
    pub fn input(&self) -> (PatientInput, Vec<&'static str>) {
        let mut phones = Vec::new();
        let mut fields = Vec::new();
        for (field, kind, number, consent) in [
            (
                "phone_mobile",
                "mobile",
                &self.phone_mobile,
                self.sms_consent,
            ),
            ("phone_home", "home", &self.phone_home, false),
            ("phone_work", "work", &self.phone_work, false),
        ] {
            if !number.trim().is_empty() {
                phones.push(Phone {
                    kind: kind.into(),
                    number: number.clone(),
                    sms_consent: consent,
                });
                fields.push(field);
            }
        }
        (
            PatientInput {
                given_name: self.given_name.clone(),
                family_name: self.family_name.clone(),
                middle_name: self.middle_name.clone(),
                preferred_name: self.preferred_name.clone(),
                birth_date: self.birth_date.clone(),
                sex: self.sex.clone(),
                gender_identity: self.gender_identity.clone(),
                pronouns: self.pronouns.clone(),
                language: self.language.clone(),
                phones,
                email: self.email.clone(),
                email_consent: self.email_consent,
                address: Address {
                    line1: self.address_line1.clone(),
                    line2: self.address_line2.clone(),
                    city: self.city.clone(),
                    region: self.region.clone(),
                    postal_code: self.postal_code.clone(),
                    country: self.country.clone(),
                },
                emergency_contact: EmergencyContact {
                    name: self.ec_name.clone(),
                    relationship: self.ec_relationship.clone(),
                    phone: self.ec_phone.clone(),
                },
                referral_source: self.referral_source.clone(),
                referral_detail: self.referral_detail.clone(),
                national_id: self.national_id.clone(),
                external_id: self.external_id.clone(),
                custom: self.custom.clone(),
            },
            fields,
        )
    }

    pub fn from_patient(p: &Patient) -> FormValues {
        let d = &p.details;
        let phone = |kind: &str| {
            d.phones
                .iter()
                .find(|x| x.kind == kind)
                .map(|x| x.number.clone())
                .unwrap_or_default()
        };
        FormValues {
            given_name: d.given_name.clone(),
            middle_name: d.middle_name.clone(),
            family_name: d.family_name.clone(),
            preferred_name: d.preferred_name.clone(),
            birth_date: d.birth_date.to_string(),
            sex: d.sex.clone(),
            gender_identity: d.gender_identity.clone(),
            pronouns: d.pronouns.clone(),
            language: d.language.clone(),
            phone_mobile: phone("mobile"),
            sms_consent: d.phones.iter().any(|x| x.kind == "mobile" && x.sms_consent),
            phone_home: phone("home"),
            phone_work: phone("work"),
            email: d.email.clone(),
            email_consent: d.email_consent,
            address_line1: d.address.line1.clone(),
            address_line2: d.address.line2.clone(),
            city: d.address.city.clone(),
            region: d.address.region.clone(),
            postal_code: d.address.postal_code.clone(),
            country: d.address.country.clone(),
            ec_name: d.emergency_contact.name.clone(),
            ec_relationship: d.emergency_contact.relationship.clone(),
            ec_phone: d.emergency_contact.phone.clone(),
            referral_source: d.referral_source.clone(),
            referral_detail: d.referral_detail.clone(),
            national_id: d.national_id.clone(),
            external_id: d.external_id.clone(),
            location_id: p.location_id.to_string(),
            restricted: p.restricted,
            family_mode: "own".into(),
            custom: d.custom.clone(),
            ..Default::default()
        }
    }
}

/// Field errors by form field name.
#[derive(Clone, Debug, Default)]
pub struct FieldErrors(pub Vec<(String, String)>);

impl FieldErrors {
    /// A domain error's fields, as they are named in the form.
    pub fn of(fields: &[FieldError]) -> FieldErrors {
        FieldErrors(
            fields
                .iter()
                .map(|f| (f.field.clone(), f.message.clone()))
                .collect(),
        )
    }

    /// The message for a field, or empty.
    pub fn get(&self, field: &str) -> String {
        self.0
            .iter()
            .filter(|(f, _)| f == field)
            .map(|(_, m)| m.clone())
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Domain field names to form field names.
    pub fn from_domain(errors: &[FieldError], phone_fields: &[&'static str]) -> FieldErrors {
        let map = |f: &str| -> String {
            if f == "phone" {
                return phone_fields
                    .first()
                    .copied()
                    .unwrap_or("phone_mobile")
                    .into();
            }
            if let Some(i) = f.strip_prefix("phones[").and_then(|r| r.strip_suffix(']')) {
                let i: usize = i.parse().unwrap_or(0);
                return phone_fields
                    .get(i)
                    .copied()
                    .unwrap_or("phone_mobile")
                    .into();
            }
            match f {
                "address.line1" => "address_line1",
                "address.line2" => "address_line2",
                "address.city" => "city",
                "address.region" => "region",
                "address.postal_code" => "postal_code",
                "address.country" => "country",
                "emergency_contact.name" => "ec_name",
                "emergency_contact.relationship" => "ec_relationship",
                "emergency_contact.phone" => "ec_phone",
                "family" => "family_member",
                other => other,
            }
            .to_string()
        };
        FieldErrors(
            errors
                .iter()
                .map(|e| (map(&e.field), e.message.clone()))
                .collect(),
        )
    }
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "patient_form.html")]
struct FormPage {
    shell: Shell,
    is_new: bool,
    id: String,
    v: FormValues,
    fe: FieldErrors,
    summary: Vec<String>,
    duplicates: Vec<Row>,
    locations: Vec<Choice>,
    sexes: Vec<Choice>,
    languages: Vec<Choice>,
    referrals: Vec<Choice>,
    custom: Vec<CustomView>,
}

/// A custom field on the form.
pub struct CustomView {
    pub name: String,
    pub label: String,
    pub kind: String,
    pub value: String,
    pub required: bool,
    pub choices: Vec<Choice>,
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    status: StatusCode,
    id: Option<PatientId>,
    v: FormValues,
    fe: FieldErrors,
    duplicates: Vec<Row>,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let locations = state
        .store
        .locations(&Scope::system(scope.org()))
        .await?
        .into_iter()
        .filter(|l| id.is_some() || scope.allows_location(l.id))
        .map(|l| Choice {
            selected: l.id.to_string() == v.location_id,
            value: l.id.to_string(),
            label: l.name,
        })
        .collect();
    let choices = |list: &[&str], prefix: &str, current: &str| -> Vec<Choice> {
        list.iter()
            .map(|c| Choice {
                value: c.to_string(),
                label: ctx.lang.t(&format!("{prefix}{c}")),
                selected: *c == current,
            })
            .collect()
    };
    let custom = state
        .store
        .patient_fields(&scope, false)
        .await?
        .into_iter()
        .map(|d| {
            let value = v.custom.get(&d.field.key).cloned().unwrap_or_default();
            CustomView {
                name: format!("custom.{}", d.field.key),
                label: d.field.label.clone(),
                kind: d.field.kind.clone(),
                required: d.field.required,
                choices: d
                    .field
                    .choices
                    .iter()
                    .map(|c| Choice {
                        value: c.clone(),
                        label: c.clone(),
                        selected: *c == value,
                    })
                    .collect(),
                value,
            }
        })
        .collect();
    let summary =
        fe.0.iter()
            .map(|(f, m)| match f.strip_prefix("custom.") {
                Some(k) => format!("{k}: {m}"),
                None => format!("{}: {m}", ctx.lang.t(&format!("pf-{f}"))),
            })
            .collect();
    let mut resp = html(&FormPage {
        shell: Shell::build(state, ctx).await,
        is_new: id.is_none(),
        id: id.map(|i| i.to_string()).unwrap_or_default(),
        sexes: choices(SEXES, "sex-", &v.sex),
        languages: choices(&["en", "fr", "es"], "lang-", &v.language),
        referrals: choices(REFERRAL_SOURCES, "referral-", &v.referral_source),
        custom,
        locations,
        summary,
        v,
        fe,
        duplicates,
    })?;
    *resp.status_mut() = status;
    resp.extensions_mut().insert(crate::middleware::KeepBody);
    Ok(resp)
}

/// `GET /patients/new`
pub async fn new_page(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Query(q): Query<NewQuery>,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let first_location = state
        .store
        .locations(&scope)
        .await?
        .into_iter()
        .find(|l| scope.allows_location(l.id));
    let mut v = FormValues {
        language: ctx.lang.code().to_string(),
        location_id: first_location
            .as_ref()
            .map(|l| l.id.to_string())
            .unwrap_or_default(),
        country: first_location
            .map(|l| l.address.country)
            .unwrap_or_default(),
        family_mode: "own".into(),
        ..Default::default()
    };
    // "Add a family member" from a profile: the family is preset.
    if let Some(member) = q
        .family_of
        .as_deref()
        .and_then(|s| s.parse::<PatientId>().ok())
        && let Ok(rowp) = state.store.patient_summary(&scope, member).await
    {
        v.family_mode = "join".into();
        v.family_member = member.to_string();
        v.family_member_label = format!("{} (#{})", rowp.display_name(), rowp.chart_number);
        v.family_name = rowp.family_name.clone();
    }
    form_page(
        &state,
        &ctx,
        &auth,
        StatusCode::OK,
        None,
        v,
        FieldErrors::default(),
        Vec::new(),
    )
    .await
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    family_of: Option<String>,
}

/// Resolves the family member typed or picked: an id, or a chart number.
async fn family_member(state: &AppState, scope: &Scope, v: &FormValues) -> Option<PatientId> {
    let t = v.family_member.trim();
    if let Ok(id) = t.parse::<PatientId>() {
        return Some(id);
    }
    let n: i64 = t.trim_start_matches('#').parse().ok()?;
    state.store.patient_by_chart(scope, n).await.ok().flatten()
}

/// `POST /patients`
pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let v = FormValues::parse(&body);
    let (input, phone_fields) = v.input();
    let location: Option<LocationId> = v.location_id.parse().ok();
    let mut fe = FieldErrors::default();
    let Some(location) = location else {
        fe.0.push(("location_id".into(), ctx.lang.t("pf-choose-location")));
        return form_page(
            &state,
            &ctx,
            &auth,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            v,
            fe,
            vec![],
        )
        .await;
    };
    let family = match v.family_mode.as_str() {
        "join" => match family_member(&state, &scope, &v).await {
            Some(id) => FamilyChoice::JoinFamilyOf(id),
            None => {
                fe.0.push((
                    "family_member".into(),
                    ctx.lang.t("pf-family-member-missing"),
                ));
                FamilyChoice::Own
            }
        },
        "guarantor" => FamilyChoice::Guarantor(NonPatientGuarantor {
            name: v.guarantor_name.clone(),
            relationship: v.guarantor_relationship.clone(),
            phone: v.guarantor_phone.clone(),
            email: v.guarantor_email.clone(),
        }),
        _ => FamilyChoice::Own,
    };
    // Validation first (every field), then the duplicate check, then the write.
    let today_there = state.store.today(&scope, location).await?;
    let code = state.store.calling_code(&scope, location).await?;
    let details = match input.validate(today_there, code) {
        Ok(d) => d,
        Err(errors) => {
            let mut all = FieldErrors::from_domain(&errors, &phone_fields);
            all.0.extend(fe.0);
            return form_page(
                &state,
                &ctx,
                &auth,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                v,
                all,
                vec![],
            )
            .await;
        }
    };
    if !fe.is_empty() {
        return form_page(
            &state,
            &ctx,
            &auth,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            v,
            fe,
            vec![],
        )
        .await;
    }
    if !v.confirm_new {
        let dups = state
            .store
            .likely_duplicates(&scope, &details, None)
            .await?;
        if !dups.is_empty() {
            let today = today(&state);
            let rows = dups.iter().map(|p| row(ctx.lang, today, p)).collect();
            return form_page(&state, &ctx, &auth, StatusCode::CONFLICT, None, v, fe, rows).await;
        }
    }
    let result = state
        .store
        .register_patient(
            &scope,
            &actor(&auth, &ctx, &ip),
            NewPatient {
                location_id: location,
                restricted: v.restricted,
                input,
                family,
                status: PatientStatus::Active,
            },
        )
        .await;
    match result {
        Ok(p) => Ok(Redirect::to(&format!("/patients/{}", p.id)).into_response()),
        Err(store::tenancy::WriteError::Invalid(e)) if e.code == domain::ErrorCode::Validation => {
            let fe = FieldErrors::from_domain(&e.fields, &phone_fields);
            form_page(
                &state,
                &ctx,
                &auth,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                v,
                fe,
                vec![],
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------- the profile

pub struct Kv {
    pub label: String,
    pub value: String,
}

pub struct MemberView {
    pub row: Row,
    pub is_guarantor: bool,
    pub is_self: bool,
}

pub struct DocView {
    pub id: String,
    pub title: String,
    pub category: String,
    pub file_name: String,
    pub size: String,
    pub version: i64,
    pub uploaded: String,
    pub by: String,
    pub deleted: bool,
}

pub struct MergeView {
    pub id: String,
    pub other_id: String,
    pub other_label: String,
    pub survivor: bool,
    pub at: String,
    pub by: String,
    pub undone: bool,
    pub can_undo: bool,
}

#[derive(Template)]
#[template(path = "patient.html")]
struct ProfilePage {
    shell: Shell,
    banner: Banner,
    h: Head,
    contact: Vec<Kv>,
    identity: Vec<Kv>,
    members: Vec<MemberView>,
    family_id: String,
    guarantor_name: String,
    guarantor_is_patient: bool,
    allergies: Vec<String>,
    medications: Vec<String>,
    conditions: Vec<String>,
    flags: Vec<String>,
    history_note: String,
    documents: Vec<DocView>,
    categories: Vec<Choice>,
    merges: Vec<MergeView>,
    statuses: Vec<Choice>,
    can_write: bool,
    max_upload_mb: usize,
    notice: String,
    /// The scheduling panel (empty without `schedule.read`).
    appointments: Vec<ApptView>,
    recalls: Vec<(String, String, String)>,
    can_schedule: bool,
    can_book: bool,
}

/// A line of the patient's appointments.
pub struct ApptView {
    pub id: String,
    pub when: String,
    pub what: String,
    pub status: &'static str,
    pub status_label: String,
    pub upcoming: bool,
}

pub fn size_label(bytes: i64) -> String {
    if bytes >= 1_048_576 {
        format!("{:.1} MB", bytes as f64 / 1_048_576.0)
    } else {
        format!("{} KB", (bytes + 1023) / 1024)
    }
}

#[derive(Deserialize, Default)]
pub struct ProfileQuery {
    #[serde(default)]
    notice: String,
}

/// `GET /patients/{id}`
pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    Query(q): Query<ProfileQuery>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let scope = auth.scope();
    let lang = ctx.lang;
    let p = state
        .store
        .patient(&scope, &actor(&auth, &ctx, &ip), id)
        .await?;
    let today = today(&state);
    let d = &p.details;
    let mut contact = Vec::new();
    for ph in &d.phones {
        let consent = if ph.sms_consent {
            format!(" · {}", lang.t("pf-sms_consent-short"))
        } else {
            String::new()
        };
        contact.push(Kv {
            label: lang.t(&format!("pf-phone_{}", ph.kind)),
            value: format!("{}{consent}", show_phone(&ph.number)),
        });
    }
    if !d.email.is_empty() {
        let consent = if d.email_consent {
            format!(" · {}", lang.t("pf-email_consent-short"))
        } else {
            String::new()
        };
        contact.push(Kv {
            label: lang.t("pf-email"),
            value: format!("{}{consent}", d.email),
        });
    }
    let addr = d.address.one_line();
    let a = &d.address;
    if !(a.line1.is_empty() && a.line2.is_empty() && a.city.is_empty() && a.postal_code.is_empty())
    {
        contact.push(Kv {
            label: lang.t("pf-address"),
            value: addr,
        });
    }
    if !d.emergency_contact.is_empty() {
        let ec = &d.emergency_contact;
        let mut s = ec.name.clone();
        if !ec.relationship.is_empty() {
            s.push_str(&format!(" ({})", ec.relationship));
        }
        if !ec.phone.is_empty() {
            s.push_str(&format!(" · {}", show_phone(&ec.phone)));
        }
        contact.push(Kv {
            label: lang.t("pf-emergency"),
            value: s,
        });
    }
    let mut identity = vec![
        Kv {
            label: lang.t("pf-sex"),
            value: lang.t(&format!("sex-{}", d.sex)),
        },
        Kv {
            label: lang.t("pf-language"),
            value: lang.t(&format!("lang-{}", d.language)),
        },
    ];
    if !d.gender_identity.is_empty() || !d.pronouns.is_empty() {
        identity.push(Kv {
            label: lang.t("pf-gender_identity"),
            value: [d.gender_identity.as_str(), d.pronouns.as_str()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" · "),
        });
    }
    if !d.national_id.is_empty() {
        let masked: String = {
            let chars: Vec<char> = d.national_id.chars().collect();
            let keep = chars.len().saturating_sub(4);
            chars
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if i < keep && c.is_alphanumeric() {
                        '•'
                    } else {
                        *c
                    }
                })
                .collect()
        };
        identity.push(Kv {
            label: lang.t("pf-national_id"),
            value: masked,
        });
    }
    if !d.referral_source.is_empty() {
        identity.push(Kv {
            label: lang.t("pf-referral_source"),
            value: format!(
                "{} {}",
                lang.t(&format!("referral-{}", d.referral_source)),
                d.referral_detail
            )
            .trim()
            .to_string(),
        });
    }
    if !d.external_id.is_empty() {
        identity.push(Kv {
            label: lang.t("pf-external_id"),
            value: d.external_id.clone(),
        });
    }
    for def in state.store.patient_fields(&scope, true).await? {
        if let Some(v) = d.custom.get(&def.field.key) {
            identity.push(Kv {
                label: def.field.label.clone(),
                value: v.clone(),
            });
        }
    }
    if let Ok(Some(loc)) = state
        .store
        .location(&Scope::system(scope.org()), p.location_id)
        .await
    {
        identity.push(Kv {
            label: lang.t("pf-location_id"),
            value: loc.name,
        });
    }
    let family = state.store.family(&scope, p.family_id).await?;
    let members = family
        .members
        .iter()
        .map(|m| MemberView {
            row: row(lang, today, m),
            is_guarantor: family.guarantor_patient == Some(m.id),
            is_self: m.id == p.id,
        })
        .collect();
    let current = state.store.medical_history(&scope, p.id).await?;
    let (allergies, medications, conditions, flags, history_note) = match &current {
        Some(c) => {
            let h = &c.history;
            (
                if h.no_known_allergies {
                    vec![lang.t("hist-nka")]
                } else {
                    h.allergies
                        .iter()
                        .map(|a| {
                            let mut s = a.substance.clone();
                            if !a.reaction.is_empty() {
                                s.push_str(&format!(" — {}", a.reaction));
                            }
                            format!("{s} ({})", lang.t(&format!("severity-{}", a.severity)))
                        })
                        .collect()
                },
                h.medications
                    .iter()
                    .map(|m| {
                        format!("{} {} {}", m.name, m.dose, m.frequency)
                            .trim()
                            .to_string()
                    })
                    .collect(),
                h.conditions
                    .iter()
                    .map(|c| {
                        if c.code.is_empty() {
                            c.text.clone()
                        } else {
                            format!("{} {}", c.code, c.text)
                        }
                    })
                    .collect(),
                h.flags
                    .iter()
                    .map(|f| lang.t(&format!("alert-{}", f.code())))
                    .collect(),
                format!(
                    "{} {} · {}",
                    lang.t("hist-version"),
                    c.version,
                    show_time(lang, c.recorded_at)
                ),
            )
        }
        None => (vec![], vec![], vec![], vec![], String::new()),
    };
    let documents = state
        .store
        .documents(&scope, p.id, false)
        .await?
        .into_iter()
        .map(|d| DocView {
            id: d.id.to_string(),
            category: lang.t(&format!("doccat-{}", d.category)),
            file_name: d.file_name,
            size: size_label(d.size),
            version: d.version,
            uploaded: show_time(lang, d.uploaded_at),
            by: d.uploaded_by_name,
            deleted: d.deleted_at.is_some(),
            title: d.title,
        })
        .collect();
    let mut merges = Vec::new();
    for m in state.store.merges_of(&scope, p.id).await? {
        let survivor = m.survivor_id == p.id;
        let other = if survivor { m.merged_id } else { m.survivor_id };
        let other_label = match state.store.patient_summary(&scope, other).await {
            Ok(s) => format!("{} (#{})", s.display_name(), s.chart_number),
            Err(_) => lang.t("merge-other-hidden"),
        };
        merges.push(MergeView {
            id: m.id.to_string(),
            other_id: other.to_string(),
            other_label,
            survivor,
            at: show_time(lang, m.merged_at),
            by: m.merged_by_name,
            undone: m.undone_at.is_some(),
            can_undo: m.undone_at.is_none() && state.store.now() <= m.undo_until,
        });
    }
    let (appointments, recalls) =
        scheduling_panel(&state, lang, &auth, &actor(&auth, &ctx, &ip), id).await?;
    html(&ProfilePage {
        shell: Shell::build(&state, &ctx).await,
        banner: banner(&state, lang, &scope, &p).await?,
        h: Head {
            chart_tab: auth.can(Permission::ChartRead),
            ..head(lang, today, &p)
        },
        contact,
        identity,
        members,
        family_id: family.id.to_string(),
        guarantor_name: family.guarantor_name(),
        guarantor_is_patient: family.guarantor_patient.is_some(),
        allergies,
        medications,
        conditions,
        flags,
        history_note,
        documents,
        categories: store::patients::documents::CATEGORIES
            .iter()
            .map(|c| Choice {
                value: c.to_string(),
                label: lang.t(&format!("doccat-{c}")),
                selected: *c == "consent",
            })
            .collect(),
        merges,
        statuses: PatientStatus::CHOOSABLE
            .iter()
            .map(|s| Choice {
                value: s.code().into(),
                label: lang.t(&format!("patient-status-{}", s.code())),
                selected: *s == p.status,
            })
            .collect(),
        can_write: auth.can(Permission::PatientsWrite),
        max_upload_mb: state.config.max_upload_bytes / 1_048_576,
        notice: match q.notice.as_str() {
            "" => String::new(),
            k => lang.t(&format!("notice-{k}")),
        },
        appointments,
        recalls,
        can_schedule: auth.can(Permission::ScheduleRead),
        can_book: auth.can(Permission::ScheduleWrite),
    })
}

/// The patient's appointments (newest first) and recalls, for the record's panel; nothing
/// for a user who may not see the agenda.
async fn scheduling_panel(
    state: &AppState,
    lang: Lang,
    auth: &Auth,
    who: &Actor,
    id: PatientId,
) -> Result<(Vec<ApptView>, Vec<(String, String, String)>), AppError> {
    if !auth.can(Permission::ScheduleRead) {
        return Ok((Vec::new(), Vec::new()));
    }
    let scope = auth.scope();
    let now = state.store.now();
    let mut zones = std::collections::HashMap::new();
    for l in state.store.locations(&scope).await? {
        zones.insert(l.id, l.tz()?);
    }
    let items = state
        .store
        .patient_appointments(&scope, who, id, 20)
        .await?;
    let appointments = items
        .iter()
        .map(|i| {
            let a = &i.appointment;
            let tz = zones
                .get(&a.location_id)
                .cloned()
                .unwrap_or(jiff::tz::TimeZone::UTC);
            ApptView {
                id: a.id.to_string(),
                when: format!(
                    "{}–{}",
                    a.start.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M"),
                    a.end.to_zoned(tz).strftime("%H:%M")
                ),
                what: i.type_name.clone().unwrap_or_default(),
                status: a.status.as_str(),
                status_label: lang.t(&format!("appt-status-{}", a.status.as_str())),
                upcoming: a.end > now && a.status.is_open(),
            }
        })
        .collect();
    let recalls = state
        .store
        .patient_recalls(&scope, id)
        .await?
        .into_iter()
        .map(|(t, last, due)| {
            (
                t.name,
                last.map(|d| d.to_string()).unwrap_or_else(|| "—".into()),
                due.map(|d| d.to_string()).unwrap_or_else(|| "—".into()),
            )
        })
        .collect();
    Ok((appointments, recalls))
}

/// `GET /patients/{id}/edit`
pub async fn edit_page(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let p = state
        .store
        .patient(&auth.scope(), &actor(&auth, &ctx, &ip), id)
        .await?;
    form_page(
        &state,
        &ctx,
        &auth,
        StatusCode::OK,
        Some(id),
        FormValues::from_patient(&p),
        FieldErrors::default(),
        vec![],
    )
    .await
}

/// `POST /patients/{id}`
pub async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    state.store.patient_summary(&auth.scope(), id).await?;
    let v = FormValues::parse(&body);
    let (input, phone_fields) = v.input();
    let Ok(location) = v.location_id.parse::<LocationId>() else {
        let fe = FieldErrors(vec![(
            "location_id".into(),
            ctx.lang.t("pf-choose-location"),
        )]);
        return form_page(
            &state,
            &ctx,
            &auth,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(id),
            v,
            fe,
            vec![],
        )
        .await;
    };
    match state
        .store
        .update_patient(
            &auth.scope(),
            &actor(&auth, &ctx, &ip),
            id,
            location,
            v.restricted,
            input,
        )
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/patients/{id}?notice=saved")).into_response()),
        Err(store::tenancy::WriteError::Invalid(e)) if e.code == domain::ErrorCode::Validation => {
            let fe = FieldErrors::from_domain(&e.fields, &phone_fields);
            form_page(
                &state,
                &ctx,
                &auth,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(id),
                v,
                fe,
                vec![],
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    reason: String,
}

/// `POST /patients/{id}/status`
pub async fn set_status(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<StatusForm>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    state.store.patient_summary(&auth.scope(), id).await?;
    let status = PatientStatus::from_code(&f.status)
        .ok_or_else(|| DomainError::field("status", "unknown status"))?;
    state
        .store
        .set_patient_status(
            &auth.scope(),
            &actor(&auth, &ctx, &ip),
            id,
            status,
            &f.reason,
        )
        .await?;
    Ok(Redirect::to(&format!("/patients/{id}?notice=status")).into_response())
}
