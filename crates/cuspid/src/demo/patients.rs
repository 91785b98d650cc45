//! The demo's patients: about 500 people in families of one to five, at the two clinics
//! (Burlington: mostly English names, 802 numbers; Montréal: mostly French names with their
//! accents, 514 numbers, language `fr`), aged 2 to 95. About a third have a medical history
//! (allergies, medications, ICD-10-CM conditions, flags), some reviewed with the patient and
//! some not. A few families have a guarantor who is not a patient, a handful of records are
//! inactive or archived, and three records are near-duplicates of others (the same birth date,
//! a misspelled name) so the duplicate warning has something to show.
//!
//! Everything goes through the store's registration path (`Txn::insert_patient`, validated and
//! audited), one transaction per family with its histories.

use domain::patients::history::{Allergy, Condition, Flag, MedicalHistory, Medication};
use domain::patients::icd10;
use domain::patients::search::name_key;
use domain::patients::{EmergencyContact, PatientInput, PatientStatus, Phone};
use domain::{Address, LocationId, PatientId};
use futures::future::BoxFuture;
use jiff::civil::Date;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use store::crypto::FieldCipher;
use store::patients::{Actor, FamilyChoice, NewPatient, NonPatientGuarantor};

use super::DemoCtx;
use crate::names::{Culture, Zipf, nickname};

/// About this many patients (families are added until it is reached).
const TARGET: usize = 497;

struct Clinic {
    id: LocationId,
    /// Most patients' culture, and the other one.
    main: Culture,
    other: Culture,
    /// Share of patients of the other culture.
    other_share: f64,
    /// How phone numbers are typed at the front desk, `{}` the last four digits.
    phone: fn(u32) -> String,
    mobile: fn(u32) -> String,
    streets: &'static [&'static str],
    /// (city, region, postal code prefix)
    towns: &'static [(&'static str, &'static str, &'static str)],
    country: &'static str,
    today: Date,
    calling_code: &'static str,
}

const BURLINGTON_STREETS: &[&str] = &[
    "North Avenue",
    "Pearl Street",
    "Church Street",
    "Shelburne Road",
    "Colchester Avenue",
    "Pine Street",
    "Flynn Avenue",
    "South Willard Street",
    "Loomis Street",
    "North Winooski Avenue",
    "College Street",
    "Main Street",
    "Ethan Allen Parkway",
    "Dorset Street",
    "Hinesburg Road",
];

const BURLINGTON_TOWNS: &[(&str, &str, &str)] = &[
    ("Burlington", "VT", "05401"),
    ("Burlington", "VT", "05408"),
    ("South Burlington", "VT", "05403"),
    ("Winooski", "VT", "05404"),
    ("Essex Junction", "VT", "05452"),
    ("Colchester", "VT", "05446"),
    ("Shelburne", "VT", "05482"),
    ("Williston", "VT", "05495"),
];

const MONTREAL_STREETS: &[&str] = &[
    "rue Saint-Denis",
    "avenue du Mont-Royal Est",
    "rue Rachel Est",
    "boulevard Saint-Laurent",
    "avenue Laurier Ouest",
    "rue Sherbrooke Est",
    "rue Fleury Ouest",
    "avenue Papineau",
    "rue Beaubien Est",
    "rue Ontario Est",
    "rue Wellington",
    "avenue Van Horne",
    "chemin de la Côte-des-Neiges",
    "rue Jean-Talon Est",
    "avenue de l'Esplanade",
];

const MONTREAL_TOWNS: &[(&str, &str, &str)] = &[
    ("Montréal", "QC", "H2J"),
    ("Montréal", "QC", "H2T"),
    ("Montréal", "QC", "H2S"),
    ("Montréal", "QC", "H1X"),
    ("Montréal", "QC", "H3S"),
    ("Montréal", "QC", "H4C"),
    ("Laval", "QC", "H7N"),
    ("Longueuil", "QC", "J4K"),
];

const EMAIL_DOMAINS: &[&str] = &["example.com", "example.net", "example.org"];

/// One person of a demo family, before registration.
#[derive(Clone)]
struct Person {
    given: String,
    family: String,
    middle: String,
    preferred: String,
    female: bool,
    age: i16,
    culture: Culture,
    /// The last four digits of a mobile number.
    mobile: Option<u32>,
    email: String,
}

