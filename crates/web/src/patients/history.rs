//! `/patients/{id}/history`: the structured medical history form and every earlier version.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::identity::Permission;
use domain::patients::history::{Allergy, Condition, Flag, MedicalHistory, Medication, SEVERITIES};
use domain::patients::icd10;

use super::{
    Banner, Choice, FieldErrors, Head, actor, banner, head, parse_patient_id, show_time, today,
};
use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::mfa::form_urlencoded_pairs;
use crate::pages::html;
use crate::phone::ClientIp;
use crate::shell::{Ctx, Shell};

/// Blank lines offered under the filled ones.
const BLANK_ROWS: usize = 3;

pub struct AllergyRow {
    pub i: usize,
    pub substance: String,
    pub reaction: String,
    pub severities: Vec<Choice>,
}

pub struct MedRow {
    pub i: usize,
    pub name: String,
    pub dose: String,
    pub frequency: String,
}

pub struct CondRow {
    pub i: usize,
    pub code: String,
    pub text: String,
}

pub struct FlagBox {
    pub code: &'static str,
    pub label: String,
    pub checked: bool,
    pub critical: bool,
}

pub struct VersionView {
    pub version: i64,
    pub by: String,
    pub at: String,
    pub reviewed: bool,
    pub changes: Vec<String>,
}

pub struct CodeOption {
    pub code: &'static str,
    pub title: &'static str,
}

#[derive(Template)]
#[template(path = "patient_history.html")]
struct HistoryPage {
    shell: Shell,
    banner: Banner,
    h: Head,
    nka: bool,
    allergies: Vec<AllergyRow>,
    medications: Vec<MedRow>,
    conditions: Vec<CondRow>,
    flags: Vec<FlagBox>,
    notes: String,
    versions: Vec<VersionView>,
    codes: Vec<CodeOption>,
    fe: FieldErrors,
    can_write: bool,
}

fn rows(lang: Lang, h: &MedicalHistory) -> (Vec<AllergyRow>, Vec<MedRow>, Vec<CondRow>) {
    let sev = |current: &str| {
        SEVERITIES
            .iter()
            .map(|s| Choice {
                value: s.to_string(),
                label: lang.t(&format!("severity-{s}")),
                selected: *s == current,
            })
            .collect::<Vec<_>>()
    };
    let mut allergies: Vec<AllergyRow> = h
        .allergies
        .iter()
        .enumerate()
        .map(|(i, a)| AllergyRow {
            i,
            substance: a.substance.clone(),
            reaction: a.reaction.clone(),
            severities: sev(&a.severity),
        })
        .collect();
    for _ in 0..BLANK_ROWS {
        allergies.push(AllergyRow {
            i: allergies.len(),
            substance: String::new(),
            reaction: String::new(),
            severities: sev("moderate"),
        });
    }
    let mut medications: Vec<MedRow> = h
        .medications
        .iter()
        .enumerate()
        .map(|(i, m)| MedRow {
            i,
            name: m.name.clone(),
            dose: m.dose.clone(),
            frequency: m.frequency.clone(),
        })
        .collect();
    for _ in 0..BLANK_ROWS {
        medications.push(MedRow {
            i: medications.len(),
            name: String::new(),
            dose: String::new(),
            frequency: String::new(),
        });
    }
    let mut conditions: Vec<CondRow> = h
        .conditions
        .iter()
        .enumerate()
        .map(|(i, c)| CondRow {
            i,
            code: c.code.clone(),
            text: c.text.clone(),
        })
        .collect();
    for _ in 0..BLANK_ROWS {
        conditions.push(CondRow {
            i: conditions.len(),
            code: String::new(),
            text: String::new(),
        });
    }
    (allergies, medications, conditions)
}

/// The form into a history (row order kept; blank rows dropped by `normalized`).
fn parse(body: &[u8]) -> (MedicalHistory, bool) {
    let mut h = MedicalHistory::default();
    let mut reviewed = false;
    fn at<T: Default>(v: &mut Vec<T>, i: usize) -> &mut T {
        while v.len() <= i {
            v.push(T::default());
        }
        &mut v[i]
    }
    for (k, val) in form_urlencoded_pairs(body) {
        let (name, idx) = match k.rsplit_once('_') {
            Some((n, i)) if i.chars().all(|c| c.is_ascii_digit()) && !i.is_empty() => {
                (n.to_string(), i.parse::<usize>().unwrap_or(0).min(200))
            }
            _ => (k.clone(), 0),
        };
        match name.as_str() {
            "allergy_substance" => at::<Allergy>(&mut h.allergies, idx).substance = val,
            "allergy_reaction" => at::<Allergy>(&mut h.allergies, idx).reaction = val,
            "allergy_severity" => at::<Allergy>(&mut h.allergies, idx).severity = val,
            "med_name" => at::<Medication>(&mut h.medications, idx).name = val,
            "med_dose" => at::<Medication>(&mut h.medications, idx).dose = val,
            "med_frequency" => at::<Medication>(&mut h.medications, idx).frequency = val,
            "cond_code" => at::<Condition>(&mut h.conditions, idx).code = val,
            "cond_text" => at::<Condition>(&mut h.conditions, idx).text = val,
            _ => match k.as_str() {
                "flag" => {
                    if let Some(f) = Flag::from_code(&val) {
                        h.flags.push(f);
                    }
                }
                "nka" => h.no_known_allergies = val == "on",
                "notes" => h.notes = val,
                "reviewed" => reviewed = val == "on",
                _ => {}
            },
        }
    }
    // An allergy row with only the default severity and nothing typed is blank.
    for a in &mut h.allergies {
        if a.substance.trim().is_empty() && a.reaction.trim().is_empty() {
            a.severity.clear();
        }
    }
    (h, reviewed)
}

