//! Prescriptions: the medicine catalog, the prescription itself, and the checks made before it
//! is written — the patient's allergies (by substance and by drug class, with penicillin →
//! cephalosporin cross-reactivity), and a built-in short list of interactions with what the
//! patient already takes (their medication list, their medical flags and their other active
//! prescriptions). A warning does not forbid: the prescriber overrides it with a reason, which
//! is kept with the prescription.
//!
//! The class list and interaction rules are a deliberately short, dental-relevant set (the
//! drugs a dentist prescribes and the ones that make them dangerous), not a drug database.

use serde::{Deserialize, Serialize};

use crate::kernel::error::FieldError;
use crate::patients::history::{Flag, MedicalHistory};

/// A drug class Cuspid recognises in a medicine's name, an allergy or a medication.
pub struct Class {
    pub code: &'static str,
    pub en: &'static str,
    pub fr: &'static str,
    /// Stems (lower case, no accents) that mark a word as a member of the class; one starting
    /// with `=` must be the whole word ("sulfa", not "sulfate").
    pub stems: &'static [&'static str],
}

pub static CLASSES: &[Class] = &[
    Class {
        code: "penicillin",
        en: "penicillin",
        fr: "pénicilline",
        stems: &[
            "penicil",
            "amoxicil",
            "ampicil",
            "augmentin",
            "clavul",
            "dicloxa",
            "cloxacil",
            "piperacil",
            "lactam",
        ],
    },
    Class {
        code: "cephalosporin",
        en: "cephalosporin",
        fr: "céphalosporine",
        stems: &[
            "cephal", "cefa", "cefu", "cefp", "cefo", "ceft", "cefd", "cefi", "keflex", "lactam",
        ],
    },
    Class {
        code: "macrolide",
        en: "macrolide",
        fr: "macrolide",
        stems: &[
            "macrolid",
            "erythromyc",
            "clarithromyc",
            "azithromyc",
            "spiramyc",
        ],
    },
    Class {
        code: "lincosamide",
        en: "lincosamide",
        fr: "lincosamide",
        stems: &["clindamyc", "lincomyc", "lincosamid", "dalacin"],
    },
    Class {
        code: "nitroimidazole",
        en: "nitroimidazole",
        fr: "nitro-imidazolé",
        stems: &["metronidaz", "tinidaz", "flagyl"],
    },
    Class {
        code: "tetracycline",
        en: "tetracycline",
        fr: "tétracycline",
        stems: &["tetracycl", "doxycycl", "minocycl"],
    },
    Class {
        code: "sulfonamide",
        en: "sulfonamide",
        fr: "sulfamide",
        stems: &[
            "=sulfa",
            "=sulfas",
            "sulfonamid",
            "sulfamid",
            "sulfameth",
            "sulfadiaz",
            "cotrimox",
            "bactrim",
        ],
    },
    Class {
        code: "nsaid",
        en: "NSAID",
        fr: "AINS",
        stems: &[
            "nsaid",
            "ains",
            "ibuprof",
            "naprox",
            "diclofen",
            "ketoprof",
            "ketorol",
            "celecox",
            "meloxic",
            "etodol",
            "advil",
            "motrin",
            "aleve",
            "aspirin",
            "acetylsalicyl",
        ],
    },
    Class {
        code: "salicylate",
        en: "salicylate",
        fr: "salicylé",
        stems: &["aspirin", "acetylsalicyl", "salicyl", "kardegic"],
    },
    Class {
        code: "opioid",
        en: "opioid",
        fr: "opioïde",
        stems: &[
            "opioid",
            "opiac",
            "codein",
            "hydrocod",
            "oxycod",
            "morphin",
            "tramad",
            "tapentad",
            "fentan",
            "hydromorph",
            "percocet",
            "vicodin",
        ],
    },
    Class {
        code: "benzodiazepine",
        en: "benzodiazepine",
        fr: "benzodiazépine",
        stems: &[
            "benzodiaz",
            "diazep",
            "lorazep",
            "alprazol",
            "clonazep",
            "triazol",
            "midazol",
            "oxazep",
            "temazep",
            "bromazep",
            "valium",
            "xanax",
        ],
    },
    Class {
        code: "azole",
        en: "azole antifungal",
        fr: "antifongique azolé",
        stems: &[
            "fluconaz",
            "miconaz",
            "ketoconaz",
            "itraconaz",
            "voriconaz",
            "posaconaz",
        ],
    },
    Class {
        code: "anticoagulant",
        en: "anticoagulant",
        fr: "anticoagulant",
        stems: &[
            "anticoag",
            "warfarin",
            "coumad",
            "acenocoum",
            "fluindion",
            "phenprocoum",
            "apixab",
            "eliquis",
            "rivaroxab",
            "xarelto",
            "dabigatr",
            "pradaxa",
            "edoxab",
            "heparin",
            "enoxapar",
            "lovenox",
            "tinzapar",
            "dalteparin",
        ],
    },
    Class {
        code: "vitamin_k_antagonist",
        en: "vitamin K antagonist",
        fr: "antivitamine K",
        stems: &[
            "warfarin",
            "coumad",
            "acenocoum",
            "sintrom",
            "fluindion",
            "previscan",
            "phenprocoum",
        ],
    },
    Class {
        code: "antiplatelet",
        en: "antiplatelet",
        fr: "antiagrégant plaquettaire",
        stems: &[
            "antiplatel",
            "antiagreg",
            "clopidog",
            "plavix",
            "ticagrel",
            "prasugr",
            "aspirin",
            "acetylsalicyl",
            "kardegic",
        ],
    },
    Class {
        code: "statin",
        en: "statin",
        fr: "statine",
        stems: &[
            "statin", "simvast", "lovast", "atorvast", "rosuvast", "pravast", "zocor", "lipitor",
        ],
    },
    Class {
        code: "lithium",
        en: "lithium",
        fr: "lithium",
        stems: &["lithium"],
    },
    Class {
        code: "methotrexate",
        en: "methotrexate",
        fr: "méthotrexate",
        stems: &["methotrex"],
    },
];

