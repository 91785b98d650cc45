//! `/settings/clinical`: how teeth are numbered, and the catalog: every code with its site,
//! drawing and default fee; a code added or changed by hand; a licensed code list imported
//! from CSV (all rows checked before any is stored).

use askama::Template;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::clinical::catalog::{CATEGORIES, CatalogEntry, Effect, EntryKind, SiteRule, parse_csv};
use domain::clinical::teeth::Numbering;
use domain::{DomainError, Money};
use serde::Deserialize;
use store::clinical::ClinicalSettings;
use store::tenancy::WriteError;

use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::mfa::form_urlencoded_pairs;
use crate::pages::html_status;
use crate::patients::{Choice, FieldErrors, actor};
use crate::phone::ClientIp;
use crate::shell::{Ctx, Shell};

pub struct CodeRow {
    pub code: String,
    pub name: String,
    pub category: String,
    pub kind: String,
    pub site: String,
    pub minutes: u16,
    pub fee: String,
    pub icd10: String,
    pub dentist_only: bool,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "settings_clinical.html")]
struct SettingsPage {
    shell: Shell,
    numberings: Vec<Choice>,
    rows: Vec<CodeRow>,
    categories: Vec<Choice>,
    sites: Vec<Choice>,
    effects: Vec<Choice>,
    fe: FieldErrors,
    problems: Vec<String>,
    notice: String,
}

#[derive(Deserialize, Default)]
pub struct NoticeQuery {
    #[serde(default)]
    notice: String,
}

async fn currency(state: &AppState, auth: &Auth) -> Result<domain::Currency, AppError> {
    super::plans::currency(state, &auth.scope()).await
}

async fn page(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    fe: FieldErrors,
    problems: Vec<String>,
    notice: String,
    status: StatusCode,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let lang = ctx.lang;
    let settings = state.store.clinical_settings(&scope).await?;
    let codes = state.store.procedure_codes(&scope).await?;
    let cur = currency(state, auth).await?;
    let rows = codes
        .iter()
        .map(|c| CodeRow {
            code: c.entry.code.clone(),
            name: c.entry.name.clone(),
            category: lang.t(&format!("category-{}", c.entry.category)),
            kind: lang.t(&format!("chart-kind-{}", c.entry.kind.code())),
            site: lang.t(&format!("chart-site-{}", c.entry.site.code())),
            minutes: c.entry.minutes,
            fee: Money::from_minor(c.entry.fee_minor, cur).to_string(),
            icd10: c.entry.icd10.clone().unwrap_or_default(),
            dentist_only: c.entry.dentist_only,
            active: c.active,
        })
        .collect();
    html_status(
        &SettingsPage {
            shell: Shell::build(state, ctx).await,
            numberings: Numbering::ALL
                .iter()
                .map(|n| Choice {
                    value: n.code().into(),
                    label: lang.t(&format!("numbering-{}", n.code())),
                    selected: *n == settings.numbering,
                })
                .collect(),
            rows,
            categories: CATEGORIES
                .iter()
                .filter(|c| **c != "condition")
                .map(|c| Choice {
                    value: (*c).into(),
                    label: lang.t(&format!("category-{c}")),
                    selected: *c == "other",
                })
                .collect(),
            sites: SiteRule::ALL
                .iter()
                .map(|s| Choice {
                    value: s.code().into(),
                    label: lang.t(&format!("chart-site-{}", s.code())),
                    selected: *s == SiteRule::Mouth,
                })
                .collect(),
            effects: Effect::ALL
                .iter()
                .filter(|e| !matches!(e, Effect::Missing | Effect::Lesion | Effect::ToothCondition))
                .map(|e| Choice {
                    value: e.code().into(),
                    label: lang.t(&format!("chart-effect-{}", e.code())),
                    selected: *e == Effect::None,
                })
                .collect(),
            fe,
            problems,
            notice,
        },
        status,
    )
}

/// `GET /settings/clinical`
pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let notice = match q.notice.as_str() {
        "" => String::new(),
        k => ctx.lang.t(&format!("clinical-notice-{k}")),
    };
    page(
        &state,
        &ctx,
        &auth,
        FieldErrors::default(),
        Vec::new(),
        notice,
        StatusCode::OK,
    )
    .await
}

