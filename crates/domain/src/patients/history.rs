//! A patient's medical history: allergies, medications, conditions (ICD-10-CM or free text) and
//! the flags that change dental care. It is stored whole, one version per change, so who
//! changed what and when is never lost; [`MedicalHistory::changes_from`] says what a version
//! changed, and [`MedicalHistory::alerts`] is what the banner on every patient page shows.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::icd10;
use crate::FieldError;

/// How bad an allergic reaction is.
pub const SEVERITIES: &[&str] = &["mild", "moderate", "severe", "life_threatening"];

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Allergy {
    pub substance: String,
    pub reaction: String,
    /// One of [`SEVERITIES`].
    pub severity: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Medication {
    pub name: String,
    pub dose: String,
    pub frequency: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Condition {
    /// An ICD-10-CM code, or empty for free text.
    pub code: String,
    pub text: String,
}

/// The flags a clinician must see before touching a patient.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    Anticoagulants,
    PremedicationRequired,
    LatexAllergy,
    Bisphosphonates,
    Pregnancy,
    Diabetes,
    HeartCondition,
    Hypertension,
    BleedingDisorder,
    Immunocompromised,
    RadiationHeadNeck,
    Smoker,
}

impl Flag {
    pub const ALL: [Flag; 12] = [
        Flag::Anticoagulants,
        Flag::PremedicationRequired,
        Flag::LatexAllergy,
        Flag::Bisphosphonates,
        Flag::Pregnancy,
        Flag::Diabetes,
        Flag::HeartCondition,
        Flag::Hypertension,
        Flag::BleedingDisorder,
        Flag::Immunocompromised,
        Flag::RadiationHeadNeck,
        Flag::Smoker,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Flag::Anticoagulants => "anticoagulants",
            Flag::PremedicationRequired => "premedication_required",
            Flag::LatexAllergy => "latex_allergy",
            Flag::Bisphosphonates => "bisphosphonates",
            Flag::Pregnancy => "pregnancy",
            Flag::Diabetes => "diabetes",
            Flag::HeartCondition => "heart_condition",
            Flag::Hypertension => "hypertension",
            Flag::BleedingDisorder => "bleeding_disorder",
            Flag::Immunocompromised => "immunocompromised",
            Flag::RadiationHeadNeck => "radiation_head_neck",
            Flag::Smoker => "smoker",
        }
    }

    pub fn from_code(s: &str) -> Option<Flag> {
        Flag::ALL.into_iter().find(|f| f.code() == s)
    }

    /// Flags that change what may be done today (bleeding, infection risk, reactions,
    /// osteonecrosis) are critical; the others inform.
    pub fn critical(self) -> bool {
        matches!(
            self,
            Flag::Anticoagulants
                | Flag::PremedicationRequired
                | Flag::LatexAllergy
                | Flag::Bisphosphonates
                | Flag::Pregnancy
                | Flag::BleedingDisorder
                | Flag::Immunocompromised
                | Flag::RadiationHeadNeck
        )
    }
}

/// The whole structured history.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MedicalHistory {
    /// The patient reports no known allergies (as opposed to "not asked").
    pub no_known_allergies: bool,
    pub allergies: Vec<Allergy>,
    pub medications: Vec<Medication>,
    pub conditions: Vec<Condition>,
    pub flags: Vec<Flag>,
    pub notes: String,
}

/// One line of the medical alert banner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// `allergy` or a flag code.
    pub kind: String,
    /// What to show: the substance and reaction, or empty for a flag (the page translates it).
    pub text: String,
    pub critical: bool,
}