/// Lower case, accents taken off, words split on anything that is not a letter or digit.
fn words(text: &str) -> Vec<String> {
    let folded: String = text
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'â' | 'ä' | 'á' | 'ã' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' | 'í' => 'i',
            'ô' | 'ö' | 'ó' | 'õ' => 'o',
            'ù' | 'û' | 'ü' | 'ú' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            c if c.is_alphanumeric() => c,
            _ => ' ',
        })
        .collect();
    folded.split_whitespace().map(str::to_string).collect()
}

/// The classes a name (a medicine, an allergy, a medication) belongs to.
pub fn classes_of(text: &str) -> Vec<&'static str> {
    let ws = words(text);
    CLASSES
        .iter()
        .filter(|c| {
            ws.iter().any(|w| {
                c.stems.iter().any(|s| match s.strip_prefix('=') {
                    Some(exact) => w == exact,
                    None => w.starts_with(s),
                })
            })
        })
        .map(|c| c.code)
        .collect()
}

pub fn class(code: &str) -> Option<&'static Class> {
    CLASSES.iter().find(|c| c.code == code)
}

fn class_name(code: &str, fr: bool) -> &'static str {
    match class(code) {
        Some(c) if fr => c.fr,
        Some(c) => c.en,
        None => "",
    }
}

/// How serious a warning is.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Moderate,
    Major,
}

/// One thing the prescriber must see before the prescription is written.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Warning {
    /// `allergy`, `cross_reactivity`, `interaction`, `duplicate`, `condition`, or `history`
    /// (nothing recorded about allergies).
    pub kind: String,
    /// A stable code, e.g. `interaction:nsaid+anticoagulant`.
    pub code: String,
    pub severity: Severity,
    /// What in the patient's record it comes from (an allergy, a medication, a flag, another
    /// prescription).
    pub subject: String,
    pub en: String,
    pub fr: String,
}

impl Warning {
    pub fn text(&self, locale: &str) -> &str {
        if locale.starts_with("fr") {
            &self.fr
        } else {
            &self.en
        }
    }
}

/// Something the patient already takes or has: where it comes from, and its classes.
struct Taken {
    subject: String,
    classes: Vec<&'static str>,
}

/// An interaction rule: a class of the new medicine with a class (or flag) already present.
struct Rule {
    new: &'static str,
    present: &'static str,
    severity: Severity,
    en: &'static str,
    fr: &'static str,
}

static RULES: &[Rule] = &[
    Rule {
        new: "nsaid",
        present: "anticoagulant",
        severity: Severity::Major,
        en: "NSAIDs with an anticoagulant raise the risk of bleeding (gastro-intestinal and at the surgical site)",
        fr: "Les AINS associés à un anticoagulant augmentent le risque hémorragique (digestif et au site opératoire)",
    },
    Rule {
        new: "nsaid",
        present: "antiplatelet",
        severity: Severity::Moderate,
        en: "NSAIDs with an antiplatelet drug raise the risk of bleeding",
        fr: "Les AINS associés à un antiagrégant plaquettaire augmentent le risque hémorragique",
    },
    Rule {
        new: "nsaid",
        present: "methotrexate",
        severity: Severity::Major,
        en: "NSAIDs reduce methotrexate clearance (toxicity)",
        fr: "Les AINS diminuent l'élimination du méthotrexate (toxicité)",
    },
    Rule {
        new: "nsaid",
        present: "lithium",
        severity: Severity::Moderate,
        en: "NSAIDs raise lithium levels",
        fr: "Les AINS augmentent la lithémie",
    },
    Rule {
        new: "nitroimidazole",
        present: "vitamin_k_antagonist",
        severity: Severity::Major,
        en: "Metronidazole strongly increases the effect of warfarin-type anticoagulants (INR rises)",
        fr: "Le métronidazole potentialise fortement les antivitamines K (hausse de l'INR)",
    },
    Rule {
        new: "azole",
        present: "vitamin_k_antagonist",
        severity: Severity::Major,
        en: "Azole antifungals increase the effect of warfarin-type anticoagulants (INR rises)",
        fr: "Les antifongiques azolés potentialisent les antivitamines K (hausse de l'INR)",
    },
    Rule {
        new: "macrolide",
        present: "vitamin_k_antagonist",
        severity: Severity::Moderate,
        en: "Macrolides can increase the effect of warfarin-type anticoagulants (check the INR)",
        fr: "Les macrolides peuvent potentialiser les antivitamines K (contrôler l'INR)",
    },
    Rule {
        new: "macrolide",
        present: "statin",
        severity: Severity::Major,
        en: "Macrolides raise statin levels (muscle damage, rhabdomyolysis)",
        fr: "Les macrolides augmentent les taux de statine (atteinte musculaire, rhabdomyolyse)",
    },
    Rule {
        new: "azole",
        present: "statin",
        severity: Severity::Moderate,
        en: "Azole antifungals raise statin levels (muscle damage)",
        fr: "Les antifongiques azolés augmentent les taux de statine (atteinte musculaire)",
    },
    Rule {
        new: "opioid",
        present: "benzodiazepine",
        severity: Severity::Major,
        en: "Opioids with a benzodiazepine: profound sedation and respiratory depression",
        fr: "Opioïde et benzodiazépine : sédation profonde et dépression respiratoire",
    },
    Rule {
        new: "benzodiazepine",
        present: "opioid",
        severity: Severity::Major,
        en: "A benzodiazepine with an opioid: profound sedation and respiratory depression",
        fr: "Benzodiazépine et opioïde : sédation profonde et dépression respiratoire",
    },
    Rule {
        new: "benzodiazepine",
        present: "azole",
        severity: Severity::Major,
        en: "Azole antifungals raise benzodiazepine levels (prolonged sedation)",
        fr: "Les antifongiques azolés augmentent les taux de benzodiazépine (sédation prolongée)",
    },
    Rule {
        new: "benzodiazepine",
        present: "macrolide",
        severity: Severity::Moderate,
        en: "Macrolides raise benzodiazepine levels (prolonged sedation)",
        fr: "Les macrolides augmentent les taux de benzodiazépine (sédation prolongée)",
    },
    Rule {
        new: "azole",
        present: "benzodiazepine",
        severity: Severity::Major,
        en: "Azole antifungals raise benzodiazepine levels (prolonged sedation)",
        fr: "Les antifongiques azolés augmentent les taux de benzodiazépine (sédation prolongée)",
    },
    Rule {
        new: "macrolide",
        present: "benzodiazepine",
        severity: Severity::Moderate,
        en: "Macrolides raise benzodiazepine levels (prolonged sedation)",
        fr: "Les macrolides augmentent les taux de benzodiazépine (sédation prolongée)",
    },
];

