//! `cuspid generate`: deterministic synthetic data at benchmark scale. The same preset and
//! seed give the same ids and values. Rows go in through multi-row inserts in large
//! transactions. Each context adds its generator part to [`PARTS`]: the tenancy part creates
//! the organization and its clinics, the patients part ([`patients`]) their families, patients
//! and phone numbers, the appointments part ([`appointments`]) chairs, providers and years of
//! agenda.

mod appointments;
mod patients;

use std::time::Instant;

use domain::kernel::ids::uuid_v7;
use domain::{Address, Currency, LocationId, OpeningHours, OrgId, Organization};
use futures::future::BoxFuture;
use indicatif::{ProgressBar, ProgressStyle};
use jiff::Timestamp;
use jiff::civil::time;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use store::Store;
use store::batch::BatchInsert;

use crate::config::Config;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// One clinic, 5,000 patients, 10 years of history.
    Practice,
    /// 200 clinics, 1,000,000 patients, 10 years of history.
    DsoSlice,
}

impl Preset {
    pub fn clinics(self) -> usize {
        match self {
            Preset::Practice => 1,
            Preset::DsoSlice => 200,
        }
    }
    pub fn patients(self) -> u64 {
        match self {
            Preset::Practice => 5_000,
            Preset::DsoSlice => 1_000_000,
        }
    }
    fn slug(self) -> &'static str {
        match self {
            Preset::Practice => "practice",
            Preset::DsoSlice => "dso-slice",
        }
    }
}

/// Deterministic ids and values.
pub struct Gen {
    pub rng: StdRng,
    /// Ids are UUIDv7 stamped from this instant, one millisecond apart, so the order is stable.
    clock_ms: i64,
    pub preset: Preset,
    pub org: OrgId,
    pub locations: Vec<LocationId>,
    /// Per location (same order): who lives around it and how their numbers start.
    pub places: Vec<Place>,
    /// Patients to generate (the preset's number unless `--patients` says otherwise).
    pub patients: u64,
    /// Years of appointments up to the end of 2026 (`--years`, default 10).
    pub years: u32,
    /// The organization's slug (generated providers' emails).
    pub slug: String,
    pub rows: u64,
    pub progress: ProgressBar,
}

impl Gen {
    pub fn uuid(&mut self) -> uuid::Uuid {
        self.clock_ms += 1;
        let t = Timestamp::from_millisecond(self.clock_ms).unwrap_or(Timestamp::UNIX_EPOCH);
        let mut b = [0u8; 10];
        self.rng.fill(&mut b);
        uuid_v7(t, b)
    }
}

/// What the patients generator needs to know of a clinic.
#[derive(Clone, Debug)]
pub struct Place {
    /// `en` or `fr`: the names and language most patients have.
    pub locale: &'static str,
    pub country: &'static str,
    pub city: &'static str,
    pub region: &'static str,
    /// The area code of the clinic's phone numbers.
    pub area: &'static str,
}

type Part = for<'a> fn(&'a Store, &'a mut Gen) -> BoxFuture<'a, Result<(), String>>;

const PARTS: &[(&str, Part)] = &[
    ("clinics", clinics),
    ("patients", patients::patients),
    ("appointments", appointments::appointments),
];

/// Time zone, currency, locale, country, region, area codes.
type Zone = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

const ZONES: &[Zone] = &[
    (
        "America/New_York",
        "USD",
        "en",
        "US",
        "NY",
        &["212", "518", "585", "716"],
    ),
    (
        "America/Chicago",
        "USD",
        "en",
        "US",
        "IL",
        &["312", "773", "217", "309"],
    ),
    (
        "America/Denver",
        "USD",
        "en",
        "US",
        "CO",
        &["303", "719", "970"],
    ),
    (
        "America/Los_Angeles",
        "USD",
        "en",
        "US",
        "CA",
        &["213", "415", "619", "916"],
    ),
    (
        "America/Toronto",
        "CAD",
        "fr",
        "CA",
        "QC",
        &["514", "438", "450", "418"],
    ),
    (
        "America/Vancouver",
        "CAD",
        "en",
        "CA",
        "BC",
        &["604", "778", "250"],
    ),
];

const CITIES: &[&str] = &[
    "Springfield",
    "Riverton",
    "Fairview",
    "Franklin",
    "Greenville",
    "Bristol",
    "Clinton",
    "Georgetown",
    "Salem",
    "Madison",
    "Arlington",
    "Ashland",
    "Dover",
    "Milton",
    "Newport",
];