/// What the near-duplicates are made from.
struct Registered {
    person: Person,
    birth_date: String,
    clinic: usize,
}

fn pick<'a>(rng: &mut StdRng, list: &'a [&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

fn birth_date(rng: &mut StdRng, today: Date, age: i16) -> String {
    let year = today.year() - age;
    let month: i8 = rng.random_range(1..=12);
    let day: i8 = rng.random_range(1..=28);
    Date::new(year, month, day)
        .unwrap_or(today)
        .min(today)
        .to_string()
}

fn email_for(rng: &mut StdRng, given: &str, family: &str) -> String {
    let domain = pick(rng, EMAIL_DOMAINS);
    match rng.random_range(0..4) {
        0 => format!(
            "{}{}@{domain}",
            name_key(given).chars().next().unwrap_or('x'),
            name_key(family)
        ),
        1 => format!(
            "{}.{}{}@{domain}",
            name_key(given),
            name_key(family),
            rng.random_range(1..99)
        ),
        _ => format!("{}.{}@{domain}", name_key(given), name_key(family)),
    }
}

struct Names {
    en: Zipf,
    fr: Zipf,
}

impl Names {
    fn family(&self, rng: &mut StdRng, c: Culture) -> String {
        let z = match c {
            Culture::English => &self.en,
            Culture::French => &self.fr,
        };
        c.families()[z.index(rng)].to_string()
    }

    fn person(&self, rng: &mut StdRng, c: Culture, family: &str, female: bool, age: i16) -> Person {
        let given = pick(rng, c.given(female)).to_string();
        let middle = match c {
            Culture::English if age >= 18 && rng.random_bool(0.3) => {
                pick(rng, c.given(female)).chars().take(1).collect()
            }
            Culture::French if female && rng.random_bool(0.2) && given != "Marie" => {
                "Marie".to_string()
            }
            _ => String::new(),
        };
        let preferred = match nickname(&given) {
            Some(n) if rng.random_bool(0.5) => n.to_string(),
            _ => String::new(),
        };
        let has_mobile = age >= 18 || (age >= 13 && rng.random_bool(0.6));
        let mobile = has_mobile.then(|| rng.random_range(100..10_000));
        let email = if age >= 16 && rng.random_bool(0.85) {
            email_for(rng, &given, family)
        } else {
            String::new()
        };
        Person {
            given,
            family: family.to_string(),
            middle,
            preferred,
            female,
            age,
            culture: c,
            mobile,
            email,
        }
    }
}

/// A history for about a third of the patients, likelier with age.
fn history_for(rng: &mut StdRng, p: &Person) -> Option<MedicalHistory> {
    let chance = match p.age {
        0..=17 => 0.12,
        18..=49 => 0.3,
        50..=69 => 0.5,
        _ => 0.7,
    };
    if !rng.random_bool(chance) {
        return None;
    }
    let fr = p.culture == Culture::French;
    let t = |en: &str, frt: &str| if fr { frt } else { en }.to_string();
    let mut h = MedicalHistory::default();
    let allergy = |substance: &str, reaction: String, severity: &str| Allergy {
        substance: substance.into(),
        reaction,
        severity: severity.into(),
    };
    match rng.random_range(0..10) {
        0 | 1 => h.allergies.push(allergy(
            &t("Penicillin", "Pénicilline"),
            t("Hives", "Urticaire"),
            "moderate",
        )),
        2 => h.allergies.push(allergy(
            &t("Penicillin", "Pénicilline"),
            t("Anaphylaxis", "Anaphylaxie"),
            "life_threatening",
        )),
        3 => {
            h.allergies.push(allergy(
                "Latex",
                t("Contact dermatitis", "Dermatite de contact"),
                "moderate",
            ));
            h.flags.push(Flag::LatexAllergy);
        }
        4 => h.allergies.push(allergy(
            "Codeine",
            t("Nausea and vomiting", "Nausées et vomissements"),
            "mild",
        )),
        5 => h.allergies.push(allergy(
            &t("Sulfa drugs", "Sulfamides"),
            t("Rash", "Éruption cutanée"),
            "mild",
        )),
        _ => h.no_known_allergies = rng.random_bool(0.6),
    }
    let add = |h: &mut MedicalHistory, code: &str, med: Option<(&str, &str, &str)>| {
        if let Some(k) = icd10::lookup(code) {
            h.conditions.push(Condition {
                code: k.code.into(),
                text: if fr { k.fr } else { k.en }.into(),
            });
        }
        if let Some((name, dose, frequency)) = med {
            h.medications.push(Medication {
                name: name.into(),
                dose: dose.into(),
                frequency: t(frequency, &french_frequency(frequency)),
            });
        }
    };
    if p.age >= 5 && rng.random_bool(0.15) {
        add(
            &mut h,
            "J45.909",
            Some(("Salbutamol inhaler", "100 mcg", "as needed")),
        );
    }
    if p.age >= 18 {
        if p.age >= 35 && rng.random_bool(0.35) {
            add(&mut h, "I10", Some(("Lisinopril", "10 mg", "once daily")));
            h.flags.push(Flag::Hypertension);
        }
        if p.age >= 30 && rng.random_bool(0.18) {
            add(
                &mut h,
                "E11.9",
                Some(("Metformin", "500 mg", "twice daily")),
            );
            h.flags.push(Flag::Diabetes);
        }
        if p.age >= 55 && rng.random_bool(0.15) {
            add(&mut h, "I48.91", Some(("Warfarin", "5 mg", "once daily")));
            add(&mut h, "Z79.01", None);
            h.flags.push(Flag::Anticoagulants);
            h.flags.push(Flag::HeartCondition);
        }
        if p.female && p.age >= 55 && rng.random_bool(0.25) {
            add(
                &mut h,
                "M81.0",
                Some(("Alendronate", "70 mg", "once weekly")),
            );
            add(&mut h, "Z79.83", None);
            h.flags.push(Flag::Bisphosphonates);
        }
        if rng.random_bool(0.08) {
            add(
                &mut h,
                "E03.9",
                Some(("Levothyroxine", "75 mcg", "once daily")),
            );
        }
        if p.age >= 60 && rng.random_bool(0.05) {
            add(&mut h, "Z95.2", None);
            h.flags.push(Flag::PremedicationRequired);
            h.flags.push(Flag::HeartCondition);
        }
        if rng.random_bool(0.12) {
            add(&mut h, "F17.210", None);
            h.flags.push(Flag::Smoker);
        }
        if p.female && (22..=40).contains(&p.age) && rng.random_bool(0.08) {
            add(&mut h, "Z33.1", None);
            h.flags.push(Flag::Pregnancy);
        }
    }
    if rng.random_bool(0.1) {
        h.notes = t(
            "Anxious about injections: topical anaesthetic first, explain each step.",
            "Anxieux lors des injections : anesthésie topique d'abord, expliquer chaque étape.",
        );
    }
    Some(h)
}

fn french_frequency(en: &str) -> String {
    match en {
        "once daily" => "une fois par jour",
        "twice daily" => "deux fois par jour",
        "once weekly" => "une fois par semaine",
        "as needed" => "au besoin",
        other => other,
    }
    .to_string()
}

/// The demo's patients.
pub fn create<'a>(ctx: &'a mut DemoCtx<'_>) -> BoxFuture<'a, Result<(), String>> {
    Box::pin(async move {
        let store = ctx.store;
        let scope = ctx.scope.clone();
        let actor = Actor::system("demo");
        let cipher = store
            .field_cipher(scope.org())
            .await
            .map_err(|e| e.to_string())?;
        let mut clinics = Vec::new();
        for (i, l) in ctx.locations.iter().enumerate() {
            let today = store.today(&scope, l.id).await.map_err(|e| e.to_string())?;
            let calling_code = store
                .calling_code(&scope, l.id)
                .await
                .map_err(|e| e.to_string())?;
            clinics.push(if i == 0 {
                Clinic {
                    id: l.id,
                    main: Culture::English,
                    other: Culture::French,
                    other_share: 0.05,
                    phone: |n| format!("(802) 555-{n:04}"),
                    mobile: |n| format!("802-555-{n:04}"),
                    streets: BURLINGTON_STREETS,
                    towns: BURLINGTON_TOWNS,
                    country: "US",
                    today,
                    calling_code,
                }
            } else {
                Clinic {
                    id: l.id,
                    main: Culture::French,
                    other: Culture::English,
                    other_share: 0.15,
                    phone: |n| format!("514 555-{n:04}"),
                    mobile: |n| format!("(514) 555-{n:04}"),
                    streets: MONTREAL_STREETS,
                    towns: MONTREAL_TOWNS,
                    country: "CA",
                    today,
                    calling_code,
                }
            });
        }
        if clinics.is_empty() {
            return Err("the demo has no clinics".into());
        }
        let names = Names {
            en: Zipf::new(crate::names::FAMILY_EN.len(), 0.8),
            fr: Zipf::new(crate::names::FAMILY_FR.len(), 0.8),
        };
        let mut rng = StdRng::seed_from_u64(0x5eed_2026);
        let mut registered: Vec<Registered> = Vec::new();
        let mut families = 0usize;
        while registered.len() < TARGET {
            let ci = if clinics.len() > 1 && rng.random_bool(0.45) {
                1
            } else {
                0
            };
            let c = &clinics[ci];
            let culture = if rng.random_bool(c.other_share) {
                c.other
            } else {
                c.main
            };
            let members = family_members(&mut rng, &names, culture);
            let guarantor = (rng.random_bool(0.05)).then(|| {
                let first = &members[0];
                let female = rng.random_bool(0.5);
                let (given, family, relationship) = if first.age >= 75 {
                    (
                        pick(&mut rng, culture.given(female)),
                        first.family.clone(),
                        "child",
                    )
                } else if first.age < 18 {
                    (
                        pick(&mut rng, culture.given(female)),
                        first.family.clone(),
                        "parent",
                    )
                } else {
                    let other = pick(&mut rng, culture.given(!first.female));
                    (other, names.family(&mut rng, culture), "partner")
                };
                NonPatientGuarantor {
                    email: email_for(&mut rng, given, &family),
                    name: format!("{given} {family}"),
                    relationship: relationship.into(),
                    phone: format!("+1{}555{:04}", area(c), rng.random_range(100..10_000)),
                }
            });
            let (town, region, postal) = c.towns[rng.random_range(0..c.towns.len())];
            let postal_code = if c.country == "CA" {
                format!(
                    "{postal} {}{}{}",
                    rng.random_range(1..10),
                    char::from(b'A' + rng.random_range(0..26u8)),
                    rng.random_range(0..10)
                )
            } else {
                postal.to_string()
            };
            let address = Address {
                line1: format!(
                    "{} {}",
                    rng.random_range(1..4000),
                    pick(&mut rng, c.streets)
                ),
                line2: if rng.random_bool(0.15) {
                    format!("Apt {}", rng.random_range(1..40))
                } else {
                    String::new()
                },
                city: town.into(),
                region: region.into(),
                postal_code,
                country: c.country.into(),
            };
            let home = (rng.random_bool(0.6)).then(|| (c.phone)(rng.random_range(100..10_000)));
            let inputs: Vec<(Person, PatientInput, Option<MedicalHistory>, bool)> = members
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let contact = if i == 0 {
                        members.get(1)
                    } else {
                        members.first()
                    };
                    let input = PatientInput {
                        given_name: p.given.clone(),
                        family_name: p.family.clone(),
                        middle_name: p.middle.clone(),
                        preferred_name: p.preferred.clone(),
                        birth_date: birth_date(&mut rng, c.today, p.age),
                        sex: if p.female { "female" } else { "male" }.into(),
                        language: p.culture.language().into(),
                        phones: p
                            .mobile
                            .iter()
                            .map(|n| Phone {
                                kind: "mobile".into(),
                                number: (c.mobile)(*n),
                                sms_consent: rng.random_bool(0.8),
                            })
                            .chain(home.iter().map(|h| Phone {
                                kind: "home".into(),
                                number: h.clone(),
                                sms_consent: false,
                            }))
                            .collect(),
                        email: p.email.clone(),
                        email_consent: !p.email.is_empty() && rng.random_bool(0.7),
                        address: address.clone(),
                        emergency_contact: contact
                            .map(|m| EmergencyContact {
                                name: format!("{} {}", m.given, m.family),
                                relationship: relationship(p, m).into(),
                                phone: m
                                    .mobile
                                    .as_ref()
                                    .map(|n| (c.mobile)(*n))
                                    .unwrap_or_default(),
                            })
                            .unwrap_or_default(),
                        referral_source: pick(
                            &mut rng,
                            &[
                                "patient",
                                "website",
                                "insurance",
                                "dentist",
                                "walk_in",
                                "sign",
                            ],
                        )
                        .into(),
                        ..Default::default()
                    };
                    let history = history_for(&mut rng, p);
                    let reviewed = rng.random_bool(0.65);
                    (p.clone(), input, history, reviewed)
                })
                .collect();
            let status = if members.len() == 1 && rng.random_bool(0.1) {
                if rng.random_bool(0.6) {
                    PatientStatus::Inactive
                } else {
                    PatientStatus::Archived
                }
            } else {
                PatientStatus::Active
            };
            let first = register_family(ctx, &cipher, &actor, c, inputs, guarantor, status).await?;
            for (person, birth_date) in first {
                registered.push(Registered {
                    person,
                    birth_date,
                    clinic: ci,
                });
            }
            families += 1;
        }
        // Near-duplicates: the same birth date, a misspelled name, another family.
        let mut duplicates = 0;
        for index in [17usize, 143, 301] {
            let Some(r) = registered.get(index) else {
                continue;
            };
            let c = &clinics[r.clinic];
            let p = &r.person;
            let input = PatientInput {
                given_name: misspell(&p.given),
                family_name: unaccented(&p.family),
                birth_date: r.birth_date.clone(),
                sex: if p.female { "female" } else { "male" }.into(),
                language: p.culture.language().into(),
                phones: vec![Phone {
                    kind: "mobile".into(),
                    number: (c.mobile)(9000 + index as u32),
                    sms_consent: false,
                }],
                address: Address {
                    country: c.country.into(),
                    ..Default::default()
                },
                ..Default::default()
            };
            register_family(
                ctx,
                &cipher,
                &actor,
                c,
                vec![(p.clone(), input, None, false)],
                None,
                PatientStatus::Active,
            )
            .await?;
            duplicates += 1;
        }
        tracing::info!(
            patients = registered.len() + duplicates,
            families = families + duplicates,
            "demo patients created"
        );
        Ok(())
    })
}

