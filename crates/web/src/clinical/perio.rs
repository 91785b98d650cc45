//! `/patients/{id}/perio`: the periodontal chart. A grid of the six sites of every tooth, in
//! the usual probing order by keyboard (a digit a site, the cursor moves on by itself; `b`
//! marks the site just probed as bleeding, `s` as suppurating); the latest exam with its
//! summary, the changes from the one before, site by site, and the suggested stage, which the
//! dentist confirms.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::clinical::perio::{
    PerioExam, PerioSite, SiteChange, SiteReading, ToothReading, has_furcation, probing_sequence,
};
use domain::clinical::teeth::{Numbering, Tooth, arch_order};
use domain::identity::Permission;
use domain::{ErrorCode, PatientId};
use store::clinical::PerioRecord;
use store::tenancy::WriteError;

use crate::AppState;
use crate::access::Auth;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::mfa::form_urlencoded_pairs;
use crate::pages::html_status;
use crate::patients::{
    Banner, FieldErrors, Head, actor, banner, head, parse_patient_id, show_time, today,
};
use crate::phone::ClientIp;
use crate::shell::{Ctx, Shell};

pub struct GridSite {
    pub key: String,
    pub code: &'static str,
    pub pd: String,
    pub gm: String,
    pub cal: String,
    pub bop: bool,
    pub sup: bool,
    pub seq: i64,
    /// `deep4`, `deep6`, `worse` / `better` against the exam before, and `end` on a tooth's
    /// last site (the border between teeth).
    pub cls: String,
}

pub struct GridTooth {
    pub fdi: u8,
    pub label: String,
    pub missing: bool,
    pub furcation_ok: bool,
    pub mobility: String,
    pub furcation: String,
    /// Toward the cheek (buccal), then toward the tongue or palate, each in drawing order.
    pub outer: Vec<GridSite>,
    pub inner: Vec<GridSite>,
}

pub struct GridArch {
    pub upper: bool,
    pub teeth: Vec<GridTooth>,
}

pub struct ExamView {
    pub id: String,
    pub number: i64,
    pub when: String,
    pub by: String,
    pub bleeding: String,
    pub plaque: String,
    pub sites_4: usize,
    pub sites_6: usize,
    pub mean_pd: String,
    pub mean_cal: String,
    pub teeth: usize,
    pub confirmed: String,
}

#[derive(Template)]
#[template(path = "patient_perio.html")]
struct PerioPage {
    shell: Shell,
    banner: Banner,
    h: Head,
    entry: Vec<GridArch>,
    lost: String,
    can_write: bool,
    can_confirm: bool,
    latest: Option<ExamView>,
    latest_grid: Vec<GridArch>,
    suggestion: String,
    suggestion_code: String,
    reasons: Vec<String>,
    changes: Vec<String>,
    has_previous: bool,
    exams: Vec<ExamView>,
    fe: FieldErrors,
    notice: String,
}