/// Classes where a second drug of the same class is duplicate therapy.
const NO_DOUBLES: &[&str] = &["nsaid", "opioid", "benzodiazepine"];

/// Another active prescription of the patient, for the checks.
#[derive(Clone, Debug)]
pub struct OtherPrescription {
    pub medicine: String,
}

/// Everything the prescription is checked against.
pub fn check(
    medicine: &str,
    classes: &[String],
    history: &MedicalHistory,
    others: &[OtherPrescription],
) -> Vec<Warning> {
    let mut classes: Vec<&str> = classes.iter().map(String::as_str).collect();
    for c in classes_of(medicine) {
        if !classes.contains(&c) {
            classes.push(c);
        }
    }
    let med_words = words(medicine);
    let mut out: Vec<Warning> = Vec::new();
    let mut push = |w: Warning| {
        if !out
            .iter()
            .any(|o| o.code == w.code && o.subject == w.subject)
        {
            out.push(w);
        }
    };
    if history.allergies.is_empty() && !history.no_known_allergies {
        push(Warning {
            kind: "history".into(),
            code: "history:allergies_unknown".into(),
            severity: Severity::Moderate,
            subject: "allergies".into(),
            en: "No allergy information is recorded: ask the patient and record their allergies (or no known allergies) before prescribing".into(),
            fr: "Aucune information sur les allergies n'est enregistrée : interrogez le patient et notez ses allergies (ou l'absence d'allergie connue) avant de prescrire".into(),
        });
    }
    for a in &history.allergies {
        let subject = if a.reaction.is_empty() {
            a.substance.clone()
        } else {
            format!("{} ({})", a.substance, a.reaction)
        };
        let allergy_classes = classes_of(&a.substance);
        let shared: Vec<&str> = classes
            .iter()
            .copied()
            .filter(|c| allergy_classes.contains(c))
            .collect();
        // The substance named outright: "clindamycin" against "Clindamycin 300 mg".
        let named = words(&a.substance)
            .iter()
            .any(|w| w.len() >= 4 && med_words.iter().any(|m| m.starts_with(w.as_str())));
        if let Some(c) = shared.first() {
            push(Warning {
                kind: "allergy".into(),
                code: format!("allergy:{c}"),
                severity: Severity::Major,
                subject: subject.clone(),
                en: format!(
                    "Allergy: the patient is allergic to {} and {medicine} is a {}",
                    a.substance,
                    class_name(c, false)
                ),
                fr: format!(
                    "Allergie : le patient est allergique à {} et {medicine} est une {}",
                    a.substance,
                    class_name(c, true)
                ),
            });
        } else if named {
            push(Warning {
                kind: "allergy".into(),
                code: "allergy:substance".into(),
                severity: Severity::Major,
                subject: subject.clone(),
                en: format!("Allergy: the patient is allergic to {}", a.substance),
                fr: format!("Allergie : le patient est allergique à {}", a.substance),
            });
        } else if allergy_classes.contains(&"penicillin") && classes.contains(&"cephalosporin") {
            push(Warning {
                kind: "cross_reactivity".into(),
                code: "cross_reactivity:penicillin+cephalosporin".into(),
                severity: Severity::Moderate,
                subject: subject.clone(),
                en: format!(
                    "Possible cross-reactivity: the patient is allergic to {} and {medicine} is a cephalosporin",
                    a.substance
                ),
                fr: format!(
                    "Réaction croisée possible : le patient est allergique à {} et {medicine} est une céphalosporine",
                    a.substance
                ),
            });
        }
    }
    let mut taken: Vec<Taken> = history
        .medications
        .iter()
        .map(|m| Taken {
            subject: m.name.clone(),
            classes: classes_of(&m.name),
        })
        .collect();
    if history.flags.contains(&Flag::Anticoagulants)
        && !taken.iter().any(|t| t.classes.contains(&"anticoagulant"))
    {
        taken.push(Taken {
            subject: "anticoagulants".into(),
            classes: vec!["anticoagulant"],
        });
    }
    taken.extend(others.iter().map(|o| Taken {
        subject: o.medicine.clone(),
        classes: classes_of(&o.medicine),
    }));
    for t in &taken {
        for r in RULES {
            if classes.contains(&r.new) && t.classes.contains(&r.present) {
                push(Warning {
                    kind: "interaction".into(),
                    code: format!("interaction:{}+{}", r.new, r.present),
                    severity: r.severity,
                    subject: t.subject.clone(),
                    en: format!("Interaction with {}: {}", t.subject, r.en),
                    fr: format!("Interaction avec {} : {}", t.subject, r.fr),
                });
            }
        }
        for c in NO_DOUBLES {
            if classes.contains(c) && t.classes.contains(c) {
                push(Warning {
                    kind: "duplicate".into(),
                    code: format!("duplicate:{c}"),
                    severity: Severity::Moderate,
                    subject: t.subject.clone(),
                    en: format!(
                        "Duplicate therapy: the patient already takes {} (also a {})",
                        t.subject,
                        class_name(c, false)
                    ),
                    fr: format!(
                        "Double traitement : le patient prend déjà {} (aussi un {})",
                        t.subject,
                        class_name(c, true)
                    ),
                });
            }
        }
    }
    if history.flags.contains(&Flag::Pregnancy) {
        if classes.contains(&"tetracycline") {
            push(Warning {
                kind: "condition".into(),
                code: "condition:pregnancy+tetracycline".into(),
                severity: Severity::Major,
                subject: "pregnancy".into(),
                en: "Pregnancy: tetracyclines stain the child's teeth and are contraindicated".into(),
                fr: "Grossesse : les tétracyclines colorent les dents de l'enfant et sont contre-indiquées".into(),
            });
        }
        if classes.contains(&"nsaid") {
            push(Warning {
                kind: "condition".into(),
                code: "condition:pregnancy+nsaid".into(),
                severity: Severity::Major,
                subject: "pregnancy".into(),
                en: "Pregnancy: NSAIDs are to be avoided (contraindicated from 20 weeks)".into(),
                fr: "Grossesse : les AINS sont à éviter (contre-indiqués à partir de 20 semaines)"
                    .into(),
            });
        }
    }
    out.sort_by_key(|w| std::cmp::Reverse(w.severity));
    out
}

