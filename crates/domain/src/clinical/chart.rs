//! Charting: an entry puts a catalog code on a tooth (and its surfaces), an area or the mouth,
//! with a status. The odontogram is computed from the entries, oldest first; nothing is stored
//! as a drawing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::catalog::{CatalogEntry, Effect, EntryKind, SiteRule};
use super::teeth::{Area, Numbering, Surface, Surfaces, Tooth};
use crate::kernel::error::FieldError;

/// The status of a charted entry.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartStatus {
    /// Work found in the mouth, done elsewhere or before the practice's records.
    Existing,
    /// Proposed work (treatment plans pick it up).
    Planned,
    /// Work done here.
    Completed,
    /// A finding (caries, a missing tooth, ...).
    Condition,
}

impl ChartStatus {
    pub const ALL: [ChartStatus; 4] = [
        ChartStatus::Planned,
        ChartStatus::Completed,
        ChartStatus::Existing,
        ChartStatus::Condition,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ChartStatus::Existing => "existing",
            ChartStatus::Planned => "planned",
            ChartStatus::Completed => "completed",
            ChartStatus::Condition => "condition",
        }
    }

    pub fn from_code(s: &str) -> Option<ChartStatus> {
        ChartStatus::ALL.into_iter().find(|c| c.code() == s)
    }

    /// The words a keyboard entry may end with (English and French).
    fn from_word(s: &str) -> Option<ChartStatus> {
        Some(match s.to_lowercase().as_str() {
            "planned" | "plan" | "p" | "tp" | "prévu" | "prevu" => ChartStatus::Planned,
            "completed" | "complete" | "done" | "c" | "fait" | "terminé" | "termine" => {
                ChartStatus::Completed
            }
            "existing" | "exist" | "e" | "ee" | "existant" => ChartStatus::Existing,
            _ => return None,
        })
    }
}

/// Where an entry sits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Site {
    Mouth,
    Tooth(Tooth, Surfaces),
    Area(Area),
}

impl Site {
    pub fn tooth(self) -> Option<Tooth> {
        match self {
            Site::Tooth(t, _) => Some(t),
            _ => None,
        }
    }
}

/// An entry as asked for (the API's body, the form, or a parsed keyboard line), before it is
/// checked against the catalog and the chart.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct EntryRequest {
    #[serde(default)]
    pub code: String,
    /// In the clinic's numbering (the API takes FDI).
    #[serde(default)]
    pub tooth: Option<String>,
    #[serde(default)]
    pub area: Option<String>,
    #[serde(default)]
    pub surfaces: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    /// Why a procedure is charted on a missing tooth.
    #[serde(default)]
    pub override_reason: Option<String>,
}

/// An entry checked against its catalog code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedEntry {
    pub code: String,
    pub site: Site,
    pub status: ChartStatus,
    pub note: String,
    pub override_reason: Option<String>,
}