fn area(c: &Clinic) -> &'static str {
    if c.country == "CA" { "514" } else { "802" }
}

/// How `who` is related to `to`, for the emergency contact (in the patient's language).
fn relationship(who: &Person, to: &Person) -> &'static str {
    let fr = who.culture == Culture::French;
    let parent = who.age < 18 || (to.age - who.age) > 18;
    let child = to.age < 18 || (who.age - to.age) > 18;
    match (parent, child, fr) {
        (true, _, _) => "parent",
        (_, true, true) => "enfant",
        (_, true, false) => "child",
        (_, _, true) => "conjoint(e)",
        (_, _, false) => "spouse",
    }
}

/// One to five people: a single adult, a couple, parents with children, a single parent.
fn family_members(rng: &mut StdRng, names: &Names, culture: Culture) -> Vec<Person> {
    let size = match rng.random_range(0..100) {
        0..=34 => 1,
        35..=59 => 2,
        60..=79 => 3,
        80..=92 => 4,
        _ => 5,
    };
    let family = names.family(rng, culture);
    let female = rng.random_bool(0.52);
    if size == 1 {
        let age = rng.random_range(18..=95);
        return vec![names.person(rng, culture, &family, female, age)];
    }
    let age = rng.random_range(26..=78);
    let mut out = vec![names.person(rng, culture, &family, female, age)];
    let single_parent = size <= 3 && age < 55 && rng.random_bool(0.2);
    if !single_parent {
        // In Québec spouses keep their own names.
        let spouse_family = if culture == Culture::French && rng.random_bool(0.7) {
            names.family(rng, culture)
        } else {
            family.clone()
        };
        let spouse_age = (age + rng.random_range(-6..=6)).clamp(20, 95);
        let spouse_female = if rng.random_bool(0.92) {
            !female
        } else {
            female
        };
        out.push(names.person(rng, culture, &spouse_family, spouse_female, spouse_age));
    }
    while out.len() < size {
        let child_age = if age >= 55 {
            rng.random_range(18..=(age - 24).max(18))
        } else {
            rng.random_range(2..=(age - 20).clamp(2, 17))
        };
        let child_female = rng.random_bool(0.5);
        out.push(names.person(rng, culture, &family, child_female, child_age));
    }
    out
}