fn clean(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl MedicalHistory {
    /// Trimmed, empty lines dropped, codes upper-cased with their dot, flags sorted and
    /// unique; or every problem at once.
    pub fn normalized(&self) -> Result<MedicalHistory, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut bad = |field: String, message: String| errors.push(FieldError { field, message });
        let mut allergies = Vec::new();
        for (i, a) in self.allergies.iter().enumerate() {
            let a = Allergy {
                substance: clean(&a.substance),
                reaction: clean(&a.reaction),
                severity: a.severity.trim().to_lowercase(),
            };
            if a.substance.is_empty() && a.reaction.is_empty() {
                continue;
            }
            if a.substance.is_empty() {
                bad(format!("allergies[{i}].substance"), "is required".into());
            }
            if a.substance.chars().count() > 120 || a.reaction.chars().count() > 200 {
                bad(format!("allergies[{i}]"), "is too long".into());
            }
            let a = Allergy {
                severity: if a.severity.is_empty() {
                    "moderate".into()
                } else {
                    a.severity
                },
                ..a
            };
            if !SEVERITIES.contains(&a.severity.as_str()) {
                bad(
                    format!("allergies[{i}].severity"),
                    format!("must be one of {}", SEVERITIES.join(", ")),
                );
            }
            allergies.push(a);
        }
        let mut medications = Vec::new();
        for (i, m) in self.medications.iter().enumerate() {
            let m = Medication {
                name: clean(&m.name),
                dose: clean(&m.dose),
                frequency: clean(&m.frequency),
            };
            if m.name.is_empty() && m.dose.is_empty() && m.frequency.is_empty() {
                continue;
            }
            if m.name.is_empty() {
                bad(format!("medications[{i}].name"), "is required".into());
            }
            if m.name.chars().count() > 120 || m.dose.chars().count() > 60 {
                bad(format!("medications[{i}]"), "is too long".into());
            }
            medications.push(m);
        }
        let mut conditions = Vec::new();
        for (i, c) in self.conditions.iter().enumerate() {
            let code = c.code.trim();
            let text = clean(&c.text);
            if code.is_empty() && text.is_empty() {
                continue;
            }
            let code = if code.is_empty() {
                String::new()
            } else if let Some(known) = icd10::lookup(code) {
                known.code.to_string()
            } else if icd10::is_valid_format(code) {
                code.to_uppercase()
            } else {
                bad(
                    format!("conditions[{i}].code"),
                    format!("\"{code}\" is not an ICD-10-CM code (e.g. K05.10)"),
                );
                continue;
            };
            let text = if text.is_empty() {
                icd10::lookup(&code)
                    .map(|k| k.en.to_string())
                    .unwrap_or_default()
            } else {
                text
            };
            if text.chars().count() > 200 {
                bad(format!("conditions[{i}].text"), "is too long".into());
            }
            conditions.push(Condition { code, text });
        }
        let mut flags = self.flags.clone();
        flags.sort();
        flags.dedup();
        let notes = self.notes.trim().to_string();
        if notes.chars().count() > 4000 {
            bad("notes".into(), "must be at most 4000 characters".into());
        }
        if self.no_known_allergies && !allergies.is_empty() {
            bad(
                "no_known_allergies".into(),
                "cannot be ticked while allergies are listed".into(),
            );
        }
        if errors.is_empty() {
            Ok(MedicalHistory {
                no_known_allergies: self.no_known_allergies,
                allergies,
                medications,
                conditions,
                flags,
                notes,
            })
        } else {
            Err(errors)
        }
    }

    /// The banner: every allergy (a latex allergy also as its flag), then the flags, critical
    /// first.
    pub fn alerts(&self) -> Vec<Alert> {
        let mut out: Vec<Alert> = self
            .allergies
            .iter()
            .map(|a| Alert {
                kind: "allergy".into(),
                text: if a.reaction.is_empty() {
                    a.substance.clone()
                } else {
                    format!("{} ({})", a.substance, a.reaction)
                },
                critical: a.severity == "severe" || a.severity == "life_threatening",
            })
            .collect();
        let mut flags: Vec<Flag> = self.flags.clone();
        flags.sort_by_key(|f| (!f.critical(), *f));
        out.extend(flags.into_iter().map(|f| Alert {
            kind: f.code().into(),
            text: String::new(),
            critical: f.critical(),
        }));
        out
    }

    /// What changed from `before` to `self`, as short English phrases for the history log
    /// ("allergy added: Penicillin", "flag removed: pregnancy").
    pub fn changes_from(&self, before: &MedicalHistory) -> Vec<String> {
        let mut out = Vec::new();
        let diff = |out: &mut Vec<String>, what: &str, old: Vec<String>, new: Vec<String>| {
            for n in &new {
                if !old.contains(n) {
                    out.push(format!("{what} added: {n}"));
                }
            }
            for o in &old {
                if !new.contains(o) {
                    out.push(format!("{what} removed: {o}"));
                }
            }
        };
        let allergy = |a: &Allergy| format!("{} ({}, {})", a.substance, a.reaction, a.severity);
        diff(
            &mut out,
            "allergy",
            before.allergies.iter().map(allergy).collect(),
            self.allergies.iter().map(allergy).collect(),
        );
        let med = |m: &Medication| {
            format!("{} {} {}", m.name, m.dose, m.frequency)
                .trim()
                .to_string()
        };
        diff(
            &mut out,
            "medication",
            before.medications.iter().map(med).collect(),
            self.medications.iter().map(med).collect(),
        );
        let cond = |c: &Condition| {
            if c.code.is_empty() {
                c.text.clone()
            } else {
                format!("{} {}", c.code, c.text)
            }
        };
        diff(
            &mut out,
            "condition",
            before.conditions.iter().map(cond).collect(),
            self.conditions.iter().map(cond).collect(),
        );
        diff(
            &mut out,
            "flag",
            before.flags.iter().map(|f| f.code().to_string()).collect(),
            self.flags.iter().map(|f| f.code().to_string()).collect(),
        );
        if before.no_known_allergies != self.no_known_allergies {
            out.push(format!("no known allergies: {}", self.no_known_allergies));
        }
        if before.notes != self.notes {
            out.push("notes changed".into());
        }
        out
    }

    /// Everything in either history (a merge keeps both patients' facts).
    pub fn union(&self, other: &MedicalHistory) -> MedicalHistory {
        let mut out = self.clone();
        for a in &other.allergies {
            if !out
                .allergies
                .iter()
                .any(|x| x.substance.eq_ignore_ascii_case(&a.substance))
            {
                out.allergies.push(a.clone());
            }
        }
        for m in &other.medications {
            if !out
                .medications
                .iter()
                .any(|x| x.name.eq_ignore_ascii_case(&m.name))
            {
                out.medications.push(m.clone());
            }
        }
        for c in &other.conditions {
            if !out.conditions.contains(c) {
                out.conditions.push(c.clone());
            }
        }
        out.flags.extend(other.flags.iter().copied());
        out.flags.sort();
        out.flags.dedup();
        out.no_known_allergies =
            out.allergies.is_empty() && self.no_known_allergies && other.no_known_allergies;
        if !other.notes.is_empty() && other.notes != out.notes {
            out.notes = if out.notes.is_empty() {
                other.notes.clone()
            } else {
                format!("{}\n{}", out.notes, other.notes)
            };
        }
        out
    }
}