/// The sites of one side of a tooth in drawing order (left to right on the screen).
fn side(t: Tooth, buccal: bool) -> [PerioSite; 3] {
    domain::clinical::perio::sites_in_order(t, buccal, true)
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// The grid of an exam (values as typed when `typed` is given, for a refused form).
fn grid(
    exam: &PerioExam,
    typed: Option<&HashMap<String, String>>,
    missing: &[Tooth],
    numbering: Numbering,
    changes: &[SiteChange],
) -> Vec<GridArch> {
    let seq: HashMap<(Tooth, PerioSite), i64> = probing_sequence()
        .into_iter()
        .filter(|(t, _)| !missing.contains(t))
        .enumerate()
        .map(|(i, k)| (k, i as i64))
        .collect();
    let empty = ToothReading::default();
    [true, false]
        .into_iter()
        .map(|upper| GridArch {
            upper,
            teeth: arch_order(upper, false)
                .into_iter()
                .map(|t| {
                    let r = exam.teeth.get(&t).unwrap_or(&empty);
                    let site = |s: PerioSite| {
                        let v: &SiteReading = r.site(s);
                        let key = format!("{}_{}", t.fdi(), s.code());
                        let field = |prefix: &str, value: String| match typed {
                            Some(m) => m
                                .get(&format!("{prefix}_{key}"))
                                .cloned()
                                .unwrap_or_default(),
                            None => value,
                        };
                        let mut cls = String::new();
                        match v.pd {
                            Some(p) if p >= 6 => cls.push_str("deep6"),
                            Some(p) if p >= 4 => cls.push_str("deep4"),
                            _ => {}
                        }
                        if let Some(c) = changes.iter().find(|c| c.tooth == t && c.site == s) {
                            if c.pd_delta >= 2 || c.cal_delta >= 2 {
                                cls.push_str(" worse");
                            } else if c.pd_delta <= -2 || c.cal_delta <= -2 {
                                cls.push_str(" better");
                            }
                            if c.new_bleeding {
                                cls.push_str(" new-bop");
                            }
                        }
                        GridSite {
                            code: s.code(),
                            pd: field("pd", opt(v.pd)),
                            gm: field("gm", opt(v.gm)),
                            cal: opt(v.cal()),
                            bop: match typed {
                                Some(m) => m.contains_key(&format!("bop_{key}")),
                                None => v.bleeding,
                            },
                            sup: match typed {
                                Some(m) => m.contains_key(&format!("sup_{key}")),
                                None => v.suppuration,
                            },
                            seq: seq.get(&(t, s)).copied().unwrap_or(-1),
                            cls,
                            key,
                        }
                    };
                    let ends = |mut v: Vec<GridSite>| {
                        if let Some(last) = v.last_mut() {
                            last.cls.push_str(" end");
                        }
                        v
                    };
                    let outer = ends(side(t, true).map(site).into_iter().collect());
                    let inner = ends(side(t, false).map(site).into_iter().collect());
                    let tooth_field = |prefix: &str, value: String| match typed {
                        Some(m) => m
                            .get(&format!("{prefix}_{}", t.fdi()))
                            .cloned()
                            .unwrap_or_default(),
                        None => value,
                    };
                    GridTooth {
                        fdi: t.fdi(),
                        label: t.show(numbering),
                        missing: missing.contains(&t),
                        furcation_ok: has_furcation(t),
                        mobility: tooth_field("mob", opt(r.mobility)),
                        furcation: tooth_field("fur", opt(r.furcation)),
                        outer,
                        inner,
                    }
                })
                .collect(),
        })
        .collect()
}

fn case_label(lang: Lang, c: &str) -> String {
    if let Some(rest) = c.strip_prefix("stage-")
        && let Some((stage, extent)) = rest.split_once('-')
    {
        return format!(
            "{} {} · {}",
            lang.t("perio-stage"),
            ["I", "II", "III", "IV"]
                .get(stage.parse::<usize>().unwrap_or(1).saturating_sub(1))
                .copied()
                .unwrap_or("?"),
            lang.t(&format!("perio-extent-{extent}"))
        );
    }
    lang.t(&format!("perio-case-{c}"))
}

fn exam_view(lang: Lang, r: &PerioRecord) -> ExamView {
    let s = r.exam.summary();
    ExamView {
        id: r.id.to_string(),
        number: r.number,
        when: show_time(lang, r.recorded_at),
        by: r.recorded_by_name.clone(),
        bleeding: format!("{:.0} %", s.bleeding_pct),
        plaque: format!("{:.0} %", s.plaque_pct),
        sites_4: s.sites_4mm,
        sites_6: s.sites_6mm,
        mean_pd: format!("{:.1}", s.mean_pd),
        mean_cal: format!("{:.1}", s.mean_cal),
        teeth: s.teeth,
        confirmed: r
            .confirmed
            .as_ref()
            .map(|(c, by, at)| format!("{} · {by} · {}", case_label(lang, c), show_time(lang, *at)))
            .unwrap_or_default(),
    }
}

#[allow(clippy::too_many_arguments)]
async fn page(
    state: &AppState,
    ctx: &Ctx,
    auth: &Auth,
    ip: &ClientIp,
    id: PatientId,
    typed: Option<HashMap<String, String>>,
    fe: FieldErrors,
    notice: &str,
    status: StatusCode,
) -> Result<Response, AppError> {
    let scope = auth.scope();
    let lang = ctx.lang;
    let who = actor(auth, ctx, ip);
    let p = state.store.patient(&scope, &who, id).await?;
    let numbering = state.store.clinical_settings(&scope).await?.numbering;
    let missing = state.store.chart(&scope, &who, id).await?.missing_teeth();
    let exams = state.store.perio_exams(&scope, &who, id).await?;
    let latest = exams.first();
    let changes = match (latest, exams.get(1)) {
        (Some(a), Some(b)) => a.exam.changes_from(&b.exam),
        _ => Vec::new(),
    };
    let suggestion = latest.map(|l| l.exam.suggestion());
    let lost = typed
        .as_ref()
        .and_then(|m| m.get("lost").cloned())
        .unwrap_or_default();
    let entry = grid(
        &PerioExam::default(),
        typed.as_ref(),
        &missing,
        numbering,
        &[],
    );
    html_status(
        &PerioPage {
            shell: Shell::build(state, ctx).await,
            banner: banner(state, lang, &scope, &p).await?,
            h: Head {
                chart_tab: true,
                ..head(lang, today(state), &p)
            },
            entry,
            lost,
            can_write: auth.can(Permission::PerioWrite),
            can_confirm: auth.can(Permission::ChartSign),
            latest: latest.map(|l| exam_view(lang, l)),
            latest_grid: latest
                .map(|l| grid(&l.exam, None, &missing, numbering, &changes))
                .unwrap_or_default(),
            suggestion: suggestion
                .as_ref()
                .map(|s| case_label(lang, &s.case.code()))
                .unwrap_or_default(),
            suggestion_code: suggestion
                .as_ref()
                .map(|s| s.case.code())
                .unwrap_or_default(),
            reasons: suggestion.map(|s| s.reasons).unwrap_or_default(),
            changes: changes
                .iter()
                .map(|c| {
                    let mut parts = Vec::new();
                    if c.pd_delta != 0 {
                        parts.push(format!("{} {:+} mm", lang.t("perio-pd-short"), c.pd_delta));
                    }
                    if c.cal_delta != 0 {
                        parts.push(format!("CAL {:+} mm", c.cal_delta));
                    }
                    if c.new_bleeding {
                        parts.push(lang.t("perio-new-bleeding"));
                    }
                    format!(
                        "{} {}: {}",
                        c.tooth.show(numbering),
                        c.site.code(),
                        parts.join(", ")
                    )
                })
                .collect(),
            has_previous: exams.len() > 1,
            exams: exams.iter().map(|r| exam_view(lang, r)).collect(),
            fe,
            notice: if notice.is_empty() {
                String::new()
            } else {
                lang.t(&format!("perio-notice-{notice}"))
            },
        },
        status,
    )
}

/// `GET /patients/{id}/perio`
pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<BTreeMap<String, String>>,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let notice = q.get("notice").map(String::as_str).unwrap_or("");
    let notice = if ["saved", "confirmed"].contains(&notice) {
        notice
    } else {
        ""
    };
    page(
        &state,
        &ctx,
        &auth,
        &ip,
        id,
        None,
        FieldErrors::default(),
        notice,
        StatusCode::OK,
    )
    .await
}