/// Routes of administration.
pub const ROUTES: &[&str] = &[
    "oral",
    "sublingual",
    "topical",
    "oral_rinse",
    "intramuscular",
    "intravenous",
];

/// Longest duration, in days, and most refills.
pub const MAX_DAYS: u32 = 365;
pub const MAX_REFILLS: u32 = 11;
pub const MAX_QUANTITY: u32 = 9_999;

/// A medicine of the organization's catalog.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Medicine {
    /// Generic name, e.g. "Amoxicillin".
    pub name: String,
    /// e.g. "500 mg".
    pub strength: String,
    /// e.g. "capsule".
    pub form: String,
    /// One of [`ROUTES`].
    pub route: String,
    /// e.g. "1 capsule".
    pub dose: String,
    /// e.g. "every 8 hours".
    pub frequency: String,
    pub duration_days: u32,
    pub quantity: u32,
    /// Default directions for the patient.
    pub directions: String,
    /// Class codes ([`CLASSES`]); the ones recognised in the name are added.
    pub classes: Vec<String>,
    /// A controlled substance (opioids, benzodiazepines): printed as such.
    pub controlled: bool,
}

fn field(errors: &mut Vec<FieldError>, name: &str, message: impl Into<String>) {
    errors.push(FieldError {
        field: name.into(),
        message: message.into(),
    });
}

fn clean(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn long(errors: &mut Vec<FieldError>, name: &str, v: &str, max: usize) {
    if v.chars().count() > max {
        field(errors, name, format!("at most {max} characters"));
    }
}

impl Medicine {
    /// Trimmed, classes completed from the name, or every problem at once.
    pub fn normalized(&self) -> Result<Medicine, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut m = Medicine {
            name: clean(&self.name),
            strength: clean(&self.strength),
            form: clean(&self.form),
            route: self.route.trim().to_lowercase(),
            dose: clean(&self.dose),
            frequency: clean(&self.frequency),
            duration_days: self.duration_days,
            quantity: self.quantity,
            directions: self.directions.trim().replace("\r\n", "\n"),
            classes: Vec::new(),
            controlled: self.controlled,
        };
        if m.name.is_empty() {
            field(&mut errors, "name", "is required");
        }
        long(&mut errors, "name", &m.name, 120);
        long(&mut errors, "strength", &m.strength, 60);
        long(&mut errors, "form", &m.form, 60);
        long(&mut errors, "dose", &m.dose, 120);
        long(&mut errors, "frequency", &m.frequency, 120);
        long(&mut errors, "directions", &m.directions, 1000);
        if m.route.is_empty() {
            m.route = "oral".into();
        }
        if !ROUTES.contains(&m.route.as_str()) {
            field(
                &mut errors,
                "route",
                format!("one of {}", ROUTES.join(", ")),
            );
        }
        if m.duration_days > MAX_DAYS {
            field(
                &mut errors,
                "duration_days",
                format!("at most {MAX_DAYS} days"),
            );
        }
        if m.quantity > MAX_QUANTITY {
            field(&mut errors, "quantity", format!("at most {MAX_QUANTITY}"));
        }
        for c in &self.classes {
            let c = c.trim().to_lowercase();
            if c.is_empty() {
                continue;
            }
            if class(&c).is_none() {
                field(&mut errors, "classes", format!("unknown class {c}"));
            } else if !m.classes.contains(&c) {
                m.classes.push(c);
            }
        }
        for c in classes_of(&m.name) {
            if !m.classes.iter().any(|x| x == c) {
                m.classes.push(c.to_string());
            }
        }
        if errors.is_empty() {
            Ok(m)
        } else {
            Err(errors)
        }
    }

    /// "Amoxicillin 500 mg capsule".
    pub fn label(&self) -> String {
        [
            self.name.as_str(),
            self.strength.as_str(),
            self.form.as_str(),
        ]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
    }
}

/// What the prescriber writes (the medicine's defaults, changed as needed).
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Order {
    pub dose: String,
    pub route: String,
    pub frequency: String,
    pub duration_days: u32,
    pub quantity: u32,
    pub refills: u32,
    pub instructions: String,
}

impl Order {
    pub fn normalized(&self) -> Result<Order, Vec<FieldError>> {
        let mut errors = Vec::new();
        let o = Order {
            dose: clean(&self.dose),
            route: self.route.trim().to_lowercase(),
            frequency: clean(&self.frequency),
            duration_days: self.duration_days,
            quantity: self.quantity,
            refills: self.refills,
            instructions: self.instructions.trim().replace("\r\n", "\n"),
        };
        if o.dose.is_empty() {
            field(&mut errors, "dose", "is required");
        }
        if o.frequency.is_empty() {
            field(&mut errors, "frequency", "is required");
        }
        long(&mut errors, "dose", &o.dose, 120);
        long(&mut errors, "frequency", &o.frequency, 120);
        long(&mut errors, "instructions", &o.instructions, 1000);
        if !ROUTES.contains(&o.route.as_str()) {
            field(
                &mut errors,
                "route",
                format!("one of {}", ROUTES.join(", ")),
            );
        }
        if o.duration_days == 0 || o.duration_days > MAX_DAYS {
            field(
                &mut errors,
                "duration_days",
                format!("from 1 to {MAX_DAYS} days"),
            );
        }
        if o.quantity == 0 || o.quantity > MAX_QUANTITY {
            field(&mut errors, "quantity", format!("from 1 to {MAX_QUANTITY}"));
        }
        if o.refills > MAX_REFILLS {
            field(&mut errors, "refills", format!("at most {MAX_REFILLS}"));
        }
        if errors.is_empty() {
            Ok(o)
        } else {
            Err(errors)
        }
    }
}

