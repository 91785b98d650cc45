//! The visit-series planner (seed 000's `scheduleFromTreatmentPlan`, its grouping part): a
//! plan's procedures become an ordered series of visits.
//!
//! The clinic's [`RuleSet`] is data: precedence rules ("extraction, then 90 days of healing,
//! then the implant"), laboratory work (a crown is prepared, then seated when the laboratory
//! has made it) and the longest visit. A procedure that needs a laboratory becomes two steps,
//! its preparation and its seat; every other procedure is one step. Steps are placed in a
//! topological order of the rules, each in the earliest visit the rules allow that has room,
//! preferring a visit with work on the same tooth, then the same quadrant, then the same kind
//! of work; otherwise a new visit. Visits then get their earliest day (counted from the first
//! visit): one day after the previous visit at least, and as many days after an earlier step
//! as a rule asks. The store turns those days into free slots.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Place, Procedure};

/// Which procedures a rule side names: any of the codes, or any procedure of the categories.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matcher {
    #[serde(default)]
    pub codes: Vec<String>,
    #[serde(default)]
    pub categories: Vec<String>,
}

impl Matcher {
    fn codes(codes: &[&str]) -> Matcher {
        Matcher {
            codes: codes.iter().map(|c| c.to_string()).collect(),
            categories: Vec::new(),
        }
    }

    pub fn matches(&self, code: &str, category: &str) -> bool {
        self.codes.iter().any(|c| c.eq_ignore_ascii_case(code))
            || self.categories.iter().any(|c| c == category)
    }

    fn is_empty(&self) -> bool {
        self.codes.is_empty() && self.categories.is_empty()
    }
}

/// `before` work comes first; `after` work waits `min_days` (0: it may follow in the same
/// visit). With `same_site`, only work on the same tooth (or its quadrant) is ordered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub name: String,
    pub before: Matcher,
    pub after: Matcher,
    #[serde(default)]
    pub same_site: bool,
    #[serde(default)]
    pub min_days: u16,
}

/// Laboratory work: prepared in one visit, seated `lead_days` later in a visit of
/// `seat_minutes`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabRule {
    pub matcher: Matcher,
    pub lead_days: u16,
    pub seat_minutes: u16,
}

/// One procedure of a template: `on_tooth` ones go on the tooth chosen when it is applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateItem {
    pub code: String,
    #[serde(default)]
    pub on_tooth: bool,
    #[serde(default)]
    pub area: Option<String>,
    #[serde(default = "phase_one")]
    pub phase: u8,
}

fn phase_one() -> u8 {
    1
}

/// A plan template (seed 001), applied in one click.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanTemplate {
    pub name: String,
    pub items: Vec<TemplateItem>,
}

impl PlanTemplate {
    /// Does applying it need a tooth?
    pub fn needs_tooth(&self) -> bool {
        self.items.iter().any(|i| i.on_tooth)
    }
}

/// A clinic's planning rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSet {
    /// The longest visit a patient is asked to sit through.
    pub max_visit_minutes: u16,
    pub rules: Vec<Rule>,
    #[serde(default)]
    pub labs: Vec<LabRule>,
    #[serde(default = "starter_templates")]
    pub templates: Vec<PlanTemplate>,
}

/// Cuspid's starter templates.
pub fn starter_templates() -> Vec<PlanTemplate> {
    let t = |code: &str, on_tooth: bool, area: Option<&str>, phase: u8| TemplateItem {
        code: code.into(),
        on_tooth,
        area: area.map(str::to_string),
        phase,
    };
    vec![
        PlanTemplate {
            name: "Crown on an endodontically treated tooth".into(),
            items: vec![
                t("RCT", true, None, 1),
                t("CORE", true, None, 1),
                t("CROWN", true, None, 1),
            ],
        },
        PlanTemplate {
            name: "Quadrant scaling and root planing".into(),
            items: vec![
                t("SRP", false, Some("UR"), 1),
                t("SRP", false, Some("UL"), 1),
                t("SRP", false, Some("LL"), 1),
                t("SRP", false, Some("LR"), 1),
                t("PERIO-M", false, None, 2),
            ],
        },
        PlanTemplate {
            name: "Extraction and implant".into(),
            items: vec![t("EXT", true, None, 1), t("IMPL", true, None, 1)],
        },
        PlanTemplate {
            name: "Full braces, 24 months".into(),
            items: vec![
                t("PANO", false, None, 1),
                t("ORTHO-F", false, None, 1),
                t("ORTHO-D", false, None, 1),
            ],
        },
        PlanTemplate {
            name: "Aligners, 18 months".into(),
            items: vec![
                t("PANO", false, None, 1),
                t("ORTHO-A", false, None, 1),
                t("ORTHO-D", false, None, 1),
            ],
        },
    ]
}