/// The form into an exam; values that are not numbers are field errors here (ranges are the
/// domain's).
fn read(body: &[u8]) -> (HashMap<String, String>, PerioExam, Vec<(String, String)>) {
    let typed: HashMap<String, String> = form_urlencoded_pairs(body).collect();
    let mut exam = PerioExam::default();
    let mut errors = Vec::new();
    let site_of = |code: &str| PerioSite::ALL.into_iter().find(|s| s.code() == code);
    for (k, v) in &typed {
        let v = v.trim();
        let mut parts = k.split('_');
        let (Some(kind), Some(tooth)) = (parts.next(), parts.next()) else {
            continue;
        };
        let Some(t) = tooth.parse::<u8>().ok().and_then(Tooth::from_fdi) else {
            continue;
        };
        let site = parts.next().and_then(site_of);
        match (kind, site) {
            ("pd", Some(s)) if !v.is_empty() => match v.parse::<u8>() {
                Ok(n) => exam.teeth.entry(t).or_default().sites[s.index()].pd = Some(n),
                Err(_) => errors.push((
                    format!("{t} {}", s.code()),
                    format!("{v:?} is not a depth in mm"),
                )),
            },
            ("gm", Some(s)) if !v.is_empty() => match v.parse::<i8>() {
                Ok(n) => exam.teeth.entry(t).or_default().sites[s.index()].gm = Some(n),
                Err(_) => errors.push((
                    format!("{t} {}", s.code()),
                    format!("{v:?} is not a margin in mm"),
                )),
            },
            ("bop", Some(s)) => exam.teeth.entry(t).or_default().sites[s.index()].bleeding = true,
            ("sup", Some(s)) => {
                exam.teeth.entry(t).or_default().sites[s.index()].suppuration = true
            }
            ("mob", None) if !v.is_empty() => match v.parse::<u8>() {
                Ok(n) => exam.teeth.entry(t).or_default().mobility = Some(n),
                Err(_) => errors.push((format!("{t} mobility"), format!("{v:?} is not 0 to 3"))),
            },
            ("fur", None) if !v.is_empty() => match v.parse::<u8>() {
                Ok(0) => {}
                Ok(n) => exam.teeth.entry(t).or_default().furcation = Some(n),
                Err(_) => errors.push((
                    format!("{t} furcation"),
                    format!("{v:?} is not I to III (1–3)"),
                )),
            },
            _ => {}
        }
    }
    if let Some(l) = typed
        .get("lost")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        match l.parse::<u8>() {
            Ok(n) => exam.teeth_lost_to_perio = n,
            Err(_) => errors.push((
                "teeth_lost_to_perio".into(),
                format!("{l:?} is not a number"),
            )),
        }
    }
    errors.sort();
    (typed, exam, errors)
}