#[allow(clippy::too_many_arguments)]
async fn page(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    ip: &ClientIp,
    id: domain::PatientId,
    shown: Option<MedicalHistory>,
    fe: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let lang = ctx.lang;
    let p = state
        .store
        .patient(&scope, &actor(auth, ctx, ip), id)
        .await?;
    let versions = state
        .store
        .history_versions(&scope, &actor(auth, ctx, ip), id)
        .await?;
    let current = versions
        .first()
        .map(|v| v.history.clone())
        .unwrap_or_default();
    let h = shown.unwrap_or(current);
    let (allergies, medications, conditions) = rows(lang, &h);
    let resp = html(&HistoryPage {
        shell: Shell::build(state, ctx).await,
        banner: banner(state, lang, &scope, &p).await?,
        h: Head {
            chart_tab: auth.can(Permission::ChartRead),
            ..head(lang, today(state), &p)
        },
        nka: h.no_known_allergies,
        allergies,
        medications,
        conditions,
        flags: Flag::ALL
            .iter()
            .map(|f| FlagBox {
                code: f.code(),
                label: lang.t(&format!("alert-{}", f.code())),
                checked: h.flags.contains(f),
                critical: f.critical(),
            })
            .collect(),
        notes: h.notes.clone(),
        versions: versions
            .iter()
            .map(|v| VersionView {
                version: v.version,
                by: v.recorded_by_name.clone(),
                at: show_time(lang, v.recorded_at),
                reviewed: v.reviewed,
                changes: v.changes.clone(),
            })
            .collect(),
        codes: icd10::CODES
            .iter()
            .map(|c| CodeOption {
                code: c.code,
                title: if lang == Lang::Fr { c.fr } else { c.en },
            })
            .collect(),
        fe,
        can_write: auth.can(Permission::PatientsWrite),
    });
    resp.map(|mut r| {
        *r.status_mut() = status;
        r.extensions_mut().insert(crate::middleware::KeepBody);
        r
    })
}

/// `GET /patients/{id}/history`
pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    page(
        &state,
        &ctx,
        &auth,
        &ip,
        id,
        None,
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// `POST /patients/{id}/history`
pub async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let (h, reviewed) = parse(&body);
    match state
        .store
        .save_medical_history(&auth.scope(), &actor(&auth, &ctx, &ip), id, &h, reviewed)
        .await
    {
        Ok(Some(_)) => Ok(Redirect::to(&format!("/patients/{id}?notice=history")).into_response()),
        Ok(None) => Ok(Redirect::to(&format!("/patients/{id}?notice=unchanged")).into_response()),
        Err(store::tenancy::WriteError::Invalid(e)) if e.code == domain::ErrorCode::Validation => {
            let fe = FieldErrors(
                e.fields
                    .iter()
                    .map(|f| (f.field.clone(), f.message.clone()))
                    .collect(),
            );
            page(
                &state,
                &ctx,
                &auth,
                &ip,
                id,
                Some(h),
                fe,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_reads_rows_by_index() {
        let (h, reviewed) = parse(
            b"allergy_substance_0=Penicillin&allergy_reaction_0=hives&allergy_severity_0=severe&allergy_substance_1=&allergy_severity_1=moderate&med_name_0=Warfarin&cond_code_2=E11.9&flag=anticoagulants&flag=bogus&reviewed=on",
        );
        assert!(reviewed);
        let n = h.normalized().unwrap();
        assert_eq!(n.allergies.len(), 1);
        assert_eq!(n.allergies[0].severity, "severe");
        assert_eq!(n.medications[0].name, "Warfarin");
        assert_eq!(n.conditions[0].code, "E11.9");
        assert_eq!(n.flags, vec![Flag::Anticoagulants]);
    }
}
