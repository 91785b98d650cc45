//! Visits and their notes (seed 000's Visit and ExamWorkflow): a visit's kind, chief
//! complaint and dentist; SOAP notes, started from a template; signing, after which the record
//! is read-only and only signed, timestamped addenda can be added.

use serde::{Deserialize, Serialize};

use crate::kernel::error::FieldError;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitKind {
    Exam,
    Treatment,
    Emergency,
    FollowUp,
}

impl VisitKind {
    pub const ALL: [VisitKind; 4] = [
        VisitKind::Exam,
        VisitKind::Treatment,
        VisitKind::Emergency,
        VisitKind::FollowUp,
    ];

    pub fn code(self) -> &'static str {
        match self {
            VisitKind::Exam => "exam",
            VisitKind::Treatment => "treatment",
            VisitKind::Emergency => "emergency",
            VisitKind::FollowUp => "follow_up",
        }
    }

    pub fn from_code(s: &str) -> Option<VisitKind> {
        VisitKind::ALL.into_iter().find(|k| k.code() == s)
    }
}

/// A SOAP note.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct Soap {
    #[serde(default)]
    pub subjective: String,
    #[serde(default)]
    pub objective: String,
    #[serde(default)]
    pub assessment: String,
    #[serde(default)]
    pub plan: String,
}

/// Longest note section.
pub const MAX_SECTION: usize = 20_000;

impl Soap {
    pub fn normalized(&self) -> Result<Soap, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut section = |name: &str, v: &str| {
            let v = v.trim().replace("\r\n", "\n");
            if v.chars().count() > MAX_SECTION {
                errors.push(FieldError {
                    field: name.into(),
                    message: format!("at most {MAX_SECTION} characters"),
                });
            }
            v
        };
        let s = Soap {
            subjective: section("subjective", &self.subjective),
            objective: section("objective", &self.objective),
            assessment: section("assessment", &self.assessment),
            plan: section("plan", &self.plan),
        };
        if errors.is_empty() {
            Ok(s)
        } else {
            Err(errors)
        }
    }

    pub fn is_empty(&self) -> bool {
        self.subjective.is_empty()
            && self.objective.is_empty()
            && self.assessment.is_empty()
            && self.plan.is_empty()
    }
}

/// A note template: the headings a clinician fills in.
#[derive(Clone, Copy, Debug)]
pub struct Template {
    pub code: &'static str,
    pub en: &'static str,
    pub fr: &'static str,
    pub soap_en: [&'static str; 4],
    pub soap_fr: [&'static str; 4],
}

impl Template {
    pub fn soap(&self, locale: &str) -> Soap {
        let s = if locale.starts_with("fr") {
            self.soap_fr
        } else {
            self.soap_en
        };
        Soap {
            subjective: s[0].into(),
            objective: s[1].into(),
            assessment: s[2].into(),
            plan: s[3].into(),
        }
    }
}

/// The built-in templates.
pub static TEMPLATES: &[Template] = &[
    Template {
        code: "comprehensive",
        en: "Comprehensive exam",
        fr: "Examen complet",
        soap_en: [
            "Chief complaint:\nMedical history reviewed: yes / changes:\nDental history:",
            "Extra-oral:\nIntra-oral soft tissues:\nOcclusion:\nRadiographs:\nCharting: see odontogram.",
            "Diagnoses:",
            "Treatment plan presented:\nNext visit:",
        ],
        soap_fr: [
            "Motif de consultation :\nQuestionnaire médical revu : oui / changements :\nAntécédents dentaires :",
            "Exobuccal :\nTissus mous endobuccaux :\nOcclusion :\nRadiographies :\nConstatations : voir l'odontogramme.",
            "Diagnostics :",
            "Plan de traitement présenté :\nProchaine visite :",
        ],
    },
    Template {
        code: "emergency",
        en: "Emergency (pain)",
        fr: "Urgence (douleur)",
        soap_en: [
            "Pain: where, since when, constant / provoked, by cold / heat / biting, night pain:",
            "Tooth:\nPercussion:\nPalpation:\nCold test:\nMobility:\nPA radiograph:",
            "Pulpal diagnosis:\nPeriapical diagnosis:",
            "Treatment today:\nPrescription:\nFollow-up:",
        ],
        soap_fr: [
            "Douleur : où, depuis quand, continue / provoquée, au froid / chaud / à la mastication, nocturne :",
            "Dent :\nPercussion :\nPalpation :\nTest au froid :\nMobilité :\nRadiographie périapicale :",
            "Diagnostic pulpaire :\nDiagnostic périapical :",
            "Traitement du jour :\nPrescription :\nSuivi :",
        ],
    },
    Template {
        code: "recall",
        en: "Hygiene recall",
        fr: "Rappel d'hygiène",
        soap_en: [
            "Concerns since last visit:\nHome care:",
            "Plaque / calculus:\nGingiva:\nPerio chart: see perio.",
            "Periodontal status:",
            "Cleaning done:\nOral hygiene instructions:\nNext recall:",
        ],
        soap_fr: [
            "Préoccupations depuis la dernière visite :\nHygiène à domicile :",
            "Plaque / tartre :\nGencive :\nSondage : voir parodonte.",
            "État parodontal :",
            "Nettoyage fait :\nConseils d'hygiène :\nProchain rappel :",
        ],
    },
];

/// A signed addendum's text.
pub fn check_addendum(text: &str) -> Result<String, FieldError> {
    let t = text.trim().replace("\r\n", "\n");
    if t.is_empty() {
        return Err(FieldError {
            field: "addendum".into(),
            message: "write what the addendum adds or corrects".into(),
        });
    }
    if t.chars().count() > MAX_SECTION {
        return Err(FieldError {
            field: "addendum".into(),
            message: format!("at most {MAX_SECTION} characters"),
        });
    }
    Ok(t)
}

/// The chief complaint: one line.
pub fn check_complaint(text: &str) -> Result<String, FieldError> {
    let t = text.trim();
    if t.chars().count() > 500 || t.contains('\n') {
        return Err(FieldError {
            field: "chief_complaint".into(),
            message: "one line of at most 500 characters".into(),
        });
    }
    Ok(t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_every_section_in_both_languages() {
        for t in TEMPLATES {
            for l in ["en", "fr"] {
                let s = t.soap(l);
                assert!(!s.subjective.is_empty() && !s.plan.is_empty(), "{}", t.code);
                assert_eq!(s.normalized().unwrap(), s);
            }
        }
        assert_eq!(VisitKind::from_code("follow_up"), Some(VisitKind::FollowUp));
    }

    #[test]
    fn notes_and_addenda_are_checked() {
        let long = "x".repeat(MAX_SECTION + 1);
        let e = Soap {
            plan: long.clone(),
            ..Default::default()
        }
        .normalized()
        .unwrap_err();
        assert_eq!(e[0].field, "plan");
        assert!(check_addendum("  ").is_err());
        assert!(check_addendum(&long).is_err());
        assert_eq!(
            check_addendum(" shade corrected to A3 \r\n").unwrap(),
            "shade corrected to A3"
        );
        assert!(check_complaint("pain\nupper left").is_err());
        assert!(Soap::default().is_empty());
    }
}
