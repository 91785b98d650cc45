//! Treatment plans: the planned work of one patient, its statuses, its analysis (value,
//! complexity, urgency) and where a completed exam sends the patient next. The visit-series
//! planner, which turns a plan into an ordered series of visits, is [`planner`].

pub mod planner;

use serde::{Deserialize, Serialize};

use crate::clinical::teeth::{Area, Quadrant, Tooth};

/// A plan's life: presented to the patient, then accepted or declined; accepted work is
/// scheduled and done.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    Pending,
    Presented,
    Accepted,
    Declined,
    InProgress,
    Completed,
}

impl PlanStatus {
    pub const ALL: [PlanStatus; 6] = [
        PlanStatus::Pending,
        PlanStatus::Presented,
        PlanStatus::Accepted,
        PlanStatus::Declined,
        PlanStatus::InProgress,
        PlanStatus::Completed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            PlanStatus::Pending => "pending",
            PlanStatus::Presented => "presented",
            PlanStatus::Accepted => "accepted",
            PlanStatus::Declined => "declined",
            PlanStatus::InProgress => "in_progress",
            PlanStatus::Completed => "completed",
        }
    }

    pub fn from_code(s: &str) -> Option<PlanStatus> {
        PlanStatus::ALL.into_iter().find(|x| x.code() == s)
    }

    /// May a plan go from `self` to `to` by hand? (In progress and completed follow from
    /// the procedures.) A declined plan may be reopened; a completed one is closed.
    pub fn may_become(self, to: PlanStatus) -> bool {
        use PlanStatus::*;
        matches!(
            (self, to),
            (Pending, Presented | Accepted | Declined)
                | (Presented, Accepted | Declined | Pending)
                | (Accepted, Declined | InProgress)
                | (InProgress, Completed)
                | (Declined, Pending)
        )
    }

    /// Still being decided or carried out.
    pub fn is_open(self) -> bool {
        !matches!(self, PlanStatus::Declined | PlanStatus::Completed)
    }
}

/// One planned procedure's life.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Planned,
    Scheduled,
    InProgress,
    Completed,
    Declined,
}

impl ItemStatus {
    pub const ALL: [ItemStatus; 5] = [
        ItemStatus::Planned,
        ItemStatus::Scheduled,
        ItemStatus::InProgress,
        ItemStatus::Completed,
        ItemStatus::Declined,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ItemStatus::Planned => "planned",
            ItemStatus::Scheduled => "scheduled",
            ItemStatus::InProgress => "in_progress",
            ItemStatus::Completed => "completed",
            ItemStatus::Declined => "declined",
        }
    }

    pub fn from_code(s: &str) -> Option<ItemStatus> {
        ItemStatus::ALL.into_iter().find(|x| x.code() == s)
    }
}

/// How soon the work is needed.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, Debug, Default, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    #[default]
    Routine,
    Soon,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 3] = [Priority::Routine, Priority::Soon, Priority::Urgent];

    pub fn code(self) -> &'static str {
        match self {
            Priority::Routine => "routine",
            Priority::Soon => "soon",
            Priority::Urgent => "urgent",
        }
    }

    pub fn from_code(s: &str) -> Option<Priority> {
        Priority::ALL.into_iter().find(|x| x.code() == s)
    }
}

/// Where a procedure is done.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Place {
    Mouth,
    Tooth(Tooth),
    Area(Area),
}

impl Place {
    /// The quadrants the place touches (the whole mouth: all four).
    pub fn quadrants(self) -> Vec<Quadrant> {
        use Quadrant::*;
        match self {
            Place::Tooth(t) => vec![t.quadrant()],
            Place::Area(Area::Quadrant(q)) => vec![q],
            Place::Area(Area::Upper) => vec![UpperRight, UpperLeft],
            Place::Area(Area::Lower) => vec![LowerLeft, LowerRight],
            Place::Area(Area::Sextant(n)) => match n {
                1 => vec![UpperRight],
                2 => vec![UpperRight, UpperLeft],
                3 => vec![UpperLeft],
                4 => vec![LowerLeft],
                5 => vec![LowerLeft, LowerRight],
                _ => vec![LowerRight],
            },
            Place::Mouth | Place::Area(Area::WholeMouth) => {
                vec![UpperRight, UpperLeft, LowerLeft, LowerRight]
            }
        }
    }