fn clinics<'a>(store: &'a Store, g: &'a mut Gen) -> BoxFuture<'a, Result<(), String>> {
    Box::pin(async move {
        let mut tx = store.db.begin().await.map_err(|e| e.to_string())?;
        let mut batch = BatchInsert::new(
            "locations",
            &[
                "id",
                "org_id",
                "name",
                "time_zone",
                "currency",
                "locale",
                "address",
                "opening_hours",
                "storage",
                "active",
                "created_at",
                "updated_at",
            ],
        );
        let hours = OpeningHours::weekdays(&[
            (time(8, 0, 0, 0), time(12, 0, 0, 0)),
            (time(13, 0, 0, 0), time(17, 30, 0, 0)),
        ]);
        let hours_json = serde_json::to_string(&hours).map_err(|e| e.to_string())?;
        let created = Timestamp::from_second(1_483_228_800).unwrap_or(Timestamp::UNIX_EPOCH);
        for i in 0..g.preset.clinics() {
            let id = LocationId::from_uuid(g.uuid());
            let (tz, cur, locale, country, region, areas) =
                ZONES[g.rng.random_range(0..ZONES.len())];
            let city = CITIES[g.rng.random_range(0..CITIES.len())];
            let address = Address {
                line1: format!("{} Main Street", g.rng.random_range(1..2000)),
                line2: String::new(),
                city: city.into(),
                region: region.into(),
                postal_code: format!("{:05}", g.rng.random_range(10000..99999)),
                country: country.into(),
            };
            Currency::from_code(cur).map_err(|e| e.to_string())?;
            batch
                .push(
                    &mut tx,
                    vec![
                        id.into(),
                        g.org.into(),
                        format!("{city} Dental #{:03}", i + 1).into(),
                        tz.into(),
                        cur.into(),
                        locale.into(),
                        serde_json::to_string(&address)
                            .map_err(|e| e.to_string())?
                            .into(),
                        hours_json.clone().into(),
                        Option::<String>::None.into(),
                        true.into(),
                        created.into(),
                        created.into(),
                    ],
                )
                .await
                .map_err(|e| e.to_string())?;
            g.locations.push(id);
            g.places.push(Place {
                locale,
                country,
                city,
                region,
                area: areas[g.rng.random_range(0..areas.len())],
            });
            g.rows += 1;
            g.progress.inc(1);
        }
        batch.flush(&mut tx).await.map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())
    })
}

pub async fn run(
    cfg: Config,
    preset: Preset,
    seed: u64,
    patients: Option<u64>,
    years: u32,
    admin_password: Option<String>,
) -> Result<(), String> {
    let store = crate::app::open_store(&cfg).await?;
    let slug = format!("gen-{}-{seed}", preset.slug());
    if store
        .org_by_slug(&slug)
        .await
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return Err(format!(
            "this database already holds the {} data set for seed {seed} ({slug}); use another --seed or a fresh database",
            preset.slug()
        ));
    }
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut b = [0u8; 10];
    rng.fill(&mut b);
    let base_ms = 1_483_228_800_000; // 2017-01-01: ten years of history
    let org = Organization {
        id: OrgId::from_uuid(uuid_v7(
            Timestamp::from_millisecond(base_ms).unwrap_or(Timestamp::UNIX_EPOCH),
            b,
        )),
        name: format!("Generated {} (seed {seed})", preset.slug()),
        slug,
    };
    let mut tx = store.begin().await.map_err(|e| e.to_string())?;
    tx.create_org(&store, &org)
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    let progress = ProgressBar::new(preset.clinics() as u64);
    progress.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut g = Gen {
        rng,
        clock_ms: base_ms,
        preset,
        org: org.id,
        locations: Vec::new(),
        places: Vec::new(),
        patients: patients.unwrap_or(preset.patients()),
        years: years.min(30),
        slug: org.slug.clone(),
        rows: 1,
        progress,
    };
    for (name, part) in PARTS {
        g.progress.set_message(*name);
        part(&store, &mut g)
            .await
            .map_err(|e| format!("{name}: {e}"))?;
    }
    g.progress.finish_and_clear();
    // Fresh statistics for the planner: until autovacuum gets to them, PostgreSQL guessed
    // thousands of phone numbers per patient and planned the agenda's query accordingly.
    if store.db.backend() == store::db::Backend::Postgres {
        store
            .db
            .execute(store::db::Q::new("ANALYZE"))
            .await
            .map_err(|e| format!("analyze: {e}"))?;
    }
    if let Some(password) = admin_password {
        let email = format!("admin@{}.cuspid.test", org.slug);
        let mut tx = store.begin().await.map_err(|e| e.to_string())?;
        tx.create_user(
            &store,
            &domain::Scope::system(org.id),
            &store::identity::NewUser {
                email: email.clone(),
                name: "Generated administrator".into(),
                phone: None,
                password: Some(password),
                roles: vec![domain::identity::Role::Admin],
                locations: vec![],
            },
        )
        .await
        .map_err(|e| format!("administrator: {e}"))?;
        tx.commit().await.map_err(|e| e.to_string())?;
        println!("administrator: {email}");
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "generated {} rows for organization {} ({} clinics, {} patients) in {:.2} s: {:.0} rows/s on {}",
        g.rows,
        org.id,
        g.locations.len(),
        g.patients,
        secs,
        g.rows as f64 / secs.max(1e-9),
        store.db.backend().name()
    );
    Ok(())
}
