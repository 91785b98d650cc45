//! The periodontal chart: six sites a tooth (distobuccal, buccal, mesiobuccal, distolingual,
//! lingual, mesiolingual), each with its probing depth, gingival margin (recession positive,
//! overgrowth negative), clinical attachment level (CAL = probing depth + recession),
//! bleeding, suppuration, plaque and calculus; a tooth's mobility (0–3) and furcation
//! (grade I–III, multi-rooted teeth only).
//!
//! From an exam: the summary (bleeding on probing, sites of 4 mm and more, 6 mm and more), the
//! changes from an earlier exam site by site, and a suggested stage and extent after the
//! AAP/EFP 2017 classification, which the clinician confirms or not. The suggestion reads the
//! interdental sites (mesial and distal) for attachment loss, as the classification does; a
//! sulcus of 3 mm or less without recession counts as no loss.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::teeth::{Quadrant, Tooth, ToothKind};
use crate::kernel::error::FieldError;

/// The six sites, in the order they are stored.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PerioSite {
    DistoBuccal,
    Buccal,
    MesioBuccal,
    DistoLingual,
    Lingual,
    MesioLingual,
}

impl PerioSite {
    pub const ALL: [PerioSite; 6] = [
        PerioSite::DistoBuccal,
        PerioSite::Buccal,
        PerioSite::MesioBuccal,
        PerioSite::DistoLingual,
        PerioSite::Lingual,
        PerioSite::MesioLingual,
    ];

    pub fn code(self) -> &'static str {
        match self {
            PerioSite::DistoBuccal => "DB",
            PerioSite::Buccal => "B",
            PerioSite::MesioBuccal => "MB",
            PerioSite::DistoLingual => "DL",
            PerioSite::Lingual => "L",
            PerioSite::MesioLingual => "ML",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn is_buccal(self) -> bool {
        self.index() < 3
    }

    /// Mesial and distal sites (the classification's interdental sites).
    pub fn is_interdental(self) -> bool {
        !matches!(self, PerioSite::Buccal | PerioSite::Lingual)
    }
}

/// One site's readings.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct SiteReading {
    /// Probing depth in mm (0–15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pd: Option<u8>,
    /// Gingival margin in mm: recession positive, overgrowth negative (−9–15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gm: Option<i8>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bleeding: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suppuration: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub plaque: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub calculus: bool,
}

impl SiteReading {
    /// Clinical attachment level: probing depth plus recession (a margin above the
    /// cemento-enamel junction, negative, lowers it; never below zero).
    pub fn cal(&self) -> Option<u8> {
        let pd = i16::from(self.pd?);
        let gm = i16::from(self.gm.unwrap_or(0));
        u8::try_from((pd + gm).max(0)).ok()
    }
}

/// One tooth's readings.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct ToothReading {
    /// By [`PerioSite::index`].
    pub sites: [SiteReading; 6],
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobility: Option<u8>,
    /// The worst furcation involvement, grade 1–3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub furcation: Option<u8>,
}

/// The attachment loss the suggestion reads at a site: its CAL, except that a probing depth
/// of 3 mm or less with no recession is a healthy sulcus (charts record a margin in its usual
/// place as 0, which would otherwise read as 1–3 mm of loss).
fn attachment_loss(r: &SiteReading) -> Option<u8> {
    let pd = r.pd?;
    if pd <= 3 && r.gm.unwrap_or(0) <= 0 {
        return Some(0);
    }
    r.cal()
}

impl ToothReading {
    pub fn site(&self, s: PerioSite) -> &SiteReading {
        &self.sites[s.index()]
    }

    pub fn is_empty(&self) -> bool {
        *self == ToothReading::default()
    }
}

/// Teeth with furcations: molars, and the upper first premolars (often two roots).
pub fn has_furcation(t: Tooth) -> bool {
    t.kind() == ToothKind::Molar || (!t.is_primary() && t.is_upper() && t.position() == 4)
}