    /// Is the work on the same site: the same tooth, or a tooth within an area?
    pub fn same_site(self, other: Place) -> bool {
        match (self, other) {
            (Place::Tooth(a), Place::Tooth(b)) => a == b,
            (Place::Tooth(_), Place::Area(_)) | (Place::Area(_), Place::Tooth(_)) => self
                .quadrants()
                .iter()
                .any(|q| other.quadrants().contains(q)),
            (Place::Area(a), Place::Area(b)) => a == b,
            _ => false,
        }
    }
}

/// A planned procedure, as analysis and the planner see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Procedure {
    pub code: String,
    pub category: String,
    pub place: Place,
    pub minutes: u16,
    pub fee_minor: i64,
    /// Only a dentist may do it (otherwise a hygienist may).
    pub dentist_only: bool,
    pub priority: Priority,
    /// Phase 1 comes first; the planner keeps phases in order.
    pub phase: u8,
}

/// Categories counted as surgery in the complexity score.
const SURGICAL: &[&str] = &["oral_surgery", "implants"];

/// A plan's figures: what routing and the coordinator look at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Analysis {
    pub procedures: usize,
    pub total_value_minor: i64,
    /// See [`analyze`].
    pub complexity_score: u32,
    pub urgency: Priority,
    pub value_category: ValueCategory,
    /// Distinct specialties (catalog categories).
    pub specialties: usize,
    pub surgical: usize,
    /// Procedures that need a laboratory (two visits: preparation, then the seat).
    pub lab_work: usize,
    pub chair_minutes: u32,
}

/// The plan's value band (clinic thresholds).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueCategory {
    Low,
    Medium,
    High,
}

impl ValueCategory {
    pub fn code(self) -> &'static str {
        match self {
            ValueCategory::Low => "low",
            ValueCategory::Medium => "medium",
            ValueCategory::High => "high",
        }
    }
}

/// The clinic's thresholds for analysis and routing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingSettings {
    /// A plan worth at least this (minor units) goes to the treatment coordinator.
    pub coordinator_value_minor: i64,
    /// A plan scoring more than this goes to the treatment coordinator.
    pub coordinator_complexity: u32,
    /// Plans from this value up are "medium".
    pub medium_value_minor: i64,
    /// Days after a presentation without an answer before a follow-up task.
    pub follow_up_days: u16,
}

impl Default for RoutingSettings {
    fn default() -> Self {
        RoutingSettings {
            coordinator_value_minor: 200_000,
            coordinator_complexity: 7,
            medium_value_minor: 50_000,
            follow_up_days: 7,
        }
    }
}

impl RoutingSettings {
    pub fn check(&self) -> Result<(), String> {
        if self.coordinator_value_minor <= 0 || self.medium_value_minor < 0 {
            return Err("the value thresholds must be positive".into());
        }
        if self.medium_value_minor > self.coordinator_value_minor {
            return Err("the medium band starts below the coordinator's threshold".into());
        }
        if self.coordinator_complexity == 0 || self.coordinator_complexity > 1000 {
            return Err("the complexity threshold is between 1 and 1000".into());
        }
        if self.follow_up_days == 0 || self.follow_up_days > 365 {
            return Err("a follow-up comes 1 to 365 days after the presentation".into());
        }
        Ok(())
    }
}