/// Whether the history's last review is older than `months` (or never happened).
pub fn review_due(reviewed_at: Option<Timestamp>, now: Timestamp, months: i64) -> bool {
    match reviewed_at {
        None => true,
        Some(at) => {
            let days = (now.as_second() - at.as_second()) / 86_400;
            // A month as 30.44 days: the prompt does not need calendar precision.
            days * 100 > months * 3044
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn penicillin() -> Allergy {
        Allergy {
            substance: " Penicillin ".into(),
            reaction: "hives".into(),
            severity: "severe".into(),
        }
    }

    #[test]
    fn normalizing_cleans_and_checks() {
        let h = MedicalHistory {
            allergies: vec![penicillin(), Allergy::default()],
            conditions: vec![
                Condition {
                    code: "e119".into(),
                    text: String::new(),
                },
                Condition {
                    code: String::new(),
                    text: "  mitral valve prolapse ".into(),
                },
            ],
            flags: vec![Flag::Smoker, Flag::Anticoagulants, Flag::Smoker],
            ..Default::default()
        }
        .normalized()
        .unwrap();
        assert_eq!(h.allergies.len(), 1);
        assert_eq!(h.allergies[0].substance, "Penicillin");
        assert_eq!(h.conditions[0].code, "E11.9");
        assert!(
            !h.conditions[0].text.is_empty(),
            "the code's title fills an empty text"
        );
        assert_eq!(h.conditions[1].text, "mitral valve prolapse");
        assert_eq!(h.flags, vec![Flag::Anticoagulants, Flag::Smoker]);

        let errs = MedicalHistory {
            no_known_allergies: true,
            allergies: vec![
                penicillin(),
                Allergy {
                    substance: String::new(),
                    reaction: "rash".into(),
                    severity: "bad".into(),
                },
            ],
            conditions: vec![Condition {
                code: "diabetes".into(),
                text: String::new(),
            }],
            ..Default::default()
        }
        .normalized()
        .unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"allergies[1].substance"), "{fields:?}");
        assert!(fields.contains(&"allergies[1].severity"), "{fields:?}");
        assert!(fields.contains(&"conditions[0].code"), "{fields:?}");
        assert!(fields.contains(&"no_known_allergies"), "{fields:?}");
    }

    #[test]
    fn alerts_put_allergies_then_critical_flags_first() {
        let h = MedicalHistory {
            allergies: vec![penicillin()],
            flags: vec![Flag::Smoker, Flag::Anticoagulants],
            ..Default::default()
        }
        .normalized()
        .unwrap();
        let a = h.alerts();
        assert_eq!(a[0].kind, "allergy");
        assert_eq!(a[0].text, "Penicillin (hives)");
        assert!(a[0].critical);
        assert_eq!(a[1].kind, "anticoagulants");
        assert!(a[1].critical);
        assert_eq!(a[2].kind, "smoker");
        assert!(!a[2].critical);
        assert!(MedicalHistory::default().alerts().is_empty());
    }

    #[test]
    fn changes_and_union() {
        let before = MedicalHistory::default();
        let after = MedicalHistory {
            allergies: vec![penicillin()],
            flags: vec![Flag::Pregnancy],
            ..Default::default()
        }
        .normalized()
        .unwrap();
        let c = after.changes_from(&before);
        assert_eq!(
            c,
            vec![
                "allergy added: Penicillin (hives, severe)",
                "flag added: pregnancy"
            ]
        );
        assert_eq!(before.changes_from(&after).len(), 2);
        assert!(after.changes_from(&after).is_empty());

        let other = MedicalHistory {
            allergies: vec![
                Allergy {
                    substance: "penicillin".into(),
                    ..Default::default()
                },
                Allergy {
                    substance: "Latex".into(),
                    ..Default::default()
                },
            ],
            flags: vec![Flag::Pregnancy, Flag::Diabetes],
            notes: "from the other record".into(),
            ..Default::default()
        };
        let u = after.union(&other);
        assert_eq!(u.allergies.len(), 2, "penicillin once, latex added");
        assert_eq!(u.flags, vec![Flag::Pregnancy, Flag::Diabetes]);
        assert_eq!(u.notes, "from the other record");
    }

    #[test]
    fn review_prompt() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let days = |d: i64| Timestamp::from_second(1_800_000_000 - d * 86_400).unwrap();
        assert!(review_due(None, now, 12));
        assert!(!review_due(Some(days(300)), now, 12));
        assert!(review_due(Some(days(400)), now, 12));
        assert!(review_due(Some(days(200)), now, 6));
    }
}