/// Registers a family in one transaction: the first member is the guarantor (or the given
/// non-patient is), the others join; each history is saved with its patient. Returns the
/// members with their birth dates.
async fn register_family(
    ctx: &DemoCtx<'_>,
    cipher: &FieldCipher,
    actor: &Actor,
    c: &Clinic,
    members: Vec<(Person, PatientInput, Option<MedicalHistory>, bool)>,
    guarantor: Option<NonPatientGuarantor>,
    status: PatientStatus,
) -> Result<Vec<(Person, String)>, String> {
    let store = ctx.store;
    let scope = &ctx.scope;
    let mut tx = store.begin().await.map_err(|e| e.to_string())?;
    let mut first: Option<PatientId> = None;
    let mut out = Vec::new();
    for (person, input, history, reviewed) in members {
        let who = format!("{} {}", person.given, person.family);
        let details = input.validate(c.today, c.calling_code).map_err(|e| {
            let problems: Vec<String> = e
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect();
            format!("{who}: {}", problems.join("; "))
        })?;
        let family = match (first, &guarantor) {
            (Some(f), _) => FamilyChoice::JoinFamilyOf(f),
            (None, Some(g)) => FamilyChoice::Guarantor(g.clone()),
            (None, None) => FamilyChoice::Own,
        };
        let new = NewPatient {
            location_id: c.id,
            restricted: false,
            input: PatientInput::default(),
            family,
            status,
        };
        let birth = details.birth_date.to_string();
        let p = tx
            .insert_patient(store, scope, actor, cipher, &new, details)
            .await
            .map_err(|e| format!("{who}: {e}"))?;
        if first.is_none() {
            first = Some(p.id);
        }
        if let Some(h) = history {
            tx.add_first_history(store, scope, actor, cipher, p.id, &h, reviewed)
                .await
                .map_err(|e| format!("{who}'s history: {e}"))?;
        }
        out.push((person, birth));
    }
    tx.commit().await.map_err(|e| e.to_string())?;
    Ok(out)
}