/// The figures of the procedures still to do (declined ones are left out by the caller).
///
/// The complexity score adds one point per procedure, two per specialty beyond the first, three
/// per surgical procedure (oral surgery, implants), two per procedure that needs a laboratory
/// (it takes two visits) and one per full hour of chair time. A single filling scores 1; a
/// root canal and crown on one tooth with four quadrants of scaling scores 16.
pub fn analyze(
    procedures: &[Procedure],
    rules: &planner::RuleSet,
    settings: &RoutingSettings,
) -> Analysis {
    let total: i64 = procedures.iter().map(|p| p.fee_minor).sum();
    let mut categories: Vec<&str> = procedures.iter().map(|p| p.category.as_str()).collect();
    categories.sort_unstable();
    categories.dedup();
    let surgical = procedures
        .iter()
        .filter(|p| SURGICAL.contains(&p.category.as_str()))
        .count();
    let lab_work = procedures
        .iter()
        .filter(|p| rules.lab_for(&p.code, &p.category).is_some())
        .count();
    let chair_minutes: u32 = procedures.iter().map(|p| u32::from(p.minutes)).sum();
    let complexity_score = procedures.len() as u32
        + 2 * categories.len().saturating_sub(1) as u32
        + 3 * surgical as u32
        + 2 * lab_work as u32
        + chair_minutes / 60;
    let urgency = procedures
        .iter()
        .map(|p| p.priority)
        .max()
        .unwrap_or(Priority::Routine);
    let value_category = if total >= settings.coordinator_value_minor {
        ValueCategory::High
    } else if total >= settings.medium_value_minor {
        ValueCategory::Medium
    } else {
        ValueCategory::Low
    };
    Analysis {
        procedures: procedures.len(),
        total_value_minor: total,
        complexity_score,
        urgency,
        value_category,
        specialties: categories.len(),
        surgical,
        lab_work,
        chair_minutes,
    }
}

/// Where the patient goes after the exam.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// High value or complex: the treatment coordinator presents the plan.
    Coordinator,
    /// Urgent work: the front desk books it now.
    UrgentScheduling,
    /// Simple: the front desk checks the patient out (and books the work).
    Checkout,
}

impl Route {
    pub const ALL: [Route; 3] = [Route::Coordinator, Route::UrgentScheduling, Route::Checkout];

    pub fn code(self) -> &'static str {
        match self {
            Route::Coordinator => "coordinator",
            Route::UrgentScheduling => "urgent_scheduling",
            Route::Checkout => "checkout",
        }
    }

    pub fn from_code(s: &str) -> Option<Route> {
        Route::ALL.into_iter().find(|x| x.code() == s)
    }

    /// The role whose inbox receives the task.
    pub fn assignee_role(self) -> &'static str {
        match self {
            Route::Coordinator => "coordinator",
            Route::UrgentScheduling | Route::Checkout => "receptionist",
        }
    }
}

/// The routing of a completed exam, with the reason given to staff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Routing {
    pub route: Route,
    pub assignee_role: &'static str,
    pub urgency: Priority,
    pub reason: String,
}

