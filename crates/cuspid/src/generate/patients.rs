//! The generator's patients: families of one to five spread over the generated clinics, names
//! drawn with Zipf-like frequencies (so a search for "Smith" or "Tremblay" meets thousands of
//! rows, as it would in a real group), about 60 % with two phone numbers. Rows go straight in
//! through [`BatchInsert`], with the search keys computed exactly as the store computes them
//! (`domain::patients::search`), in transactions of [`CHUNK`] patients.

use std::time::Instant;

use domain::patients::search::{name_key, phone_key, phonetic_key};
use domain::patients::{EmergencyContact, REFERRAL_SOURCES};
use domain::{Address, FamilyId, LocationId, PatientId};
use futures::future::BoxFuture;
use jiff::Timestamp;
use jiff::civil::Date;
use rand::Rng;
use store::Store;
use store::batch::BatchInsert;
use store::db::Val;
use store::patients::{Actor, PatientSettings};
use store::{Backend, Q};

use super::Gen;
use crate::names::{Culture, Zipf, nickname};

/// Patients per transaction.
const CHUNK: u64 = 10_000;

/// A progress line every this many patients.
const REPORT_EVERY: u64 = 100_000;

/// Birth dates are counted back from here, so the same seed gives the same dates every day.
const REFERENCE_YEAR: i16 = 2026;

const STREETS: &[&str] = &[
    "Main Street",
    "Oak Street",
    "Maple Avenue",
    "Cedar Lane",
    "Park Avenue",
    "Elm Street",
    "Washington Street",
    "Lake Road",
    "Hillside Drive",
    "Church Street",
    "rue Principale",
    "rue Saint-Jean",
    "boulevard des Érables",
    "chemin du Lac",
];

const EMAIL_DOMAINS: &[&str] = &["example.com", "example.net", "example.org"];

const FAMILY_COLUMNS: &[&str] = &[
    "id",
    "org_id",
    "guarantor_patient_id",
    "guarantor_name",
    "guarantor_phone",
    "guarantor_email",
    "guarantor_relationship",
    "created_at",
    "updated_at",
];

const PATIENT_COLUMNS: &[&str] = &[
    "id",
    "org_id",
    "location_id",
    "restricted",
    "family_id",
    "chart_number",
    "status",
    "merged_into",
    "given_name",
    "family_name",
    "middle_name",
    "preferred_name",
    "given_key",
    "family_key",
    "preferred_key",
    "given_ph",
    "family_ph",
    "birth_date",
    "sex",
    "gender_identity",
    "pronouns",
    "language",
    "email",
    "email_consent",
    "address",
    "emergency_contact",
    "referral_source",
    "referral_detail",
    "national_id_enc",
    "national_id_bidx",
    "external_id",
    "custom",
    "history_reviewed_at",
    "created_by",
    "created_at",
    "updated_at",
];

const PHONE_COLUMNS: &[&str] = &[
    "id",
    "org_id",
    "patient_id",
    "position",
    "kind",
    "number",
    "digits_rev",
    "sms_consent",
    "created_at",
];

/// A name with its search keys, computed once per list entry.
struct Name {
    text: &'static str,
    key: String,
    ph: String,
}

struct NameList {
    names: Vec<Name>,
    zipf: Zipf,
}

impl NameList {
    fn new(list: &'static [&'static str], s: f64) -> NameList {
        NameList {
            names: list
                .iter()
                .map(|n| Name {
                    text: n,
                    key: name_key(n),
                    ph: phonetic_key(n),
                })
                .collect(),
            zipf: Zipf::new(list.len(), s),
        }
    }

    fn pick(&self, rng: &mut impl Rng) -> &Name {
        &self.names[self.zipf.index(rng)]
    }
}

/// Every list, by culture and sex.
struct Lists {
    family: [NameList; 2],
    /// [culture][female]
    given: [[NameList; 2]; 2],
}

impl Lists {
    fn new() -> Lists {
        // Exponents chosen so the most common name is about 5 % of the patients (Smith is
        // 0.8 % of Americans, Tremblay 1.2 % of Quebecers; the lists here are short, so their
        // heads are heavier than life).
        let list = |c: Culture| NameList::new(c.families(), 0.6);
        let given = |c: Culture, f: bool| NameList::new(c.given(f), 0.5);
        Lists {
            family: [list(Culture::English), list(Culture::French)],
            given: [
                [
                    given(Culture::English, false),
                    given(Culture::English, true),
                ],
                [given(Culture::French, false), given(Culture::French, true)],
            ],
        }
    }
}