impl Default for RuleSet {
    fn default() -> Self {
        RuleSet::starter()
    }
}

/// Why a rule set or a plan cannot be planned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The rules order some work before itself: the rule names, in order, around the cycle.
    #[error("these rules go round in a circle: {}", .0.join(" → "))]
    Cycle(Vec<String>),
    #[error("{0}")]
    Invalid(String),
    /// A rule orders work against the phases the dentist set.
    #[error("rule \"{rule}\" puts {before} before {after}, but {after} is in an earlier phase")]
    PhaseOrder {
        rule: String,
        before: String,
        after: String,
    },
    /// A step longer than the longest visit.
    #[error("{code} takes {minutes} minutes, longer than the longest visit ({max} minutes)")]
    TooLong {
        code: String,
        minutes: u16,
        max: u16,
    },
}

impl RuleSet {
    /// Cuspid's starter rules (the clinic edits them).
    pub fn starter() -> RuleSet {
        let rule = |name: &str, before: Matcher, after: Matcher, same_site, min_days| Rule {
            name: name.into(),
            before,
            after,
            same_site,
            min_days,
        };
        let lab = |codes: &[&str], lead_days, seat_minutes| LabRule {
            matcher: Matcher::codes(codes),
            lead_days,
            seat_minutes,
        };
        RuleSet {
            max_visit_minutes: 120,
            rules: vec![
                rule(
                    "extraction heals before the implant",
                    Matcher::codes(&["EXT", "EXT-S"]),
                    Matcher::codes(&["IMPL"]),
                    true,
                    90,
                ),
                rule(
                    "root canal before the build-up",
                    Matcher::codes(&["RCT"]),
                    Matcher::codes(&["CORE"]),
                    true,
                    0,
                ),
                rule(
                    "build-up before the crown",
                    Matcher::codes(&["CORE"]),
                    Matcher::codes(&["CROWN", "INLAY"]),
                    true,
                    0,
                ),
                rule(
                    "root canal before the crown",
                    Matcher::codes(&["RCT"]),
                    Matcher::codes(&["CROWN", "INLAY"]),
                    true,
                    0,
                ),
                rule(
                    "periodontal therapy before restorative work",
                    Matcher::codes(&["SRP"]),
                    Matcher {
                        codes: Vec::new(),
                        categories: vec![
                            "restorative".into(),
                            "prosthodontics".into(),
                            "implants".into(),
                        ],
                    },
                    false,
                    14,
                ),
                rule(
                    "braces stay on 24 months",
                    Matcher::codes(&["ORTHO-F"]),
                    Matcher::codes(&["ORTHO-D"]),
                    false,
                    730,
                ),
                rule(
                    "aligners take 18 months",
                    Matcher::codes(&["ORTHO-A"]),
                    Matcher::codes(&["ORTHO-D"]),
                    false,
                    548,
                ),
                rule(
                    "extraction heals before the denture",
                    Matcher::codes(&["EXT", "EXT-S"]),
                    Matcher::codes(&["DENT-F", "DENT-P"]),
                    false,
                    42,
                ),
            ],
            labs: vec![
                lab(&["CROWN", "PONTIC", "VENEER"], 14, 30),
                lab(&["INLAY"], 10, 30),
                lab(&["DENT-F", "DENT-P"], 21, 30),
                lab(&["NIGHT"], 10, 15),
            ],
            templates: starter_templates(),
        }
    }