fn field(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

impl EntryRequest {
    /// Checks the request against its catalog entry and the teeth that are missing now: every
    /// problem at once, each naming its field (`code`, `tooth`, `surfaces`, `area`, `status`,
    /// `note`).
    pub fn check(
        &self,
        entry: Option<&CatalogEntry>,
        numbering: Numbering,
        is_missing: impl Fn(Tooth) -> bool,
    ) -> Result<CheckedEntry, Vec<FieldError>> {
        let Some(entry) = entry else {
            return Err(vec![field(
                "code",
                format!("{:?} is not in the catalog", self.code.trim()),
            )]);
        };
        let mut errors = Vec::new();
        let blank = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let (tooth_s, area_s, surf_s) =
            (blank(&self.tooth), blank(&self.area), blank(&self.surfaces));
        let tooth = match &tooth_s {
            Some(s) => match Tooth::parse(s, numbering) {
                Some(t) => Some(t),
                None => {
                    errors.push(field("tooth", format!("{s:?} is not a tooth")));
                    None
                }
            },
            None => None,
        };
        let site = match entry.site {
            SiteRule::Mouth => {
                if tooth_s.is_some() || area_s.is_some() || surf_s.is_some() {
                    errors.push(field(
                        if tooth_s.is_some() {
                            "tooth"
                        } else if area_s.is_some() {
                            "area"
                        } else {
                            "surfaces"
                        },
                        format!(
                            "{} is charted on the whole mouth, without a tooth or area",
                            entry.code
                        ),
                    ));
                }
                Some(Site::Mouth)
            }
            SiteRule::Tooth | SiteRule::Surfaces => {
                if area_s.is_some() {
                    errors.push(field(
                        "area",
                        format!("{} is charted on a tooth, not an area", entry.code),
                    ));
                }
                match tooth {
                    None if tooth_s.is_none() => {
                        errors.push(field("tooth", format!("{} needs a tooth", entry.code)));
                        None
                    }
                    None => None,
                    Some(t) => {
                        let surfaces = match (&surf_s, entry.site) {
                            (Some(s), SiteRule::Surfaces) => match Surfaces::parse_for(s, t) {
                                Ok(set) => Some(set),
                                Err(m) => {
                                    errors.push(field("surfaces", m));
                                    None
                                }
                            },
                            (None, SiteRule::Surfaces) => {
                                errors.push(field(
                                    "surfaces",
                                    format!("{} needs at least one surface", entry.code),
                                ));
                                None
                            }
                            (Some(_), _) => {
                                errors.push(field(
                                    "surfaces",
                                    format!(
                                        "{} is charted on the whole tooth, without surfaces",
                                        entry.code
                                    ),
                                ));
                                None
                            }
                            (None, _) => Some(Surfaces::default()),
                        };
                        surfaces.map(|s| Site::Tooth(t, s))
                    }
                }
            }
            SiteRule::Area => {
                if tooth_s.is_some() {
                    errors.push(field("tooth", format!("{} is charted on an area (UR, UL, LL, LR, U, L, S1–S6 or mouth), not a tooth", entry.code)));
                }
                if surf_s.is_some() {
                    errors.push(field(
                        "surfaces",
                        format!("{} takes no surfaces", entry.code),
                    ));
                }
                match &area_s {
                    Some(s) => {
                        match Area::parse(s) {
                            Some(a) => Some(Site::Area(a)),
                            None => {
                                errors.push(field("area", format!("{s:?} is not an area (UR, UL, LL, LR, U, L, S1–S6 or mouth)")));
                                None
                            }
                        }
                    }
                    None => {
                        errors.push(field(
                            "area",
                            format!(
                                "{} needs an area (UR, UL, LL, LR, U, L, S1–S6 or mouth)",
                                entry.code
                            ),
                        ));
                        None
                    }
                }
            }
        };
        let status = match (blank(&self.status), entry.kind) {
            (None, EntryKind::Condition) => Some(ChartStatus::Condition),
            (None, EntryKind::Procedure) => Some(ChartStatus::Planned),
            (Some(s), kind) => match ChartStatus::from_code(&s.to_ascii_lowercase()) {
                Some(ChartStatus::Condition) if kind == EntryKind::Procedure => {
                    errors.push(field(
                        "status",
                        format!(
                            "{} is a procedure: planned, completed or existing",
                            entry.code
                        ),
                    ));
                    None
                }
                Some(st) if kind == EntryKind::Condition && st != ChartStatus::Condition => {
                    errors.push(field(
                        "status",
                        format!("{} is a condition, not work", entry.code),
                    ));
                    None
                }
                Some(st) => Some(st),
                None => {
                    errors.push(field(
                        "status",
                        "use existing, planned, completed or condition",
                    ));
                    None
                }
            },
        };
        let note = self.note.as_deref().unwrap_or("").trim().to_string();
        if note.chars().count() > 2000 {
            errors.push(field("note", "at most 2,000 characters"));
        }
        let override_reason = blank(&self.override_reason);
        if let Some(Site::Tooth(t, _)) = site
            && is_missing(t)
            && !entry.effect.fits_missing_tooth()
            && override_reason.is_none()
        {
            errors.push(field(
                "tooth",
                format!(
                    "tooth {} is missing: give a reason to chart {} on it",
                    t.show(numbering),
                    entry.code
                ),
            ));
        }
        match (site, status) {
            (Some(site), Some(status)) if errors.is_empty() => Ok(CheckedEntry {
                code: entry.code.clone(),
                site,
                status,
                note,
                override_reason,
            }),
            _ => Err(errors),
        }
    }
}

/// A keyboard line, `[tooth or area] [surfaces] code [status]`: `16 MOD comp`, `36 rct done`,
/// `UR srp`, `pano c`. Surfaces come before the code and only after a tooth; the status word
/// (planned, done, existing, or p, c, e) is optional.
pub fn parse_command(line: &str, numbering: Numbering) -> Result<EntryRequest, String> {
    let mut words: Vec<&str> = line.split_whitespace().collect();
    if words.is_empty() {
        return Err("type a tooth, its surfaces and a code, for example 16 MOD comp".into());
    }
    let mut req = EntryRequest::default();
    if words.len() >= 2
        && let Some(st) = words.last().and_then(|w| ChartStatus::from_word(w))
    {
        req.status = Some(st.code().into());
        words.pop();
    }
    let first = words[0];
    let site_first = Tooth::parse(first, numbering).is_some()
        || (words.len() >= 2 && Area::parse(first).is_some());
    if site_first {
        if Tooth::parse(first, numbering).is_some() {
            req.tooth = Some(first.into());
        } else {
            req.area = Some(first.into());
        }
        words.remove(0);
    }
    match words.as_slice() {
        [code] => req.code = code.to_ascii_uppercase(),
        [surfaces, code] if req.tooth.is_some() => {
            req.surfaces = Some(surfaces.to_ascii_uppercase());
            req.code = code.to_ascii_uppercase();
        }
        [] => {
            return Err(format!(
                "{first:?}: what was found or done? Add a code, for example {first} MOD comp"
            ));
        }
        _ => {
            return Err(format!(
                "{line:?}: expected [tooth] [surfaces] code [status], for example 16 MOD comp"
            ));
        }
    }
    Ok(req)
}

/// One entry as the odontogram needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    pub site: Site,
    pub status: ChartStatus,
    pub effect: Effect,
}