/// A typing slip: one letter dropped from the middle, between two letters (edit distance 1).
fn misspell(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let letter = |i: usize| chars.get(i).is_some_and(|c| c.is_alphabetic());
    let mut at = chars.len() / 2;
    while at + 1 < chars.len() && !(letter(at - 1) && letter(at) && letter(at + 1)) {
        at += 1;
    }
    chars
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != at || chars.len() < 4)
        .map(|(_, c)| *c)
        .collect()
}

/// The name typed without its accents (Côté → Cote).
fn unaccented(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'É' => 'E',
            'à' | 'â' => 'a',
            'î' | 'ï' => 'i',
            'ô' => 'o',
            'û' | 'ù' | 'ü' => 'u',
            'ç' => 'c',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspellings_stay_close() {
        assert_eq!(misspell("Jennifer"), "Jennfer");
        assert_eq!(misspell("Marie-Claude"), "Marie-Caude");
        assert_eq!(misspell("Léo"), "Léo");
        assert_eq!(unaccented("Côté"), "Cote");
        assert_eq!(name_key(&unaccented("Bélanger")), name_key("Bélanger"));
    }

    #[test]
    fn every_code_the_demo_uses_is_shipped() {
        for code in [
            "J45.909", "I10", "E11.9", "I48.91", "Z79.01", "M81.0", "Z79.83", "E03.9", "Z95.2",
            "F17.210", "Z33.1",
        ] {
            assert!(icd10::lookup(code).is_some(), "{code}");
        }
    }
}