    pub fn lab_for(&self, code: &str, category: &str) -> Option<&LabRule> {
        self.labs.iter().find(|l| l.matcher.matches(code, category))
    }

    /// Checks the rule set against the clinic's catalog (`(code, category)` pairs): sane
    /// numbers, and no cycle. A cycle is named by its rules.
    pub fn check(&self, catalog: &[(String, String)]) -> Result<(), PlanError> {
        if !(15..=480).contains(&self.max_visit_minutes) {
            return Err(PlanError::Invalid(
                "the longest visit is 15 to 480 minutes".into(),
            ));
        }
        for r in &self.rules {
            if r.name.trim().is_empty() {
                return Err(PlanError::Invalid("every rule needs a name".into()));
            }
            if r.before.is_empty() || r.after.is_empty() {
                return Err(PlanError::Invalid(format!(
                    "rule \"{}\": name the work on both sides",
                    r.name
                )));
            }
            if r.min_days > 730 {
                return Err(PlanError::Invalid(format!(
                    "rule \"{}\": at most 730 days",
                    r.name
                )));
            }
        }
        for l in &self.labs {
            if l.matcher.is_empty() || l.lead_days == 0 || l.lead_days > 180 {
                return Err(PlanError::Invalid(
                    "laboratory work names its procedures and takes 1 to 180 days".into(),
                ));
            }
            if l.seat_minutes == 0 || l.seat_minutes > self.max_visit_minutes {
                return Err(PlanError::Invalid(
                    "a seat takes at least a minute and fits in a visit".into(),
                ));
            }
        }
        for t in &self.templates {
            if t.name.trim().is_empty() || t.items.is_empty() {
                return Err(PlanError::Invalid(
                    "a template has a name and at least one procedure".into(),
                ));
            }
            if let Some(i) = t
                .items
                .iter()
                .find(|i| !catalog.iter().any(|(c, _)| c.eq_ignore_ascii_case(&i.code)))
            {
                return Err(PlanError::Invalid(format!(
                    "template \"{}\": {} is not in the catalog",
                    t.name, i.code
                )));
            }
        }
        // The graph over codes: an edge code → code for each rule, labelled by the rule.
        let mut edges: BTreeMap<&str, Vec<(&str, usize)>> = BTreeMap::new();
        for (i, r) in self.rules.iter().enumerate() {
            for (a, ac) in catalog {
                if !r.before.matches(a, ac) {
                    continue;
                }
                for (b, bc) in catalog {
                    if r.after.matches(b, bc) {
                        edges.entry(a.as_str()).or_default().push((b.as_str(), i));
                    }
                }
            }
        }
        // Depth-first search with colours; the path's rule labels name the cycle.
        let mut state: BTreeMap<&str, u8> = BTreeMap::new();
        let mut path: Vec<(&str, usize)> = Vec::new();
        fn visit<'a>(
            node: &'a str,
            edges: &BTreeMap<&'a str, Vec<(&'a str, usize)>>,
            state: &mut BTreeMap<&'a str, u8>,
            path: &mut Vec<(&'a str, usize)>,
        ) -> Option<Vec<usize>> {
            state.insert(node, 1);
            for &(next, rule) in edges.get(node).map(Vec::as_slice).unwrap_or(&[]) {
                match state.get(next).copied().unwrap_or(0) {
                    1 => {
                        // `next` is on the path: the cycle runs from it to here, then `rule`.
                        let from = path.iter().position(|(n, _)| *n == next).unwrap_or(0);
                        let mut cycle: Vec<usize> = path[from..].iter().map(|(_, r)| *r).collect();
                        cycle.push(rule);
                        return Some(cycle);
                    }
                    0 => {
                        path.push((next, rule));
                        // The path holds (node reached, rule used to reach it).
                        if let Some(c) = visit(next, edges, state, path) {
                            return Some(c);
                        }
                        path.pop();
                    }
                    _ => {}
                }
            }
            state.insert(node, 2);
            None
        }
        let nodes: Vec<&str> = edges.keys().copied().collect();
        for n in nodes {
            if state.get(n).copied().unwrap_or(0) == 0 {
                path.clear();
                path.push((n, usize::MAX));
                if let Some(cycle) = visit(n, &edges, &mut state, &mut path) {
                    let names = cycle
                        .into_iter()
                        .filter(|&r| r != usize::MAX)
                        .map(|r| self.rules[r].name.clone())
                        .collect();
                    return Err(PlanError::Cycle(names));
                }
            }
        }
        Ok(())
    }
}