/// A tooth's drawing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ToothView {
    /// The natural tooth is gone (extracted here, or found missing).
    pub missing: bool,
    /// The latest status of each surface: restored (existing or completed), planned, or a
    /// lesion (condition).
    pub surfaces: BTreeMap<Surface, ChartStatus>,
    /// Whole-tooth work and findings, latest status each.
    pub crown: Option<ChartStatus>,
    pub veneer: Option<ChartStatus>,
    pub root_canal: Option<ChartStatus>,
    pub implant: Option<ChartStatus>,
    pub pontic: Option<ChartStatus>,
    /// A planned extraction.
    pub extraction_planned: bool,
    /// Whole-tooth findings (impacted, abscess, ...).
    pub condition: bool,
    pub sealant: Option<ChartStatus>,
}

impl ToothView {
    /// Nothing to draw.
    pub fn is_plain(&self) -> bool {
        *self == ToothView::default()
    }
}

/// The odontogram from the entries in the order they were charted.
pub fn odontogram(marks: &[Mark]) -> BTreeMap<Tooth, ToothView> {
    let mut out: BTreeMap<Tooth, ToothView> = BTreeMap::new();
    for m in marks {
        let Site::Tooth(t, surfaces) = m.site else {
            continue;
        };
        let v = out.entry(t).or_default();
        let done = matches!(m.status, ChartStatus::Existing | ChartStatus::Completed);
        match m.effect {
            Effect::None => {}
            Effect::Restoration | Effect::Lesion => {
                for s in surfaces.iter() {
                    v.surfaces.insert(s, m.status);
                }
            }
            Effect::Sealant => v.sealant = Some(m.status),
            Effect::Veneer => v.veneer = Some(m.status),
            Effect::Crown => v.crown = Some(m.status),
            Effect::RootCanal => v.root_canal = Some(m.status),
            Effect::Implant => v.implant = Some(m.status),
            Effect::Pontic => v.pontic = Some(m.status),
            Effect::Extraction if done => {
                v.missing = true;
                v.extraction_planned = false;
            }
            Effect::Extraction => v.extraction_planned = true,
            Effect::Missing => v.missing = true,
            Effect::ToothCondition => v.condition = true,
        }
    }
    out.retain(|_, v| !v.is_plain());
    out
}