/// A full exam: the teeth probed (missing ones are absent) and the teeth the clinician counts
/// as lost to periodontitis (the classification needs it; the chart cannot know the cause).
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct PerioExam {
    pub teeth: BTreeMap<Tooth, ToothReading>,
    #[serde(default)]
    pub teeth_lost_to_perio: u8,
}

impl PerioExam {
    /// Every out-of-range value, each naming its tooth and site (`16 MB: …`); teeth with no
    /// reading are dropped.
    pub fn normalized(&self) -> Result<PerioExam, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut err = |field: String, message: String| errors.push(FieldError { field, message });
        let mut teeth = BTreeMap::new();
        for (t, r) in &self.teeth {
            if r.is_empty() {
                continue;
            }
            if t.is_primary() {
                err(
                    format!("{t}"),
                    "the perio chart is for permanent teeth".into(),
                );
            }
            for s in PerioSite::ALL {
                let v = r.site(s);
                if let Some(pd) = v.pd
                    && pd > 15
                {
                    err(
                        format!("{t} {}", s.code()),
                        format!("a probing depth of {pd} mm is over 15 mm"),
                    );
                }
                if let Some(gm) = v.gm
                    && !(-9..=15).contains(&gm)
                {
                    err(
                        format!("{t} {}", s.code()),
                        format!("a gingival margin of {gm} mm is outside −9 to 15 mm"),
                    );
                }
            }
            if let Some(m) = r.mobility
                && m > 3
            {
                err(
                    format!("{t} mobility"),
                    format!("mobility is 0 to 3, not {m}"),
                );
            }
            if let Some(f) = r.furcation {
                if !(1..=3).contains(&f) {
                    err(
                        format!("{t} furcation"),
                        format!("furcation is grade I to III, not {f}"),
                    );
                } else if !has_furcation(*t) {
                    err(
                        format!("{t} furcation"),
                        format!("tooth {t} has a single root: no furcation"),
                    );
                }
            }
            teeth.insert(*t, r.clone());
        }
        if self.teeth_lost_to_perio > 32 {
            err("teeth_lost_to_perio".into(), "at most 32 teeth".into());
        }
        if errors.is_empty() {
            Ok(PerioExam {
                teeth,
                teeth_lost_to_perio: self.teeth_lost_to_perio,
            })
        } else {
            Err(errors)
        }
    }

    fn readings(&self) -> impl Iterator<Item = (Tooth, PerioSite, &SiteReading)> {
        self.teeth
            .iter()
            .flat_map(|(t, r)| PerioSite::ALL.into_iter().map(move |s| (*t, s, r.site(s))))
    }

    pub fn summary(&self) -> Summary {
        let probed: Vec<_> = self.readings().filter(|(_, _, r)| r.pd.is_some()).collect();
        let n = probed.len();
        let count =
            |f: &dyn Fn(&SiteReading) -> bool| probed.iter().filter(|(_, _, r)| f(r)).count();
        let pct = |k: usize| {
            if n == 0 {
                0.0
            } else {
                (k as f64) * 100.0 / (n as f64)
            }
        };
        let pd_sum: u32 = probed
            .iter()
            .filter_map(|(_, _, r)| r.pd)
            .map(u32::from)
            .sum();
        let cal_sum: u32 = probed
            .iter()
            .filter_map(|(_, _, r)| r.cal())
            .map(u32::from)
            .sum();
        Summary {
            teeth: self.teeth.len(),
            sites: n,
            bleeding_pct: pct(count(&|r| r.bleeding)),
            plaque_pct: pct(count(&|r| r.plaque)),
            sites_4mm: count(&|r| r.pd.is_some_and(|p| p >= 4)),
            sites_6mm: count(&|r| r.pd.is_some_and(|p| p >= 6)),
            mean_pd: if n == 0 {
                0.0
            } else {
                f64::from(pd_sum) / n as f64
            },
            mean_cal: if n == 0 {
                0.0
            } else {
                f64::from(cal_sum) / n as f64
            },
            suppuration: count(&|r| r.suppuration),
        }
    }

    /// Site by site, what changed from an earlier exam: probing depth or attachment level
    /// by 2 mm or more, and new bleeding.
    pub fn changes_from(&self, before: &PerioExam) -> Vec<SiteChange> {
        let mut out = Vec::new();
        for (t, s, now) in self.readings() {
            let Some(then) = before.teeth.get(&t).map(|r| r.site(s)) else {
                continue;
            };
            let d = |a: Option<u8>, b: Option<u8>| match (a, b) {
                (Some(a), Some(b)) => i16::from(a) - i16::from(b),
                _ => 0,
            };
            let pd = d(now.pd, then.pd);
            let cal = d(now.cal(), then.cal());
            if pd.abs() >= 2 || cal.abs() >= 2 || (now.bleeding && !then.bleeding) {
                out.push(SiteChange {
                    tooth: t,
                    site: s,
                    pd_delta: pd,
                    cal_delta: cal,
                    new_bleeding: now.bleeding && !then.bleeding,
                });
            }
        }
        out
    }

    /// The AAP/EFP 2017 stage and extent this exam suggests, with the reasons.
    pub fn suggestion(&self) -> Suggestion {
        let summary = self.summary();
        let mut reasons = Vec::new();
        // Worst interdental CAL per tooth.
        let worst: BTreeMap<Tooth, u8> = self
            .teeth
            .iter()
            .filter_map(|(t, r)| {
                PerioSite::ALL
                    .into_iter()
                    .filter(|s| s.is_interdental())
                    .filter_map(|s| attachment_loss(r.site(s)))
                    .max()
                    .map(|c| (*t, c))
            })
            .collect();
        let max_cal = worst.values().copied().max().unwrap_or(0);
        let max_pd = self
            .readings()
            .filter_map(|(_, _, r)| r.pd)
            .max()
            .unwrap_or(0);
        // The case definition: interdental CAL ≥ 2 mm at two or more non-adjacent teeth, or
        // buccal/oral CAL ≥ 3 mm with pockets over 3 mm at two or more teeth.
        let with_loss: Vec<Tooth> = worst
            .iter()
            .filter(|(_, c)| **c >= 2)
            .map(|(t, _)| *t)
            .collect();
        let non_adjacent = with_loss
            .iter()
            .enumerate()
            .any(|(i, a)| with_loss[i + 1..].iter().any(|b| !adjacent(*a, *b)));
        let facial = self
            .teeth
            .iter()
            .filter(|(_, r)| {
                [PerioSite::Buccal, PerioSite::Lingual].iter().any(|s| {
                    let v = r.site(*s);
                    attachment_loss(v).is_some_and(|c| c >= 3) && v.pd.is_some_and(|p| p > 3)
                })
            })
            .count();
        if !(non_adjacent || facial >= 2) {
            let case = if summary.bleeding_pct >= 10.0 {
                reasons.push(format!(
                    "bleeding on probing at {:.0} % of sites (10 % or more) without the attachment loss of periodontitis",
                    summary.bleeding_pct
                ));
                Case::Gingivitis
            } else {
                reasons.push("no attachment loss meeting the periodontitis case definition".into());
                Case::Healthy
            };
            return Suggestion {
                case,
                max_interdental_cal: max_cal,
                max_pd,
                reasons,
            };
        }
        reasons.push(format!("worst interdental attachment loss {max_cal} mm"));
        let mut stage: u8 = match max_cal {
            0..=2 => 1,
            3..=4 => 2,
            _ => 3,
        };
        if max_pd >= 6 && stage < 3 {
            reasons.push(format!(
                "probing depth {max_pd} mm (6 mm or more): stage III complexity"
            ));
            stage = 3;
        } else if max_pd == 5 && stage < 2 {
            reasons.push("probing depth 5 mm: stage II complexity".into());
            stage = 2;
        }
        let lost = self.teeth_lost_to_perio;
        if lost >= 5 {
            reasons.push(format!(
                "{lost} teeth lost to periodontitis (5 or more): stage IV"
            ));
            stage = 4;
        } else if lost >= 1 && stage < 3 {
            reasons.push(format!("{lost} teeth lost to periodontitis: stage III"));
            stage = 3;
        }
        if stage == 3 && self.teeth.len() < 20 && max_cal >= 5 {
            reasons.push(format!(
                "{} teeth remain (fewer than 20): complex rehabilitation, stage IV",
                self.teeth.len()
            ));
            stage = 4;
        }
        // Extent: the share of teeth with the attachment loss that sets the stage.
        let threshold = match stage {
            1 => 1,
            2 => 3,
            _ => 5,
        };
        let involved: Vec<Tooth> = worst
            .iter()
            .filter(|(_, c)| **c >= threshold)
            .map(|(t, _)| *t)
            .collect();
        let share = if self.teeth.is_empty() {
            0.0
        } else {
            involved.len() as f64 * 100.0 / self.teeth.len() as f64
        };
        let molar_incisor = !involved.is_empty()
            && involved.iter().all(|t| {
                t.kind() == ToothKind::Incisor
                    || (t.kind() == ToothKind::Molar && t.position() == 6)
            });
        let extent = if molar_incisor && share < 30.0 {
            Extent::MolarIncisor
        } else if share >= 30.0 {
            Extent::Generalized
        } else {
            Extent::Localized
        };
        reasons.push(format!(
            "{} of {} teeth ({share:.0} %) with interdental attachment loss of {threshold} mm or more",
            involved.len(),
            self.teeth.len()
        ));
        Suggestion {
            case: Case::Periodontitis { stage, extent },
            max_interdental_cal: max_cal,
            max_pd,
            reasons,
        }
    }
}