/// Which part of a procedure a step is.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Whole,
    /// Preparation and impression of laboratory work.
    Prep,
    /// Seating what the laboratory made.
    Seat,
}

impl Part {
    pub fn code(self) -> &'static str {
        match self {
            Part::Whole => "whole",
            Part::Prep => "prep",
            Part::Seat => "seat",
        }
    }
}

/// One step in a visit: a procedure of the plan (by index) or a part of it.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub struct Step {
    pub procedure: usize,
    pub part: Part,
    pub minutes: u16,
}

/// One visit of the series.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedVisit {
    pub steps: Vec<Step>,
    pub minutes: u16,
    /// A dentist must see the patient (otherwise a hygienist may).
    pub dentist: bool,
    /// The earliest day, counted from the first visit's day.
    pub earliest_day: u32,
}

/// A precedence between two steps: `to` waits `min_days` after `from` (0: same visit allowed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Constraint {
    pub from: (usize, Part),
    pub to: (usize, Part),
    pub min_days: u16,
    /// The rule's name (or "laboratory time").
    pub why: String,
}

/// The planner's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Series {
    pub visits: Vec<PlannedVisit>,
    /// Every precedence the series honours, to show and to test.
    pub constraints: Vec<Constraint>,
}

impl Series {
    /// The visit holding a step.
    pub fn visit_of(&self, procedure: usize, part: Part) -> Option<usize> {
        self.visits.iter().position(|v| {
            v.steps
                .iter()
                .any(|s| s.procedure == procedure && s.part == part)
        })
    }
}