fn idx(c: Culture) -> usize {
    match c {
        Culture::English => 0,
        Culture::French => 1,
    }
}

struct Member<'a> {
    given: &'a Name,
    female: bool,
    age: i16,
}

/// Rows of one transaction, written parents first (families, patients, phones) so foreign keys
/// hold at every statement.
#[derive(Default)]
struct Chunk {
    families: Vec<Vec<Val>>,
    patients: Vec<Vec<Val>>,
    phones: Vec<Vec<Val>>,
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, String> {
    serde_json::to_string(v).map_err(|e| e.to_string())
}

pub fn patients<'a>(store: &'a Store, g: &'a mut Gen) -> BoxFuture<'a, Result<(), String>> {
    Box::pin(async move {
        let total = g.patients;
        if total == 0 || g.locations.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let lists = Lists::new();
        let custom = json(&std::collections::BTreeMap::<String, String>::new())?;
        let no_contact = json(&EmergencyContact::default())?;
        g.progress.set_length(total);
        g.progress.set_position(0);
        let mut chart: i64 = 0;
        let mut families: u64 = 0;
        let mut phones: u64 = 0;
        let mut reported = 0;
        let org = g.org;
        while (chart as u64) < total {
            let mut chunk = Chunk::default();
            let chunk_end = (chart as u64 + CHUNK).min(total);
            while (chart as u64) < chunk_end {
                let left = chunk_end - chart as u64;
                family(
                    g,
                    &lists,
                    &mut chunk,
                    &mut chart,
                    left,
                    &custom,
                    &no_contact,
                )?;
                families += 1;
            }
            phones += chunk.phones.len() as u64;
            let written = chunk.patients.len() as u64;
            write_chunk(store, chunk).await?;
            g.rows += written;
            g.progress.inc(written);
            let done = chart as u64;
            if done / REPORT_EVERY > reported || done == total {
                reported = done / REPORT_EVERY;
                let line = format!(
                    "patients: {done}/{total} in {:.1} s ({:.0}/s)",
                    started.elapsed().as_secs_f64(),
                    done as f64 / started.elapsed().as_secs_f64().max(1e-9)
                );
                if g.progress.is_hidden() {
                    eprintln!("{line}");
                } else {
                    g.progress.println(line);
                }
            }
        }
        g.rows += families + phones;
        let settings = PatientSettings::default();
        let now = Timestamp::from_millisecond(g.clock_ms).unwrap_or(Timestamp::UNIX_EPOCH);
        let mut tx = store.begin().await.map_err(|e| e.to_string())?;
        let mut row = BatchInsert::new(
            "patient_settings",
            &[
                "org_id",
                "next_chart_number",
                "history_review_months",
                "merge_undo_days",
                "updated_at",
            ],
        );
        row.push(
            &mut tx,
            vec![
                org.into(),
                (chart + 1).into(),
                settings.history_review_months.into(),
                settings.merge_undo_days.into(),
                now.into(),
            ],
        )
        .await
        .map_err(|e| e.to_string())?;
        row.flush(&mut tx).await.map_err(|e| e.to_string())?;
        tx.audit(
            store,
            org,
            Actor::system("generate").entry(
                "patient.generated",
                None,
                "patients",
                serde_json::json!({
                    "patients": chart, "families": families, "phones": phones,
                    "locations": g.locations.len(), "preset": g.preset.slug(),
                }),
            ),
        )
        .await
        .map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;
        g.rows += 1;
        Ok(())
    })
}

/// SQLite's page cache for the load, per connection (the default 2 MB makes every index insert
/// read its pages again once the eleven patient indexes outgrow it): 512 MiB.
const SQLITE_CACHE_KIB: i64 = 512 * 1024;

/// Parameters per statement on SQLite.
const SQLITE_PARAMS: usize = 1_000;

async fn write_chunk(store: &Store, chunk: Chunk) -> Result<(), String> {
    let mut tx = store.db.begin().await.map_err(|e| e.to_string())?;
    if tx.backend() == Backend::Sqlite {
        tx.execute(Q::generated(format!(
            "PRAGMA cache_size = -{SQLITE_CACHE_KIB}"
        )))
        .await
        .map_err(|e| e.to_string())?;
    }
    for (table, columns, rows) in [
        ("families", FAMILY_COLUMNS, chunk.families),
        ("patients", PATIENT_COLUMNS, chunk.patients),
        ("patient_phones", PHONE_COLUMNS, chunk.phones),
    ] {
        let mut batch = BatchInsert::new(table, columns);
        // SQLite looks up each numbered parameter by name: a statement of wide rows is cheaper
        // kept near a thousand parameters (36-column patients: 27 rows, not 100).
        let per_statement = match tx.backend() {
            Backend::Sqlite => (SQLITE_PARAMS / columns.len()).max(1),
            Backend::Postgres => usize::MAX,
        };
        for (i, r) in rows.into_iter().enumerate() {
            batch.push(&mut tx, r).await.map_err(|e| e.to_string())?;
            if (i + 1) % per_statement == 0 {
                batch.flush(&mut tx).await.map_err(|e| e.to_string())?;
            }
        }
        batch.flush(&mut tx).await.map_err(|e| e.to_string())?;
    }
    tx.commit().await.map_err(|e| e.to_string())
}

/// Generates one family of at most `left` patients into `chunk`.
fn family(
    g: &mut Gen,
    lists: &Lists,
    chunk: &mut Chunk,
    chart: &mut i64,
    left: u64,
    custom: &str,
    no_contact: &str,
) -> Result<(), String> {
    let rng = &mut g.rng;
    let size = match rng.random_range(0..100) {
        0..=34 => 1,
        35..=59 => 2,
        60..=79 => 3,
        80..=92 => 4,
        _ => 5,
    }
    .min(left.max(1));
    let li = rng.random_range(0..g.locations.len());
    let location: LocationId = g.locations[li];
    let place = g.places[li].clone();
    let culture = match (place.locale, rng.random_range(0..100)) {
        ("fr", 0..=79) | ("en", 0..=4) => Culture::French,
        _ => Culture::English,
    };
    let family_name = lists.family[idx(culture)].pick(rng);
    let given = &lists.given[idx(culture)];
    // Who: one adult; or a couple, with children (or grown children) after them.
    let mut members: Vec<Member> = Vec::new();
    let first_female = rng.random_bool(0.52);
    let first_age: i16 = if size == 1 {
        rng.random_range(18..=95)
    } else {
        rng.random_range(26..=78)
    };
    members.push(Member {
        given: given[usize::from(first_female)].pick(rng),
        female: first_female,
        age: first_age,
    });
    if size > 1 && rng.random_bool(0.85) {
        let female = !first_female;
        members.push(Member {
            given: given[usize::from(female)].pick(rng),
            female,
            age: (first_age + rng.random_range(-6..=6)).clamp(20, 95),
        });
    }
    while (members.len() as u64) < size {
        let female = rng.random_bool(0.5);
        let age = if first_age >= 55 {
            rng.random_range(18..=(first_age - 24).max(18))
        } else {
            rng.random_range(2..=(first_age - 20).clamp(2, 17))
        };
        members.push(Member {
            given: given[usize::from(female)].pick(rng),
            female,
            age,
        });
    }
    let address = json(&Address {
        line1: format!(
            "{} {}",
            rng.random_range(1..9000),
            STREETS[rng.random_range(0..STREETS.len())]
        ),
        line2: String::new(),
        city: place.city.into(),
        region: place.region.into(),
        postal_code: if place.country == "CA" {
            format!(
                "{}{}{} {}{}{}",
                match place.region {
                    "QC" => 'H',
                    "BC" => 'V',
                    _ => 'M',
                },
                rng.random_range(1..10),
                char::from(b'A' + rng.random_range(0..26u8)),
                rng.random_range(1..10),
                char::from(b'A' + rng.random_range(0..26u8)),
                rng.random_range(0..10)
            )
        } else {
            format!("{:05}", rng.random_range(1000..99_999))
        },
        country: place.country.into(),
    })?;
    let number = |rng: &mut rand::rngs::StdRng| {
        format!(
            "+1{}{}{:04}",
            place.area,
            rng.random_range(200..1000),
            rng.random_range(0..10_000)
        )
    };
    let home = number(rng);
    let family_id = FamilyId::from_uuid(g.uuid());
    let created = Timestamp::from_millisecond(g.clock_ms).unwrap_or(Timestamp::UNIX_EPOCH);
    let first_id = PatientId::from_uuid(g.uuid());
    // About 5 % of families have a guarantor who is not a patient.
    let rng = &mut g.rng;
    let outside = rng.random_bool(0.05);
    let (guarantor_name, guarantor_relationship, guarantor_phone) = if outside {
        let female = rng.random_bool(0.5);
        (
            format!(
                "{} {}",
                given[usize::from(female)].pick(rng).text,
                family_name.text
            ),
            if first_age >= 70 { "child" } else { "partner" },
            number(rng),
        )
    } else {
        (String::new(), "", String::new())
    };
    chunk.families.push(vec![
        family_id.into(),
        g.org.into(),
        (!outside).then_some(first_id).into(),
        guarantor_name.into(),
        guarantor_phone.into(),
        String::new().into(),
        guarantor_relationship.into(),
        created.into(),
        created.into(),
    ]);
    let first_given = members[0].given.text;
    for (i, m) in members.iter().enumerate() {
        let id = if i == 0 {
            first_id
        } else {
            PatientId::from_uuid(g.uuid())
        };
        let rng = &mut g.rng;
        *chart += 1;
        let birth = Date::new(
            REFERENCE_YEAR - m.age,
            rng.random_range(1..=12),
            rng.random_range(1..=28),
        )
        .map_err(|e| e.to_string())?;
        let preferred = match nickname(m.given.text) {
            Some(n) if culture == Culture::English && rng.random_bool(0.3) => n,
            _ => "",
        };
        let email = if m.age >= 16 && rng.random_bool(0.7) {
            format!(
                "{}.{}{}@{}",
                m.given.key,
                family_name.key,
                rng.random_range(1..1000),
                EMAIL_DOMAINS[rng.random_range(0..EMAIL_DOMAINS.len())]
            )
        } else {
            String::new()
        };
        let contact = if i == 0 {
            no_contact.to_string()
        } else {
            json(&EmergencyContact {
                name: format!("{first_given} {}", family_name.text),
                relationship: if m.age < 18 { "parent" } else { "family" }.into(),
                phone: home.clone(),
            })?
        };
        let referral = if rng.random_bool(0.6) {
            REFERRAL_SOURCES[rng.random_range(0..REFERRAL_SOURCES.len() - 1)]
        } else {
            ""
        };
        chunk.patients.push(vec![
            id.into(),
            g.org.into(),
            location.into(),
            false.into(),
            family_id.into(),
            (*chart).into(),
            "active".into(),
            Option::<PatientId>::None.into(),
            m.given.text.into(),
            family_name.text.into(),
            String::new().into(),
            preferred.into(),
            m.given.key.clone().into(),
            family_name.key.clone().into(),
            name_key(preferred).into(),
            m.given.ph.clone().into(),
            family_name.ph.clone().into(),
            birth.to_string().into(),
            if m.female { "female" } else { "male" }.into(),
            String::new().into(),
            String::new().into(),
            culture.language().into(),
            email.into(),
            rng.random_bool(0.5).into(),
            address.clone().into(),
            contact.into(),
            referral.into(),
            String::new().into(),
            Option::<String>::None.into(),
            Option::<String>::None.into(),
            Option::<String>::None.into(),
            custom.into(),
            Option::<Timestamp>::None.into(),
            Option::<domain::UserId>::None.into(),
            created.into(),
            created.into(),
        ]);
        // 60 % two numbers (their mobile and the family's home), 30 % one, 10 % none.
        let numbers: Vec<(&str, String)> = match rng.random_range(0..10) {
            0..=5 => vec![("mobile", number(rng)), ("home", home.clone())],
            6..=8 => vec![("mobile", number(rng))],
            _ => Vec::new(),
        };
        for (position, (kind, n)) in numbers.into_iter().enumerate() {
            let consent = kind == "mobile" && g.rng.random_bool(0.7);
            chunk.phones.push(vec![
                g.uuid().into(),
                g.org.into(),
                id.into(),
                (position as i64).into(),
                kind.into(),
                n.clone().into(),
                phone_key(&n).into(),
                consent.into(),
                created.into(),
            ]);
        }
    }
    Ok(())
}