/// The reason given to go ahead despite warnings: required when there are any.
pub fn check_override(warnings: &[Warning], reason: &str) -> Result<String, FieldError> {
    let reason = clean(reason);
    if warnings.is_empty() {
        return Ok(reason);
    }
    if reason.chars().count() < 5 {
        return Err(FieldError {
            field: "override_reason".into(),
            message: "the warnings need a reason to go ahead (at least 5 characters)".into(),
        });
    }
    if reason.chars().count() > 500 {
        return Err(FieldError {
            field: "override_reason".into(),
            message: "at most 500 characters".into(),
        });
    }
    Ok(reason)
}

/// A number written out, as prescriptions write quantities (so "21" cannot become "71").
pub fn in_words(n: u32, locale: &str) -> String {
    if locale.starts_with("fr") {
        fr_words(n)
    } else {
        en_words(n)
    }
}

const EN_SMALL: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const EN_TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

fn en_words(n: u32) -> String {
    match n {
        0..=19 => EN_SMALL[n as usize].into(),
        20..=99 => {
            let t = EN_TENS[(n / 10) as usize];
            if n.is_multiple_of(10) {
                t.into()
            } else {
                format!("{t}-{}", EN_SMALL[(n % 10) as usize])
            }
        }
        100..=999 => {
            let rest = n % 100;
            let h = format!("{} hundred", EN_SMALL[(n / 100) as usize]);
            if rest == 0 {
                h
            } else {
                format!("{h} {}", en_words(rest))
            }
        }
        _ => {
            let rest = n % 1000;
            let th = format!("{} thousand", en_words(n / 1000));
            if rest == 0 {
                th
            } else {
                format!("{th} {}", en_words(rest))
            }
        }
    }
}

const FR_SMALL: [&str; 17] = [
    "zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze",
    "douze", "treize", "quatorze", "quinze", "seize",
];

fn fr_words(n: u32) -> String {
    match n {
        0..=16 => FR_SMALL[n as usize].into(),
        17..=19 => format!("dix-{}", FR_SMALL[(n - 10) as usize]),
        20..=69 => {
            let t = [
                "",
                "",
                "vingt",
                "trente",
                "quarante",
                "cinquante",
                "soixante",
            ][(n / 10) as usize];
            match n % 10 {
                0 => t.into(),
                1 => format!("{t} et un"),
                u => format!("{t}-{}", FR_SMALL[u as usize]),
            }
        }
        70..=79 => {
            if n == 71 {
                "soixante et onze".into()
            } else {
                format!("soixante-{}", fr_words(n - 60))
            }
        }
        80 => "quatre-vingts".into(),
        81..=99 => format!("quatre-vingt-{}", fr_words(n - 80)),
        100..=999 => {
            let (h, rest) = (n / 100, n % 100);
            let head = if h == 1 {
                "cent".to_string()
            } else if rest == 0 {
                format!("{} cents", FR_SMALL[h as usize])
            } else {
                format!("{} cent", FR_SMALL[h as usize])
            };
            if rest == 0 {
                head
            } else {
                format!("{head} {}", fr_words(rest))
            }
        }
        _ => {
            let (th, rest) = (n / 1000, n % 1000);
            let head = if th == 1 {
                "mille".to_string()
            } else {
                format!("{} mille", fr_words(th))
            };
            if rest == 0 {
                head
            } else {
                format!("{head} {}", fr_words(rest))
            }
        }
    }
}