/// Groups the procedures into visits under `rules` (which `RuleSet::check` has passed).
pub fn plan(procedures: &[Procedure], rules: &RuleSet) -> Result<Series, PlanError> {
    let max = rules.max_visit_minutes;
    // Steps: (procedure, part, minutes).
    let mut steps: Vec<Step> = Vec::new();
    let mut constraints: Vec<Constraint> = Vec::new();
    for (i, p) in procedures.iter().enumerate() {
        match rules.lab_for(&p.code, &p.category) {
            Some(lab) => {
                let seat = lab.seat_minutes.min(p.minutes.max(1));
                let prep = p.minutes.saturating_sub(seat).max(10);
                steps.push(Step {
                    procedure: i,
                    part: Part::Prep,
                    minutes: prep,
                });
                steps.push(Step {
                    procedure: i,
                    part: Part::Seat,
                    minutes: seat,
                });
                constraints.push(Constraint {
                    from: (i, Part::Prep),
                    to: (i, Part::Seat),
                    min_days: lab.lead_days,
                    why: "laboratory time".into(),
                });
            }
            None => steps.push(Step {
                procedure: i,
                part: Part::Whole,
                minutes: p.minutes,
            }),
        }
    }
    if let Some(s) = steps.iter().find(|s| s.minutes > max) {
        return Err(PlanError::TooLong {
            code: procedures[s.procedure].code.clone(),
            minutes: s.minutes,
            max,
        });
    }
    let last_part = |i: usize| {
        if steps
            .iter()
            .any(|s| s.procedure == i && s.part == Part::Seat)
        {
            Part::Seat
        } else {
            Part::Whole
        }
    };
    let first_part = |i: usize| {
        if steps
            .iter()
            .any(|s| s.procedure == i && s.part == Part::Prep)
        {
            Part::Prep
        } else {
            Part::Whole
        }
    };
    for r in &rules.rules {
        for (a, pa) in procedures.iter().enumerate() {
            if !r.before.matches(&pa.code, &pa.category) {
                continue;
            }
            for (b, pb) in procedures.iter().enumerate() {
                if a == b || !r.after.matches(&pb.code, &pb.category) {
                    continue;
                }
                if r.same_site && !pa.place.same_site(pb.place) {
                    continue;
                }
                if pa.phase > pb.phase {
                    return Err(PlanError::PhaseOrder {
                        rule: r.name.clone(),
                        before: pa.code.clone(),
                        after: pb.code.clone(),
                    });
                }
                constraints.push(Constraint {
                    from: (a, last_part(a)),
                    to: (b, first_part(b)),
                    min_days: r.min_days,
                    why: r.name.clone(),
                });
            }
        }
    }
    // Phases: every step of a later phase comes after every step of an earlier one (in a
    // later visit or the same one).
    let step_index = |(p, part): (usize, Part)| {
        steps
            .iter()
            .position(|s| s.procedure == p && s.part == part)
    };
    let n = steps.len();
    let mut preds: Vec<Vec<(usize, u16)>> = vec![Vec::new(); n];
    for c in &constraints {
        if let (Some(f), Some(t)) = (step_index(c.from), step_index(c.to)) {
            preds[t].push((f, c.min_days));
        }
    }
    for (t, st) in steps.iter().enumerate() {
        for (f, sf) in steps.iter().enumerate() {
            if procedures[sf.procedure].phase < procedures[st.procedure].phase {
                preds[t].push((f, 0));
            }
        }
    }
    // Kahn's order; ties go to the lower phase, then the plan's order.
    let mut indegree: Vec<usize> = preds.iter().map(Vec::len).collect();
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (t, ps) in preds.iter().enumerate() {
        for &(f, _) in ps {
            succs[f].push(t);
        }
    }
    let key = |i: usize| (procedures[steps[i].procedure].phase, i);
    let mut ready: BTreeSet<(u8, usize)> = (0..n).filter(|&i| indegree[i] == 0).map(key).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(k) = ready.pop_first() {
        let i = k.1;
        order.push(i);
        for &t in &succs[i] {
            indegree[t] -= 1;
            if indegree[t] == 0 {
                ready.insert(key(t));
            }
        }
    }
    if order.len() < n {
        // The rule set passed its check, so only a rule matching one plan's codes in a
        // circle can get here (a catalog changed since): name the rules involved.
        let stuck: BTreeSet<String> = constraints
            .iter()
            .filter(|c| {
                step_index(c.to).is_some_and(|t| indegree[t] > 0)
                    && step_index(c.from).is_some_and(|f| indegree[f] > 0)
            })
            .map(|c| c.why.clone())
            .collect();
        return Err(PlanError::Cycle(stuck.into_iter().collect()));
    }
    // Placement.
    let mut visit_of: Vec<usize> = vec![usize::MAX; n];
    let mut visits: Vec<PlannedVisit> = Vec::new();
    for &i in &order {
        let s = steps[i];
        let p = &procedures[s.procedure];
        let lowest = preds[i]
            .iter()
            .map(|&(f, days)| visit_of[f] + usize::from(days > 0))
            .max()
            .unwrap_or(0);
        let affinity = |v: &PlannedVisit| -> u8 {
            let mut best = 0;
            for o in &v.steps {
                let q = &procedures[o.procedure];
                let score = match (p.place, q.place) {
                    (Place::Tooth(a), Place::Tooth(b)) if a == b => 4,
                    _ if p.place.quadrants().len() < 4
                        && q.place.quadrants().len() < 4
                        && p.place.quadrants() == q.place.quadrants() =>
                    {
                        3
                    }
                    _ if p.category == q.category => 2,
                    _ => 1,
                };
                best = best.max(score);
            }
            best
        };
        let candidates: Vec<usize> = (lowest..visits.len())
            .filter(|&v| {
                visits[v].minutes + s.minutes <= max && visits[v].dentist == p.dentist_only
            })
            .collect();
        let chosen = candidates
            .iter()
            .copied()
            .filter(|&v| affinity(&visits[v]) >= 2)
            .max_by_key(|&v| (affinity(&visits[v]), std::cmp::Reverse(v)))
            .or_else(|| candidates.first().copied());
        let v = match chosen {
            Some(v) => v,
            None => {
                visits.push(PlannedVisit {
                    steps: Vec::new(),
                    minutes: 0,
                    dentist: p.dentist_only,
                    earliest_day: 0,
                });
                visits.len() - 1
            }
        };
        visits[v].steps.push(s);
        visits[v].minutes += s.minutes;
        visit_of[i] = v;
    }
    // Days: after the previous visit, and after earlier steps as the rules ask.
    for v in 0..visits.len() {
        let mut day = if v == 0 {
            0
        } else {
            visits[v - 1].earliest_day + 1
        };
        for (t, ps) in preds.iter().enumerate() {
            if visit_of[t] != v {
                continue;
            }
            for &(f, days) in ps {
                if visit_of[f] < v {
                    day = day.max(visits[visit_of[f]].earliest_day + u32::from(days));
                }
            }
        }
        visits[v].earliest_day = day;
    }
    Ok(Series {
        visits,
        constraints,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clinical::teeth::{Area, Quadrant, Tooth};
    use crate::plans::Priority;
    use proptest::prelude::*;

    fn catalog() -> Vec<(String, String)> {
        crate::clinical::catalog::STARTER
            .iter()
            .map(|s| (s.code.to_string(), s.category.to_string()))
            .collect()
    }

    fn starter(code: &str, place: Place) -> Procedure {
        let s = crate::clinical::catalog::STARTER
            .iter()
            .find(|s| s.code == code)
            .unwrap();
        Procedure {
            code: code.into(),
            category: s.category.into(),
            place,
            minutes: s.minutes,
            fee_minor: s.fee_minor,
            dentist_only: s.dentist_only,
            priority: Priority::Routine,
            phase: 1,
        }
    }

    fn tooth(n: u8) -> Place {
        Place::Tooth(Tooth::from_fdi(n).unwrap())
    }

    /// Every constraint holds: order, separate visits and days.
    fn assert_holds(s: &Series) {
        for c in &s.constraints {
            let f = s.visit_of(c.from.0, c.from.1).unwrap();
            let t = s.visit_of(c.to.0, c.to.1).unwrap();
            assert!(f <= t, "{} broken: visit {f} then {t}", c.why);
            if c.min_days > 0 {
                assert!(f < t, "{} needs a later visit", c.why);
                let gap = s.visits[t].earliest_day - s.visits[f].earliest_day;
                assert!(gap >= u32::from(c.min_days), "{}: {gap} days", c.why);
            } else if f == t {
                let pos = |p: (usize, Part)| {
                    s.visits[f]
                        .steps
                        .iter()
                        .position(|x| (x.procedure, x.part) == p)
                        .unwrap()
                };
                assert!(pos(c.from) < pos(c.to), "{} out of order in a visit", c.why);
            }
        }
        for w in s.visits.windows(2) {
            assert!(w[1].earliest_day > w[0].earliest_day);
        }
    }

    #[test]
    fn root_canal_and_crown_on_36_with_four_quadrants_of_scaling() {
        let rules = RuleSet::starter();
        rules.check(&catalog()).unwrap();
        let q = |q| Place::Area(Area::Quadrant(q));
        let procs = vec![
            starter("RCT", tooth(36)),
            starter("CROWN", tooth(36)),
            starter("SRP", q(Quadrant::UpperRight)),
            starter("SRP", q(Quadrant::UpperLeft)),
            starter("SRP", q(Quadrant::LowerLeft)),
            starter("SRP", q(Quadrant::LowerRight)),
        ];
        let s = plan(&procs, &rules).unwrap();
        assert_holds(&s);
        for v in &s.visits {
            assert!(v.minutes <= 120, "a visit of {} minutes", v.minutes);
        }
        // Scaling first (two quadrants per visit: 90 minutes), then the root canal two
        // weeks later, the crown preparation, and the seat two weeks after that.
        // The root canal first (endodontics is not restorative work: it need not wait),
        // scaling two quadrants per visit (90 minutes, a hygienist), the crown preparation two
        // weeks after the last scaling, and the seat two weeks after the preparation.
        let srp: Vec<usize> = (2..6)
            .map(|i| s.visit_of(i, Part::Whole).unwrap())
            .collect();
        let rct = s.visit_of(0, Part::Whole).unwrap();
        let prep = s.visit_of(1, Part::Prep).unwrap();
        let seat = s.visit_of(1, Part::Seat).unwrap();
        assert!(srp.iter().all(|&v| v < prep), "{srp:?} {prep}");
        assert_eq!(s.visits[srp[0]].steps.len(), 2);
        assert!(!s.visits[srp[0]].dentist);
        assert!(s.visits[prep].dentist);
        assert!(rct < prep && prep < seat);
        let last_srp = srp.iter().map(|&v| s.visits[v].earliest_day).max().unwrap();
        assert!(s.visits[prep].earliest_day >= last_srp + 14);
        assert!(s.visits[seat].earliest_day >= s.visits[prep].earliest_day + 14);
        assert_eq!(s.visits.len(), 5, "{:#?}", s.visits);
        let days: Vec<u32> = s.visits.iter().map(|v| v.earliest_day).collect();
        assert_eq!(days, [0, 1, 2, 16, 30]);
    }

    #[test]
    fn extraction_heals_before_the_implant_on_the_same_tooth_only() {
        let rules = RuleSet::starter();
        let procs = vec![
            starter("EXT", tooth(46)),
            starter("IMPL", tooth(46)),
            starter("IMPL", tooth(36)),
        ];
        let s = plan(&procs, &rules).unwrap();
        assert_holds(&s);
        let e = s.visit_of(0, Part::Whole).unwrap();
        let i46 = s.visit_of(1, Part::Whole).unwrap();
        let i36 = s.visit_of(2, Part::Whole).unwrap();
        assert!(s.visits[i46].earliest_day >= s.visits[e].earliest_day + 90);
        // The implant on 36 has no extraction to wait for: it shares the first visit.
        assert_eq!(i36, e);
    }

    #[test]
    fn a_cyclic_rule_set_is_refused_with_its_rules_named() {
        let mut rules = RuleSet::starter();
        rules.rules.push(Rule {
            name: "crown before the root canal".into(),
            before: Matcher::codes(&["CROWN"]),
            after: Matcher::codes(&["RCT"]),
            same_site: true,
            min_days: 0,
        });
        let err = rules.check(&catalog()).unwrap_err();
        let PlanError::Cycle(names) = &err else {
            panic!("{err:?}")
        };
        assert!(
            names.contains(&"crown before the root canal".to_string()),
            "{names:?}"
        );
        // The cycle found runs through the build-up: root canal → build-up → crown → root canal.
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(
            names.contains(&"root canal before the build-up".to_string()),
            "{names:?}"
        );
        assert!(
            names.contains(&"build-up before the crown".to_string()),
            "{names:?}"
        );
        assert!(
            err.to_string()
                .starts_with("these rules go round in a circle: ")
        );
    }

    #[test]
    fn a_procedure_longer_than_a_visit_is_refused() {
        let mut rules = RuleSet::starter();
        rules.max_visit_minutes = 60;
        let err = plan(&[starter("RCT", tooth(36))], &rules).unwrap_err();
        assert_eq!(
            err.to_string(),
            "RCT takes 90 minutes, longer than the longest visit (60 minutes)"
        );
    }

    const CODES: &[&str] = &[
        "EXAM", "COMP", "CORE", "CROWN", "RCT", "SRP", "EXT", "IMPL", "INLAY", "CLEAN", "SEAL",
        "EXT-S", "VENEER", "DENT-P",
    ];

    fn arb_procedure() -> impl Strategy<Value = Procedure> {
        (0..CODES.len(), 0..32usize, 1..3u8).prop_map(|(c, t, phase)| {
            let code = CODES[c];
            let s = crate::clinical::catalog::STARTER
                .iter()
                .find(|s| s.code == code)
                .unwrap();
            let place = match s.site {
                crate::clinical::catalog::SiteRule::Mouth => Place::Mouth,
                crate::clinical::catalog::SiteRule::Area => {
                    Place::Area(Area::Quadrant(match t % 4 {
                        0 => Quadrant::UpperRight,
                        1 => Quadrant::UpperLeft,
                        2 => Quadrant::LowerLeft,
                        _ => Quadrant::LowerRight,
                    }))
                }
                _ => Place::Tooth(Tooth::all().nth(t).unwrap()),
            };
            Procedure {
                phase,
                ..starter(code, place)
            }
        })
    }

    fn arb_rule() -> impl Strategy<Value = Rule> {
        (0..CODES.len(), 0..CODES.len(), any::<bool>(), 0..60u16).prop_map(|(a, b, site, d)| Rule {
            name: format!("{} before {}", CODES[a], CODES[b]),
            before: Matcher::codes(&[CODES[a]]),
            after: Matcher::codes(&[CODES[b]]),
            same_site: site,
            min_days: d,
        })
    }

    proptest! {
        #[test]
        fn every_step_lands_once_and_every_rule_holds(
            procs in proptest::collection::vec(arb_procedure(), 1..20),
            extra in proptest::collection::vec(arb_rule(), 0..6),
        ) {
            let mut rules = RuleSet::starter();
            rules.rules.extend(extra);
            match rules.check(&catalog()) {
                Err(PlanError::Cycle(names)) => {
                    // A refused set names real rules.
                    prop_assert!(!names.is_empty());
                    for n in &names {
                        prop_assert!(rules.rules.iter().any(|r| &r.name == n));
                    }
                }
                Err(e) => prop_assert!(false, "{e}"),
                Ok(()) => {
                    let s = match plan(&procs, &rules) {
                        Err(PlanError::PhaseOrder { rule, before, after }) => {
                            // Only when a rule really orders a later phase's work first.
                            let r = rules.rules.iter().find(|r| r.name == rule).unwrap();
                            let inverted = procs.iter().any(|a| procs.iter().any(|b| {
                                a.code == before && b.code == after && a.phase > b.phase
                                    && r.before.matches(&a.code, &a.category)
                                    && r.after.matches(&b.code, &b.category)
                            }));
                            prop_assert!(inverted);
                            return Ok(());
                        }
                        other => other.unwrap(),
                    };
                    for (i, p) in procs.iter().enumerate() {
                        let parts: Vec<Part> = if rules.lab_for(&p.code, &p.category).is_some() {
                            vec![Part::Prep, Part::Seat]
                        } else {
                            vec![Part::Whole]
                        };
                        for part in parts {
                            let n = s.visits.iter().flat_map(|v| &v.steps)
                                .filter(|x| x.procedure == i && x.part == part).count();
                            prop_assert_eq!(n, 1, "procedure {} {:?}", i, part);
                        }
                    }
                    let total: usize = s.visits.iter().map(|v| v.steps.len()).sum();
                    let expected: usize = procs.iter()
                        .map(|p| if rules.lab_for(&p.code, &p.category).is_some() { 2 } else { 1 })
                        .sum();
                    prop_assert_eq!(total, expected);
                    for v in &s.visits {
                        prop_assert!(v.minutes <= rules.max_visit_minutes);
                        prop_assert!(!v.steps.is_empty());
                    }
                    // Phases never go backwards.
                    for (i, p) in procs.iter().enumerate() {
                        for (j, q) in procs.iter().enumerate() {
                            if p.phase < q.phase {
                                let a = s.visits.iter().rposition(|v| v.steps.iter().any(|x| x.procedure == i)).unwrap();
                                let b = s.visits.iter().position(|v| v.steps.iter().any(|x| x.procedure == j)).unwrap();
                                prop_assert!(a <= b);
                            }
                        }
                    }
                    assert_holds(&s);
                }
            }
        }
    }
}