/// Teeth whose natural tooth is gone.
pub fn missing_teeth(marks: &[Mark]) -> Vec<Tooth> {
    odontogram(marks)
        .into_iter()
        .filter(|(_, v)| v.missing)
        .map(|(t, _)| t)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clinical::catalog::STARTER;

    fn cat(code: &str) -> CatalogEntry {
        STARTER
            .iter()
            .find(|s| s.code == code)
            .map(|s| s.entry("en"))
            .unwrap()
    }

    fn req(code: &str, tooth: Option<&str>, surfaces: Option<&str>) -> EntryRequest {
        EntryRequest {
            code: code.into(),
            tooth: tooth.map(Into::into),
            surfaces: surfaces.map(Into::into),
            ..Default::default()
        }
    }

    fn t(n: u8) -> Tooth {
        Tooth::from_fdi(n).unwrap()
    }

    #[test]
    fn a_mod_composite_on_16() {
        let c = req("COMP", Some("16"), Some("MOD"))
            .check(Some(&cat("COMP")), Numbering::Fdi, |_| false)
            .unwrap();
        assert_eq!(c.status, ChartStatus::Planned);
        assert_eq!(
            c.site,
            Site::Tooth(t(16), Surfaces::parse_for("MOD", t(16)).unwrap())
        );
        // The same tooth in Universal numbering is 3.
        let u = req("COMP", Some("3"), Some("MOD"))
            .check(Some(&cat("COMP")), Numbering::Universal, |_| false)
            .unwrap();
        assert_eq!(u.site, c.site);
    }

    #[test]
    fn bad_requests_name_their_field() {
        let fields = |r: EntryRequest, code: &str| -> Vec<String> {
            r.check(Some(&cat(code)), Numbering::Fdi, |_| false)
                .unwrap_err()
                .into_iter()
                .map(|f| f.field)
                .collect()
        };
        assert_eq!(
            fields(req("COMP", Some("11"), Some("MOD")), "COMP"),
            ["surfaces"]
        );
        assert_eq!(
            fields(req("COMP", Some("19"), Some("MOD")), "COMP"),
            ["tooth"]
        );
        assert_eq!(fields(req("COMP", Some("16"), None), "COMP"), ["surfaces"]);
        assert_eq!(fields(req("COMP", None, None), "COMP"), ["tooth"]);
        assert_eq!(
            fields(req("CROWN", Some("16"), Some("O")), "CROWN"),
            ["surfaces"]
        );
        assert_eq!(fields(req("EXAM", Some("16"), None), "EXAM"), ["tooth"]);
        assert_eq!(fields(req("SRP", None, None), "SRP"), ["area"]);
        let mut r = req("CARIES", Some("16"), Some("O"));
        r.status = Some("completed".into());
        assert_eq!(fields(r, "CARIES"), ["status"]);
        let mut r = req("CROWN", Some("16"), None);
        r.status = Some("condition".into());
        assert_eq!(fields(r, "CROWN"), ["status"]);
        let e = req("NOPE", None, None)
            .check(None, Numbering::Fdi, |_| false)
            .unwrap_err();
        assert_eq!(e[0].field, "code");
        let mut srp = req("SRP", None, None);
        srp.area = Some("ur".into());
        assert_eq!(
            srp.check(Some(&cat("SRP")), Numbering::Fdi, |_| false)
                .unwrap()
                .site,
            Site::Area(Area::parse("UR").unwrap())
        );
    }

    #[test]
    fn a_missing_tooth_needs_a_reason_except_for_an_implant() {
        let gone = |x: Tooth| x == t(36);
        let e = req("CROWN", Some("36"), None)
            .check(Some(&cat("CROWN")), Numbering::Fdi, gone)
            .unwrap_err();
        assert_eq!(e[0].field, "tooth");
        assert!(e[0].message.contains("missing"), "{}", e[0].message);
        assert!(
            req("IMPL", Some("36"), None)
                .check(Some(&cat("IMPL")), Numbering::Fdi, gone)
                .is_ok()
        );
        let mut r = req("CROWN", Some("36"), None);
        r.override_reason = Some("crown on the implant".into());
        assert!(r.check(Some(&cat("CROWN")), Numbering::Fdi, gone).is_ok());
    }

    #[test]
    fn keyboard_lines() {
        let r = parse_command("16 MOD comp", Numbering::Fdi).unwrap();
        assert_eq!(
            (
                r.tooth.as_deref(),
                r.surfaces.as_deref(),
                r.code.as_str(),
                r.status
            ),
            (Some("16"), Some("MOD"), "COMP", None)
        );
        let r = parse_command("36 rct done", Numbering::Fdi).unwrap();
        assert_eq!(
            (r.tooth.as_deref(), r.code.as_str(), r.status.as_deref()),
            (Some("36"), "RCT", Some("completed"))
        );
        let r = parse_command("UR srp", Numbering::Fdi).unwrap();
        assert_eq!((r.area.as_deref(), r.code.as_str()), (Some("UR"), "SRP"));
        let r = parse_command("pano c", Numbering::Fdi).unwrap();
        assert_eq!(
            (r.tooth, r.code.as_str(), r.status.as_deref()),
            (None, "PANO", Some("completed"))
        );
        let r = parse_command("UR6 crown", Numbering::Palmer).unwrap();
        assert_eq!(r.tooth.as_deref(), Some("UR6"));
        assert!(parse_command("", Numbering::Fdi).is_err());
        assert!(parse_command("16", Numbering::Fdi).is_err());
        assert!(parse_command("16 a b x y", Numbering::Fdi).is_err());
    }

    #[test]
    fn the_odontogram_follows_the_entries_in_order() {
        let mod_ = Surfaces::parse_for("MOD", t(16)).unwrap();
        let o = Surfaces::parse_for("O", t(16)).unwrap();
        let m = |site, status, effect| Mark {
            site,
            status,
            effect,
        };
        let marks = [
            m(
                Site::Tooth(t(16), o),
                ChartStatus::Condition,
                Effect::Lesion,
            ),
            m(
                Site::Tooth(t(16), mod_),
                ChartStatus::Planned,
                Effect::Restoration,
            ),
            m(
                Site::Tooth(t(16), mod_),
                ChartStatus::Completed,
                Effect::Restoration,
            ),
            m(
                Site::Tooth(t(36), Surfaces::default()),
                ChartStatus::Planned,
                Effect::Extraction,
            ),
            m(
                Site::Tooth(t(46), Surfaces::default()),
                ChartStatus::Completed,
                Effect::Extraction,
            ),
            m(
                Site::Tooth(t(46), Surfaces::default()),
                ChartStatus::Completed,
                Effect::Implant,
            ),
            m(Site::Mouth, ChartStatus::Completed, Effect::None),
        ];
        let view = odontogram(&marks);
        assert_eq!(
            view[&t(16)].surfaces.get(&Surface::Occlusal),
            Some(&ChartStatus::Completed)
        );
        assert_eq!(view[&t(16)].surfaces.len(), 3);
        assert!(view[&t(36)].extraction_planned && !view[&t(36)].missing);
        assert!(view[&t(46)].missing);
        assert_eq!(view[&t(46)].implant, Some(ChartStatus::Completed));
        assert_eq!(missing_teeth(&marks), vec![t(46)]);
        assert_eq!(view.len(), 3);
    }
}