/// A medicine of the starter catalog, in both languages.
pub struct Starter {
    pub name: [&'static str; 2],
    pub strength: &'static str,
    pub form: [&'static str; 2],
    pub route: &'static str,
    pub dose: [&'static str; 2],
    pub frequency: [&'static str; 2],
    pub duration_days: u32,
    pub quantity: u32,
    pub directions: [&'static str; 2],
    pub controlled: bool,
}

impl Starter {
    pub fn medicine(&self, locale: &str) -> Medicine {
        let i = usize::from(locale.starts_with("fr"));
        Medicine {
            name: self.name[i].into(),
            strength: self.strength.into(),
            form: self.form[i].into(),
            route: self.route.into(),
            dose: self.dose[i].into(),
            frequency: self.frequency[i].into(),
            duration_days: self.duration_days,
            quantity: self.quantity,
            directions: self.directions[i].into(),
            classes: Vec::new(),
            controlled: self.controlled,
        }
    }
}

/// The starter catalog: what a general dentist commonly prescribes. The defaults are usual
/// adult doses to be checked by the prescriber, not a formulary.
pub static STARTER: &[Starter] = &[
    Starter {
        name: ["Amoxicillin", "Amoxicilline"],
        strength: "500 mg",
        form: ["capsule", "gélule"],
        route: "oral",
        dose: ["1 capsule", "1 gélule"],
        frequency: ["every 8 hours", "toutes les 8 heures"],
        duration_days: 7,
        quantity: 21,
        directions: [
            "Take until finished, even if you feel better.",
            "À prendre jusqu'à la fin, même en cas d'amélioration.",
        ],
        controlled: false,
    },
    Starter {
        name: [
            "Amoxicillin (prophylaxis)",
            "Amoxicilline (antibioprophylaxie)",
        ],
        strength: "500 mg",
        form: ["capsule", "gélule"],
        route: "oral",
        dose: ["4 capsules (2 g)", "4 gélules (2 g)"],
        frequency: [
            "once, 30 to 60 minutes before the procedure",
            "une fois, 30 à 60 minutes avant le soin",
        ],
        duration_days: 1,
        quantity: 4,
        directions: [
            "Take all four capsules together before your appointment.",
            "Prendre les quatre gélules ensemble avant le rendez-vous.",
        ],
        controlled: false,
    },
    Starter {
        name: [
            "Amoxicillin and clavulanic acid",
            "Amoxicilline et acide clavulanique",
        ],
        strength: "875 mg / 125 mg",
        form: ["tablet", "comprimé"],
        route: "oral",
        dose: ["1 tablet", "1 comprimé"],
        frequency: [
            "every 12 hours, with food",
            "toutes les 12 heures, au cours du repas",
        ],
        duration_days: 7,
        quantity: 14,
        directions: [
            "Take until finished.",
            "À prendre jusqu'à la fin du traitement.",
        ],
        controlled: false,
    },
    Starter {
        name: ["Penicillin V potassium", "Phénoxyméthylpénicilline"],
        strength: "500 mg",
        form: ["tablet", "comprimé"],
        route: "oral",
        dose: ["1 tablet", "1 comprimé"],
        frequency: ["every 6 hours", "toutes les 6 heures"],
        duration_days: 7,
        quantity: 28,
        directions: [
            "Take on an empty stomach, until finished.",
            "À prendre à jeun, jusqu'à la fin du traitement.",
        ],
        controlled: false,
    },
    Starter {
        name: ["Clindamycin", "Clindamycine"],
        strength: "300 mg",
        form: ["capsule", "gélule"],
        route: "oral",
        dose: ["1 capsule", "1 gélule"],
        frequency: ["every 8 hours", "toutes les 8 heures"],
        duration_days: 7,
        quantity: 21,
        directions: [
            "Take with a full glass of water. Stop and call us if diarrhoea develops.",
            "Prendre avec un grand verre d'eau. Arrêter et nous appeler en cas de diarrhée.",
        ],
        controlled: false,
    },
    Starter {
        name: ["Azithromycin", "Azithromycine"],
        strength: "250 mg",
        form: ["tablet", "comprimé"],
        route: "oral",
        dose: [
            "2 tablets on day 1, then 1 tablet",
            "2 comprimés le 1er jour, puis 1 comprimé",
        ],
        frequency: ["once a day", "une fois par jour"],
        duration_days: 5,
        quantity: 6,
        directions: ["", ""],
        controlled: false,
    },
    Starter {
        name: ["Cephalexin", "Céfalexine"],
        strength: "500 mg",
        form: ["capsule", "gélule"],
        route: "oral",
        dose: ["1 capsule", "1 gélule"],
        frequency: ["every 6 hours", "toutes les 6 heures"],
        duration_days: 7,
        quantity: 28,
        directions: [
            "Take until finished.",
            "À prendre jusqu'à la fin du traitement.",
        ],
        controlled: false,
    },
    Starter {
        name: ["Metronidazole", "Métronidazole"],
        strength: "500 mg",
        form: ["tablet", "comprimé"],
        route: "oral",
        dose: ["1 tablet", "1 comprimé"],
        frequency: ["every 8 hours", "toutes les 8 heures"],
        duration_days: 7,
        quantity: 21,
        directions: [
            "No alcohol during the treatment and for 2 days after.",
            "Pas d'alcool pendant le traitement et 2 jours après.",
        ],
        controlled: false,
    },
    Starter {
        name: ["Doxycycline", "Doxycycline"],
        strength: "100 mg",
        form: ["tablet", "comprimé"],
        route: "oral",
        dose: ["1 tablet", "1 comprimé"],
        frequency: ["every 12 hours", "toutes les 12 heures"],
        duration_days: 7,
        quantity: 14,
        directions: [
            "Take with a full glass of water, sitting up. Avoid strong sunlight.",
            "Prendre avec un grand verre d'eau, en position assise. Éviter le soleil.",
        ],
        controlled: false,
    },
    Starter {
        name: ["Ibuprofen", "Ibuprofène"],
        strength: "400 mg",
        form: ["tablet", "comprimé"],
        route: "oral",
        dose: ["1 tablet", "1 comprimé"],
        frequency: [
            "every 6 hours as needed for pain, with food",
            "toutes les 6 heures si douleur, au cours du repas",
        ],
        duration_days: 5,
        quantity: 20,
        directions: [
            "No more than 4 tablets in 24 hours.",
            "Pas plus de 4 comprimés par 24 heures.",
        ],
        controlled: false,
    },
    Starter {
        name: ["Naproxen", "Naproxène"],
        strength: "500 mg",
        form: ["tablet", "comprimé"],
        route: "oral",
        dose: ["1 tablet", "1 comprimé"],
        frequency: [
            "every 12 hours as needed for pain, with food",
            "toutes les 12 heures si douleur, au cours du repas",
        ],
        duration_days: 5,
        quantity: 10,
        directions: ["", ""],
        controlled: false,
    },
    Starter {
        name: ["Acetaminophen", "Paracétamol"],
        strength: "500 mg",
        form: ["tablet", "comprimé"],
        route: "oral",
        dose: ["2 tablets", "2 comprimés"],
        frequency: [
            "every 6 hours as needed for pain",
            "toutes les 6 heures si douleur",
        ],
        duration_days: 5,
        quantity: 40,
        directions: [
            "No more than 8 tablets (4 g) in 24 hours.",
            "Pas plus de 8 comprimés (4 g) par 24 heures.",
        ],
        controlled: false,
    },
    Starter {
        name: ["Acetaminophen and codeine", "Paracétamol et codéine"],
        strength: "300 mg / 30 mg",
        form: ["tablet", "comprimé"],
        route: "oral",
        dose: ["1 to 2 tablets", "1 à 2 comprimés"],
        frequency: [
            "every 6 hours as needed for severe pain",
            "toutes les 6 heures si douleur intense",
        ],
        duration_days: 3,
        quantity: 12,
        directions: [
            "May cause drowsiness: do not drive. No alcohol.",
            "Peut provoquer une somnolence : ne pas conduire. Pas d'alcool.",
        ],
        controlled: true,
    },
    Starter {
        name: ["Chlorhexidine gluconate", "Digluconate de chlorhexidine"],
        strength: "0.12 %",
        form: [
            "oral rinse, 473 mL bottle",
            "bain de bouche, flacon de 473 mL",
        ],
        route: "oral_rinse",
        dose: ["15 mL", "15 mL"],
        frequency: [
            "rinse for 30 seconds twice a day, after brushing",
            "rincer 30 secondes deux fois par jour, après le brossage",
        ],
        duration_days: 14,
        quantity: 1,
        directions: [
            "Do not swallow. Do not eat or drink for 30 minutes after.",
            "Ne pas avaler. Ne pas manger ni boire dans les 30 minutes.",
        ],
        controlled: false,
    },
    Starter {
        name: ["Fluconazole", "Fluconazole"],
        strength: "100 mg",
        form: ["tablet", "comprimé"],
        route: "oral",
        dose: [
            "2 tablets on day 1, then 1 tablet",
            "2 comprimés le 1er jour, puis 1 comprimé",
        ],
        frequency: ["once a day", "une fois par jour"],
        duration_days: 7,
        quantity: 8,
        directions: ["", ""],
        controlled: false,
    },
    Starter {
        name: ["Nystatin", "Nystatine"],
        strength: "100,000 units/mL",
        form: ["oral suspension", "suspension buvable"],
        route: "oral",
        dose: ["5 mL", "5 mL"],
        frequency: [
            "four times a day; hold in the mouth before swallowing",
            "quatre fois par jour ; garder en bouche avant d'avaler",
        ],
        duration_days: 7,
        quantity: 1,
        directions: ["", ""],
        controlled: false,
    },
    Starter {
        name: ["Sodium fluoride", "Fluorure de sodium"],
        strength: "1.1 % (5,000 ppm)",
        form: ["toothpaste", "dentifrice"],
        route: "topical",
        dose: ["a thin ribbon", "un mince ruban"],
        frequency: [
            "brush at bedtime; spit, do not rinse",
            "brosser au coucher ; cracher sans rincer",
        ],
        duration_days: 90,
        quantity: 1,
        directions: ["", ""],
        controlled: false,
    },
    Starter {
        name: ["Triamcinolone acetonide", "Triamcinolone acétonide"],
        strength: "0.1 %",
        form: ["dental paste", "pâte dentaire"],
        route: "topical",
        dose: [
            "a small amount on the sore",
            "une petite quantité sur la lésion",
        ],
        frequency: [
            "2 to 3 times a day, after meals",
            "2 à 3 fois par jour, après les repas",
        ],
        duration_days: 7,
        quantity: 1,
        directions: ["", ""],
        controlled: false,
    },
    Starter {
        name: ["Triazolam", "Triazolam"],
        strength: "0.25 mg",
        form: ["tablet", "comprimé"],
        route: "sublingual",
        dose: ["1 tablet", "1 comprimé"],
        frequency: [
            "once, 1 hour before the appointment",
            "une fois, 1 heure avant le rendez-vous",
        ],
        duration_days: 1,
        quantity: 1,
        directions: [
            "Someone must drive you to and from the appointment.",
            "Une personne doit vous accompagner et vous raccompagner.",
        ],
        controlled: true,
    },
    Starter {
        name: ["Diazepam", "Diazépam"],
        strength: "5 mg",
        form: ["tablet", "comprimé"],
        route: "oral",
        dose: ["1 tablet", "1 comprimé"],
        frequency: [
            "the night before and 1 hour before the appointment",
            "la veille au soir et 1 heure avant le rendez-vous",
        ],
        duration_days: 2,
        quantity: 2,
        directions: [
            "Do not drive. Someone must accompany you.",
            "Ne pas conduire. Une personne doit vous accompagner.",
        ],
        controlled: true,
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patients::history::{Allergy, Medication};

    fn history(allergies: &[&str], meds: &[&str], flags: &[Flag]) -> MedicalHistory {
        MedicalHistory {
            allergies: allergies
                .iter()
                .map(|a| Allergy {
                    substance: a.to_string(),
                    reaction: "hives".into(),
                    severity: "severe".into(),
                })
                .collect(),
            medications: meds
                .iter()
                .map(|m| Medication {
                    name: m.to_string(),
                    ..Default::default()
                })
                .collect(),
            flags: flags.to_vec(),
            no_known_allergies: allergies.is_empty(),
            ..Default::default()
        }
    }

    #[test]
    fn allergies_never_asked_are_a_warning_of_their_own() {
        let unknown = MedicalHistory::default();
        let w = check("Ibuprofen", &[], &unknown, &[]);
        assert_eq!(w.len(), 1);
        assert_eq!(
            (w[0].kind.as_str(), w[0].severity),
            ("history", Severity::Moderate)
        );
        assert!(check("Ibuprofen", &[], &history(&[], &[], &[]), &[]).is_empty());
    }

    #[test]
    fn classes_are_recognised_in_both_languages() {
        assert_eq!(classes_of("Amoxicillin 500 mg"), vec!["penicillin"]);
        assert_eq!(classes_of("Pénicilline"), vec!["penicillin"]);
        assert!(classes_of("Ibuprofène").contains(&"nsaid"));
        let w = classes_of("warfarin 5 mg");
        assert!(w.contains(&"anticoagulant") && w.contains(&"vitamin_k_antagonist"));
        assert!(classes_of("Acetaminophen").is_empty());
        assert_eq!(classes_of("Paracétamol et codéine"), vec!["opioid"]);
        assert_eq!(classes_of("sulfa drugs"), vec!["sulfonamide"]);
        assert_eq!(classes_of("morphine sulfate"), vec!["opioid"]);
    }

    #[test]
    fn amoxicillin_for_a_penicillin_allergy_is_a_major_warning() {
        let w = check("Amoxicillin", &[], &history(&["Penicillin"], &[], &[]), &[]);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].code, "allergy:penicillin");
        assert_eq!(w[0].severity, Severity::Major);
        assert!(w[0].en.contains("penicillin"), "{}", w[0].en);
        assert!(w[0].fr.starts_with("Allergie"));
        assert!(check("Clindamycin", &[], &history(&["Penicillin"], &[], &[]), &[]).is_empty());
    }

    #[test]
    fn cephalosporins_warn_of_cross_reactivity_with_penicillin() {
        let w = check("Cephalexin", &[], &history(&["penicillins"], &[], &[]), &[]);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].kind, "cross_reactivity");
        assert_eq!(w[0].severity, Severity::Moderate);
    }

    #[test]
    fn a_named_substance_warns_even_without_a_class() {
        let w = check(
            "Chlorhexidine gluconate",
            &[],
            &history(&["chlorhexidine"], &[], &[]),
            &[],
        );
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].code, "allergy:substance");
    }