/// `POST /patients/{id}/perio`: records an exam.
pub async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let (typed, exam, mut errors) = read(&body);
    if errors.is_empty() {
        match state
            .store
            .save_perio_exam(&auth.scope(), &actor(&auth, &ctx, &ip), id, &exam)
            .await
        {
            Ok(_) => {
                return Ok(
                    Redirect::to(&format!("/patients/{id}/perio?notice=saved")).into_response()
                );
            }
            Err(WriteError::Invalid(d)) if d.code == ErrorCode::Validation => {
                errors.extend(d.fields.into_iter().map(|f| (f.field, f.message)));
            }
            Err(e) => return Err(e.into()),
        }
    } else if let Err(more) = exam.normalized() {
        errors.extend(more.into_iter().map(|f| (f.field, f.message)));
    }
    page(
        &state,
        &ctx,
        &auth,
        &ip,
        id,
        Some(typed),
        FieldErrors(errors),
        "",
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// `POST /patients/{id}/perio/{exam}/confirm`: the dentist confirms a diagnosis.
pub async fn confirm(
    State(state): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    ip: ClientIp,
    Path((id, exam)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let id = parse_patient_id(&id)?;
    let exam: uuid::Uuid = exam.parse().map_err(|_| AppError::NotFound)?;
    let case = form_urlencoded_pairs(&body)
        .find(|(k, _)| k == "case")
        .map(|(_, v)| v)
        .unwrap_or_default();
    state
        .store
        .confirm_perio_diagnosis(&auth.scope(), &actor(&auth, &ctx, &ip), id, exam, &case)
        .await?;
    Ok(Redirect::to(&format!("/patients/{id}/perio?notice=confirmed")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_reads_sites_teeth_and_mistakes() {
        let (_, exam, errors) = read(b"pd_16_MB=5&gm_16_MB=-1&bop_16_MB=on&pd_16_DB=x&mob_11=2&fur_46=0&fur_36=2&lost=1&pd_99_MB=3");
        let t16 = Tooth::from_fdi(16).unwrap();
        let r = &exam.teeth[&t16];
        assert_eq!(
            (r.sites[2].pd, r.sites[2].gm, r.sites[2].bleeding),
            (Some(5), Some(-1), true)
        );
        assert_eq!(exam.teeth[&Tooth::from_fdi(11).unwrap()].mobility, Some(2));
        assert_eq!(exam.teeth[&Tooth::from_fdi(36).unwrap()].furcation, Some(2));
        assert!(!exam.teeth.contains_key(&Tooth::from_fdi(46).unwrap()));
        assert_eq!(exam.teeth_lost_to_perio, 1);
        assert_eq!(
            errors,
            vec![(
                "16 DB".to_string(),
                "\"x\" is not a depth in mm".to_string()
            )]
        );
    }

    #[test]
    fn the_grid_numbers_sites_in_probing_order_skipping_missing_teeth() {
        let g = grid(
            &PerioExam::default(),
            None,
            &[Tooth::from_fdi(18).unwrap()],
            Numbering::Fdi,
            &[],
        );
        let first = &g[0].teeth[0];
        assert_eq!(
            (first.fdi, first.missing, first.outer[0].seq),
            (18, true, -1)
        );
        assert_eq!(
            g[0].teeth[1].outer[0].seq, 0,
            "17 DB is probed first when 18 is missing"
        );
        assert_eq!(g[0].teeth[1].outer[0].code, "DB");
        // Upper left teeth show their mesial site first (toward the midline).
        assert_eq!(g[0].teeth[8].outer[0].code, "MB");
    }
}