/// Seed 000's `determinePostExamRouting`: value or complexity first, then urgency, else
/// checkout. An urgent plan that is also high value goes to the coordinator as urgent.
pub fn route(a: &Analysis, settings: &RoutingSettings) -> Routing {
    let (route, reason) = if a.total_value_minor >= settings.coordinator_value_minor {
        (Route::Coordinator, "high-value treatment plan".to_string())
    } else if a.complexity_score > settings.coordinator_complexity {
        (
            Route::Coordinator,
            format!(
                "complex treatment plan (complexity {} > {})",
                a.complexity_score, settings.coordinator_complexity
            ),
        )
    } else if a.urgency == Priority::Urgent {
        (
            Route::UrgentScheduling,
            "urgent treatment needed".to_string(),
        )
    } else {
        (Route::Checkout, "standard treatment plan".to_string())
    };
    Routing {
        route,
        assignee_role: route.assignee_role(),
        urgency: a.urgency,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc(code: &str, category: &str, minutes: u16, fee: i64, pr: Priority) -> Procedure {
        Procedure {
            code: code.into(),
            category: category.into(),
            place: Place::Mouth,
            minutes,
            fee_minor: fee,
            dentist_only: true,
            priority: pr,
            phase: 1,
        }
    }

    #[test]
    fn complexity_score_counts_as_documented() {
        let rules = planner::RuleSet::starter();
        let one = [proc("COMP", "restorative", 40, 16000, Priority::Routine)];
        assert_eq!(
            analyze(&one, &rules, &RoutingSettings::default()).complexity_score,
            1
        );
        let big = [
            proc("RCT", "endodontics", 90, 90000, Priority::Routine),
            proc("CROWN", "prosthodontics", 90, 110000, Priority::Routine),
            proc("SRP", "periodontics", 45, 22000, Priority::Routine),
            proc("SRP", "periodontics", 45, 22000, Priority::Routine),
            proc("SRP", "periodontics", 45, 22000, Priority::Routine),
            proc("SRP", "periodontics", 45, 22000, Priority::Routine),
        ];
        let a = analyze(&big, &rules, &RoutingSettings::default());
        // 6 procedures + 2×2 more specialties + 2×1 lab + 360 min / 60.
        assert_eq!(a.complexity_score, 6 + 4 + 2 + 6);
        assert_eq!(a.total_value_minor, 288000);
        assert_eq!(a.value_category, ValueCategory::High);
        assert_eq!(a.lab_work, 1);
    }

    #[test]
    fn routing_follows_value_then_urgency() {
        let s = RoutingSettings::default();
        let rules = planner::RuleSet::starter();
        let high = [proc("IMPL", "implants", 90, 210000, Priority::Routine)];
        let r = route(&analyze(&high, &rules, &s), &s);
        assert_eq!(r.route, Route::Coordinator);
        assert_eq!(r.assignee_role, "coordinator");
        let urgent = [proc("EXT", "oral_surgery", 30, 17500, Priority::Urgent)];
        let r = route(&analyze(&urgent, &rules, &s), &s);
        assert_eq!(r.route, Route::UrgentScheduling);
        assert_eq!(r.urgency, Priority::Urgent);
        let simple = [proc("COMP", "restorative", 40, 16000, Priority::Routine)];
        assert_eq!(
            route(&analyze(&simple, &rules, &s), &s).route,
            Route::Checkout
        );
        // Complexity alone: many small fillings in different specialties.
        let many: Vec<_> = (0..9)
            .map(|_| proc("SEAL", "preventive", 15, 4500, Priority::Routine))
            .collect();
        let r = route(&analyze(&many, &rules, &s), &s);
        assert_eq!(r.route, Route::Coordinator);
        assert!(r.reason.contains("complexity 11 > 7"), "{}", r.reason);
    }

    #[test]
    fn statuses_move_only_forward_or_reopen() {
        assert!(PlanStatus::Pending.may_become(PlanStatus::Presented));
        assert!(PlanStatus::Presented.may_become(PlanStatus::Declined));
        assert!(PlanStatus::Declined.may_become(PlanStatus::Pending));
        assert!(!PlanStatus::Completed.may_become(PlanStatus::Pending));
        assert!(!PlanStatus::Declined.may_become(PlanStatus::Accepted));
        for s in PlanStatus::ALL {
            assert_eq!(PlanStatus::from_code(s.code()), Some(s));
        }
    }

    #[test]
    fn a_tooth_is_on_the_site_of_its_quadrant() {
        let t36 = Place::Tooth(Tooth::from_fdi(36).unwrap());
        let ll = Place::Area(Area::Quadrant(Quadrant::LowerLeft));
        let ur = Place::Area(Area::Quadrant(Quadrant::UpperRight));
        assert!(t36.same_site(ll));
        assert!(!t36.same_site(ur));
        assert!(!t36.same_site(Place::Tooth(Tooth::from_fdi(37).unwrap())));
    }
}