    #[test]
    fn nsaids_with_anticoagulants_by_medication_or_flag() {
        let by_med = check(
            "Ibuprofen",
            &[],
            &history(&[], &["Apixaban 5 mg"], &[]),
            &[],
        );
        assert_eq!(by_med.len(), 1);
        assert_eq!(by_med[0].code, "interaction:nsaid+anticoagulant");
        assert_eq!(by_med[0].subject, "Apixaban 5 mg");
        let by_flag = check(
            "Naproxen",
            &[],
            &history(&[], &[], &[Flag::Anticoagulants]),
            &[],
        );
        assert_eq!(by_flag.len(), 1);
        assert_eq!(by_flag[0].severity, Severity::Major);
        assert!(
            check(
                "Acetaminophen",
                &[],
                &history(&[], &["warfarin"], &[Flag::Anticoagulants]),
                &[]
            )
            .is_empty()
        );
    }

    #[test]
    fn metronidazole_with_warfarin_and_duplicates_and_other_prescriptions() {
        let w = check("Metronidazole", &[], &history(&[], &["Coumadin"], &[]), &[]);
        assert_eq!(w[0].code, "interaction:nitroimidazole+vitamin_k_antagonist");
        let dup = check(
            "Naproxen",
            &[],
            &history(&[], &[], &[]),
            &[OtherPrescription {
                medicine: "Ibuprofen 400 mg tablet".into(),
            }],
        );
        assert_eq!(dup.len(), 1);
        assert_eq!(dup[0].code, "duplicate:nsaid");
        let resp = check(
            "Acetaminophen and codeine",
            &[],
            &history(&[], &["Lorazepam"], &[]),
            &[],
        );
        assert_eq!(resp[0].code, "interaction:opioid+benzodiazepine");
    }