/// Neighbours in the arch (the same quadrant one position apart, or the two central
/// incisors).
fn adjacent(a: Tooth, b: Tooth) -> bool {
    if a.is_upper() != b.is_upper() {
        return false;
    }
    if a.quadrant() == b.quadrant() {
        return a.position().abs_diff(b.position()) == 1;
    }
    a.position() == 1 && b.position() == 1
}

/// The exam's figures.
#[derive(Clone, Copy, PartialEq, Debug, Default, Serialize)]
pub struct Summary {
    pub teeth: usize,
    pub sites: usize,
    pub bleeding_pct: f64,
    pub plaque_pct: f64,
    pub sites_4mm: usize,
    pub sites_6mm: usize,
    pub mean_pd: f64,
    pub mean_cal: f64,
    pub suppuration: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub struct SiteChange {
    pub tooth: Tooth,
    pub site: PerioSite,
    pub pd_delta: i16,
    pub cal_delta: i16,
    pub new_bleeding: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Extent {
    Localized,
    Generalized,
    MolarIncisor,
}

impl Extent {
    pub fn code(self) -> &'static str {
        match self {
            Extent::Localized => "localized",
            Extent::Generalized => "generalized",
            Extent::MolarIncisor => "molar_incisor",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "case")]
pub enum Case {
    Healthy,
    Gingivitis,
    Periodontitis { stage: u8, extent: Extent },
}

impl Case {
    /// `healthy`, `gingivitis`, `stage-3-generalized`.
    pub fn code(self) -> String {
        match self {
            Case::Healthy => "healthy".into(),
            Case::Gingivitis => "gingivitis".into(),
            Case::Periodontitis { stage, extent } => format!("stage-{stage}-{}", extent.code()),
        }
    }
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Suggestion {
    pub case: Case,
    pub max_interdental_cal: u8,
    pub max_pd: u8,
    pub reasons: Vec<String>,
}

/// A tooth's three sites on one side (buccal or lingual) met moving along the arch: toward
/// the patient's left (`rightward`, as a chart is drawn) or back. Moving from the patient's
/// right to left, a tooth on the right side is met distal first.
pub fn sites_in_order(t: Tooth, buccal: bool, rightward: bool) -> [PerioSite; 3] {
    let right_side = matches!(t.quadrant(), Quadrant::UpperRight | Quadrant::LowerRight);
    let distal_first = right_side == rightward;
    match (buccal, distal_first) {
        (true, true) => [
            PerioSite::DistoBuccal,
            PerioSite::Buccal,
            PerioSite::MesioBuccal,
        ],
        (true, false) => [
            PerioSite::MesioBuccal,
            PerioSite::Buccal,
            PerioSite::DistoBuccal,
        ],
        (false, true) => [
            PerioSite::DistoLingual,
            PerioSite::Lingual,
            PerioSite::MesioLingual,
        ],
        (false, false) => [
            PerioSite::MesioLingual,
            PerioSite::Lingual,
            PerioSite::DistoLingual,
        ],
    }
}

/// The order a full mouth is probed by keyboard: upper buccal from 18 to 28, upper palatal
/// back from 28 to 18, lower lingual from 38 to 48, lower buccal back from 48 to 38; on each
/// tooth the three sites in the direction of travel. Missing teeth are skipped by the caller.
pub fn probing_sequence() -> Vec<(Tooth, PerioSite)> {
    let upper = super::teeth::arch_order(true, false);
    let lower_lr: Vec<Tooth> = super::teeth::arch_order(false, false);
    let mut out = Vec::new();
    let along = sites_in_order;
    for t in &upper {
        out.extend(along(*t, true, true).map(|s| (*t, s)));
    }
    for t in upper.iter().rev() {
        out.extend(along(*t, false, false).map(|s| (*t, s)));
    }
    // Lower: 38 → 48 on the lingual (the drawing runs 48 … 38, so this is leftward).
    for t in lower_lr.iter().rev() {
        out.extend(along(*t, false, false).map(|s| (*t, s)));
    }
    for t in &lower_lr {
        out.extend(along(*t, true, true).map(|s| (*t, s)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(n: u8) -> Tooth {
        Tooth::from_fdi(n).unwrap()
    }

    fn probed(pd: u8, gm: i8) -> SiteReading {
        SiteReading {
            pd: Some(pd),
            gm: Some(gm),
            ..Default::default()
        }
    }

    /// Every permanent tooth at `pd` mm, no recession.
    fn mouth(pd: u8) -> PerioExam {
        let mut e = PerioExam::default();
        for tooth in Tooth::all().filter(|t| !t.is_primary()) {
            e.teeth.insert(
                tooth,
                ToothReading {
                    sites: [probed(pd, 0); 6],
                    ..Default::default()
                },
            );
        }
        e
    }

    #[test]
    fn cal_is_depth_plus_recession() {
        assert_eq!(probed(4, 2).cal(), Some(6));
        assert_eq!(probed(4, -2).cal(), Some(2));
        assert_eq!(probed(1, -3).cal(), Some(0));
        assert_eq!(SiteReading::default().cal(), None);
    }

    #[test]
    fn out_of_range_values_are_refused_by_tooth_and_site() {
        let mut e = mouth(2);
        e.teeth.get_mut(&t(16)).unwrap().sites[2].pd = Some(16);
        e.teeth.get_mut(&t(11)).unwrap().mobility = Some(4);
        e.teeth.get_mut(&t(11)).unwrap().furcation = Some(1);
        e.teeth.get_mut(&t(46)).unwrap().furcation = Some(2);
        e.teeth.get_mut(&t(24)).unwrap().furcation = Some(1);
        let errs = e.normalized().unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["11 mobility", "11 furcation", "16 MB"]);
        assert!(errs[2].message.contains("over 15 mm"));
    }

    #[test]
    fn summary_counts_sites() {
        let mut e = mouth(3);
        let r = e.teeth.get_mut(&t(16)).unwrap();
        r.sites[0] = SiteReading {
            pd: Some(6),
            bleeding: true,
            ..Default::default()
        };
        r.sites[1] = SiteReading {
            pd: Some(4),
            bleeding: true,
            ..Default::default()
        };
        let s = e.summary();
        assert_eq!(
            (s.teeth, s.sites, s.sites_4mm, s.sites_6mm),
            (32, 192, 2, 1)
        );
        assert!((s.bleeding_pct - 2.0 * 100.0 / 192.0).abs() < 1e-9);
    }

    #[test]
    fn a_healthy_mouth_and_gingivitis() {
        let e = mouth(2);
        assert_eq!(e.suggestion().case, Case::Healthy);
        let mut g = mouth(2);
        for r in g.teeth.values_mut() {
            r.sites[1].bleeding = true;
            r.sites[4].bleeding = true;
        }
        assert_eq!(g.suggestion().case, Case::Gingivitis);
    }

    #[test]
    fn stages_follow_attachment_loss_depth_and_teeth_lost() {
        // Interdental CAL 4 mm (3 + 1 recession) on every tooth: stage II, generalized.
        let mut e = mouth(3);
        for r in e.teeth.values_mut() {
            for s in [0, 2, 3, 5] {
                r.sites[s].gm = Some(1);
            }
        }
        assert_eq!(
            e.suggestion().case,
            Case::Periodontitis {
                stage: 2,
                extent: Extent::Generalized
            }
        );
        // A 6 mm pocket makes it stage III.
        e.teeth.get_mut(&t(36)).unwrap().sites[0].pd = Some(6);
        assert!(matches!(
            e.suggestion().case,
            Case::Periodontitis { stage: 3, .. }
        ));
        // Five teeth lost to periodontitis: stage IV.
        e.teeth_lost_to_perio = 5;
        assert!(matches!(
            e.suggestion().case,
            Case::Periodontitis { stage: 4, .. }
        ));
        // Loss on first molars and incisors only: the molar/incisor pattern.
        let mut mi = mouth(2);
        for n in [16, 26, 36, 46] {
            mi.teeth.get_mut(&t(n)).unwrap().sites[0] = probed(5, 2);
        }
        let sg = mi.suggestion();
        assert_eq!(
            sg.case,
            Case::Periodontitis {
                stage: 3,
                extent: Extent::MolarIncisor
            },
            "{:?}",
            sg.reasons
        );
        assert_eq!(sg.max_interdental_cal, 7);
        // Loss on two adjacent teeth only does not meet the case definition.
        let mut adj = mouth(2);
        for n in [16, 17] {
            adj.teeth.get_mut(&t(n)).unwrap().sites[0] = probed(3, 1);
        }
        assert_eq!(adj.suggestion().case, Case::Healthy);
    }

    #[test]
    fn changes_are_found_site_by_site() {
        let before = mouth(3);
        let mut now = mouth(3);
        now.teeth.get_mut(&t(46)).unwrap().sites[5] = SiteReading {
            pd: Some(6),
            gm: Some(0),
            bleeding: true,
            ..Default::default()
        };
        now.teeth.get_mut(&t(11)).unwrap().sites[1] = probed(4, 0);
        let c = now.changes_from(&before);
        assert_eq!(c.len(), 1);
        assert_eq!(
            (c[0].tooth, c[0].site, c[0].pd_delta, c[0].new_bleeding),
            (t(46), PerioSite::MesioLingual, 3, true)
        );
    }

    #[test]
    fn the_sequence_covers_every_site_once() {
        let seq = probing_sequence();
        assert_eq!(seq.len(), 32 * 6);
        let set: std::collections::HashSet<_> = seq.iter().collect();
        assert_eq!(set.len(), 192);
        assert_eq!(seq[0], (t(18), PerioSite::DistoBuccal));
        assert_eq!(seq[3 * 8], (t(21), PerioSite::MesioBuccal));
        assert_eq!(seq[48], (t(28), PerioSite::DistoLingual));
        assert_eq!(seq[96], (t(38), PerioSite::DistoLingual));
        assert_eq!(seq[191], (t(38), PerioSite::DistoBuccal));
    }
}