/// `POST /settings/clinical`: the numbering.
pub async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let numbering = form_urlencoded_pairs(&body)
        .find(|(k, _)| k == "numbering")
        .and_then(|(_, v)| Numbering::from_code(&v))
        .ok_or_else(|| {
            AppError::Domain(DomainError::field("numbering", "fdi, universal or palmer"))
        })?;
    state
        .store
        .set_clinical_settings(
            &auth.scope(),
            &actor(&auth, &ctx, &ip),
            ClinicalSettings { numbering },
        )
        .await?;
    Ok(Redirect::to("/settings/clinical?notice=saved").into_response())
}

/// `POST /settings/clinical/codes`: adds or changes one code.
pub async fn save_code(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let cur = currency(&state, &auth).await?;
    let mut e = CatalogEntry {
        code: String::new(),
        kind: EntryKind::Procedure,
        name: String::new(),
        category: "other".into(),
        minutes: 0,
        site: SiteRule::Mouth,
        dentist_only: false,
        fee_minor: 0,
        icd10: None,
        effect: Effect::None,
    };
    let mut active = true;
    let mut errors = Vec::new();
    for (k, v) in form_urlencoded_pairs(&body) {
        match k.as_str() {
            "code" => e.code = v,
            "name" => e.name = v,
            "category" => e.category = v,
            "minutes" => match v.trim().parse() {
                Ok(m) => e.minutes = m,
                Err(_) if v.trim().is_empty() => {}
                Err(_) => errors.push(("minutes".to_string(), ctx.lang.t("clinical-bad-minutes"))),
            },
            "site" => e.site = SiteRule::from_code(&v).unwrap_or(SiteRule::Mouth),
            "effect" => e.effect = Effect::from_code(&v).unwrap_or(Effect::None),
            "dentist_only" => e.dentist_only = v == "on",
            "inactive" => active = v != "on",
            "fee" if !v.trim().is_empty() => match Money::parse(v.trim(), cur) {
                Ok(m) => e.fee_minor = m.minor(),
                Err(_) => errors.push(("fee".to_string(), ctx.lang.t("clinical-bad-fee"))),
            },
            _ => {}
        }
    }
    if !errors.is_empty() {
        // Every field's problem at once, not only the ones found while reading the form.
        if let Err(es) = e.normalized() {
            errors.extend(es.into_iter().map(|f| (f.field, f.message)));
        }
    } else {
        match state
            .store
            .save_procedure_code(&auth.scope(), &actor(&auth, &ctx, &ip), &e, active)
            .await
        {
            Ok(_) => return Ok(Redirect::to("/settings/clinical?notice=code").into_response()),
            Err(WriteError::Invalid(d)) if d.code == domain::ErrorCode::Validation => {
                errors.extend(d.fields.into_iter().map(|f| (f.field, f.message)));
            }
            Err(other) => return Err(other.into()),
        }
    }
    page(
        &state,
        &ctx,
        &auth,
        FieldErrors(errors),
        Vec::new(),
        String::new(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// `POST /settings/clinical/import`: a CSV code list; nothing is stored unless every row is
/// right.
pub async fn import(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    mut mp: Multipart,
) -> Result<Response, AppError> {
    let max = state.config.max_upload_bytes;
    let bad = |m: String| AppError::Domain(DomainError::field("file", m));
    let mut data = Vec::new();
    while let Some(mut field) = mp
        .next_field()
        .await
        .map_err(|e| bad(format!("the upload could not be read: {e}")))?
    {
        if field.name() == Some("file") {
            while let Some(chunk) = field
                .chunk()
                .await
                .map_err(|e| bad(format!("the upload was cut off: {e}")))?
            {
                if data.len() + chunk.len() > max {
                    return Err(bad(format!(
                        "the file is larger than the {} MB limit",
                        max / 1_048_576
                    )));
                }
                data.extend_from_slice(&chunk);
            }
        }
    }
    let text = String::from_utf8(data).map_err(|_| bad("the file is not UTF-8 text".into()))?;
    let cur = currency(&state, &auth).await?;
    match parse_csv(&text, u32::from(cur.exponent())) {
        Ok(entries) => {
            let (added, updated) = state
                .store
                .import_procedure_codes(&auth.scope(), &actor(&auth, &ctx, &ip), &entries)
                .await?;
            let notice = format!(
                "{} {added} · {} {updated}",
                ctx.lang.t("clinical-imported-added"),
                ctx.lang.t("clinical-imported-updated")
            );
            page(
                &state,
                &ctx,
                &auth,
                FieldErrors::default(),
                Vec::new(),
                notice,
                StatusCode::OK,
            )
            .await
        }
        Err(problems) => {
            page(
                &state,
                &ctx,
                &auth,
                FieldErrors::default(),
                problems,
                String::new(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}