    #[test]
    fn pregnancy_flags_tetracyclines_and_nsaids() {
        let w = check(
            "Doxycycline",
            &[],
            &history(&[], &[], &[Flag::Pregnancy]),
            &[],
        );
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].code, "condition:pregnancy+tetracycline");
    }

    #[test]
    fn overriding_needs_a_reason_only_when_warned() {
        let w = check("Amoxicillin", &[], &history(&["penicillin"], &[], &[]), &[]);
        assert!(check_override(&w, "").is_err());
        assert!(check_override(&w, "  ok ").is_err());
        assert_eq!(
            check_override(&w, " Allergy was  a rash in childhood; tested negative ")
                .as_deref()
                .ok(),
            Some("Allergy was a rash in childhood; tested negative")
        );
        assert_eq!(check_override(&[], "").as_deref().ok(), Some(""));
    }

    #[test]
    fn orders_and_medicines_are_checked() {
        let bad = Order {
            dose: " ".into(),
            route: "nasal".into(),
            frequency: "daily".into(),
            duration_days: 0,
            quantity: 0,
            refills: 12,
            instructions: String::new(),
        }
        .normalized()
        .err()
        .unwrap_or_default();
        let fields: Vec<&str> = bad.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["dose", "route", "duration_days", "quantity", "refills"]
        );
        let m = Medicine {
            name: " Ibuprofen ".into(),
            classes: vec!["analgesic".into()],
            ..Default::default()
        };
        assert_eq!(m.normalized().err().map(|e| e.len()), Some(1));
        let m = Medicine {
            name: "Ibuprofen".into(),
            ..Default::default()
        }
        .normalized()
        .ok()
        .unwrap_or_default();
        assert_eq!(m.classes, ["nsaid"]);
        assert_eq!(m.route, "oral");
    }

    #[test]
    fn every_starter_medicine_is_valid_in_both_languages() {
        for s in STARTER {
            for l in ["en", "fr"] {
                let m = s.medicine(l).normalized();
                assert!(m.is_ok(), "{} {l}: {m:?}", s.name[0]);
                let m = m.ok().unwrap_or_default();
                assert!(
                    Order {
                        dose: m.dose.clone(),
                        route: m.route.clone(),
                        frequency: m.frequency.clone(),
                        duration_days: m.duration_days,
                        quantity: m.quantity,
                        refills: 0,
                        instructions: m.directions.clone(),
                    }
                    .normalized()
                    .is_ok(),
                    "{}",
                    s.name[0]
                );
            }
        }
        // Controlled substances are the opioids and benzodiazepines.
        for s in STARTER {
            let c = s
                .medicine("en")
                .normalized()
                .ok()
                .unwrap_or_default()
                .classes;
            assert_eq!(
                s.controlled,
                c.iter().any(|c| c == "opioid" || c == "benzodiazepine"),
                "{}",
                s.name[0]
            );
        }
    }

    #[test]
    fn quantities_in_words() {
        let en = [
            (0, "zero"),
            (7, "seven"),
            (21, "twenty-one"),
            (40, "forty"),
            (115, "one hundred fifteen"),
            (2000, "two thousand"),
        ];
        for (n, w) in en {
            assert_eq!(in_words(n, "en"), w);
        }
        let fr = [
            (1, "un"),
            (17, "dix-sept"),
            (21, "vingt et un"),
            (28, "vingt-huit"),
            (71, "soixante et onze"),
            (72, "soixante-douze"),
            (80, "quatre-vingts"),
            (91, "quatre-vingt-onze"),
            (100, "cent"),
            (200, "deux cents"),
            (250, "deux cent cinquante"),
            (1000, "mille"),
        ];
        for (n, w) in fr {
            assert_eq!(in_words(n, "fr"), w);
        }
    }
}
