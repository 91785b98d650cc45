//! The demo clinic: created on first start against an empty database, recreated by
//! `cuspid demo --reset`. Each context adds its part to [`PARTS`] (patients, agenda, charts,
//! ledgers, images); parts run in order in one go, with a deterministic random source so the
//! demo is the same every time. The patients part is in [`patients`].

mod billing;
mod clinical;
mod patients;
mod scheduling;

use domain::identity::Role;
use domain::identity::password::check_new_password;
use domain::{
    Address, Currency, DayHours, Location, LocationId, OpeningHours, OrgId, Organization, Scope,
};
use futures::future::BoxFuture;
use jiff::civil::time;
use store::Store;
use store::identity::{NewUser, hash_password};
use store::objects::ObjectStorage;

pub const SLUG: &str = "demo";

/// What a demo part gets.
pub struct DemoCtx<'a> {
    pub store: &'a Store,
    pub scope: Scope,
    pub locations: Vec<Location>,
    /// The demo users' password.
    pub password: &'a str,
}

type Part = for<'a> fn(&'a mut DemoCtx<'_>) -> BoxFuture<'a, Result<(), String>>;

/// The demo, part by part, in dependency order.
const PARTS: &[(&str, Part)] = &[
    ("tenancy", tenancy),
    ("staff", staff),
    ("patients", patients::create),
    ("scheduling", scheduling::create),
    ("charts", clinical::create),
    ("prescriptions", clinical::prescriptions),
    ("perio", clinical::perio),
    ("plans", clinical::plans),
    ("ledgers", billing::create),
];

/// The demo users' domain: `<role>@demo.cuspid.test`.
pub const EMAIL_DOMAIN: &str = "demo.cuspid.test";

/// Creates the demo organization with everything every part adds. Returns `None` when a demo
/// organization already exists (another server on the same database made it first).
pub async fn create(store: &Store, password: &str) -> Result<Option<OrgId>, String> {
    let org = Organization {
        id: OrgId::from_uuid(store.new_uuid()),
        name: "Maple & Saint-Laurent Dental Group".into(),
        slug: SLUG.into(),
    };
    let mut tx = store.begin().await.map_err(|e| e.to_string())?;
    tx.create_org(store, &org)
        .await
        .map_err(|e| format!("demo: {e}"))?;
    tx.commit().await.map_err(|e| e.to_string())?;
    let mut ctx = DemoCtx {
        store,
        scope: Scope::system(org.id),
        locations: Vec::new(),
        password,
    };
    for (name, part) in PARTS {
        part(&mut ctx).await.map_err(|e| {
            format!("demo part {name}: {e} (the demo is incomplete: run `cuspid demo --reset`)")
        })?;
    }
    tracing::info!(org = %org.id, "demo clinic created");
    Ok(Some(org.id))
}

/// Deletes the demo organization and creates it again.
pub async fn reset(
    store: &Store,
    objects: &ObjectStorage,
    password: &str,
) -> Result<Option<OrgId>, String> {
    if let Some(org) = store.org_by_slug(SLUG).await.map_err(|e| e.to_string())? {
        objects
            .purge_org(store, org.id)
            .await
            .map_err(|e| e.to_string())?;
        store.retire_org(org.id).await.map_err(|e| e.to_string())?;
    }
    create(store, password).await
}

fn tenancy<'a>(ctx: &'a mut DemoCtx<'_>) -> BoxFuture<'a, Result<(), String>> {
    Box::pin(async move {
        let store = ctx.store;
        let weekdays = OpeningHours::weekdays(&[
            (time(8, 0, 0, 0), time(12, 0, 0, 0)),
            (time(13, 0, 0, 0), time(18, 0, 0, 0)),
        ]);
        let mut saturday = weekdays.clone();
        saturday.days[5] = DayHours {
            intervals: vec![(time(9, 0, 0, 0), time(13, 0, 0, 0))],
        };
        let locations = vec![
            Location {
                id: LocationId::from_uuid(store.new_uuid()),
                org_id: ctx.scope.org(),
                name: "Maple Street Dental".into(),
                time_zone: "America/New_York".into(),
                currency: Currency::USD,
                locale: "en".into(),
                address: Address {
                    line1: "214 Maple Street".into(),
                    line2: "Suite 3".into(),
                    city: "Burlington".into(),
                    region: "VT".into(),
                    postal_code: "05401".into(),
                    country: "US".into(),
                },
                opening_hours: saturday,
            },
            Location {
                id: LocationId::from_uuid(store.new_uuid()),
                org_id: ctx.scope.org(),
                name: "Clinique dentaire Saint-Laurent".into(),
                time_zone: "America/Toronto".into(),
                currency: Currency::CAD,
                locale: "fr".into(),
                address: Address {
                    line1: "4820 boulevard Saint-Laurent".into(),
                    line2: String::new(),
                    city: "Montréal".into(),
                    region: "QC".into(),
                    postal_code: "H2T 1R5".into(),
                    country: "CA".into(),
                },
                opening_hours: weekdays,
            },
        ];
        let mut tx = store.begin().await.map_err(|e| e.to_string())?;
        for l in &locations {
            tx.create_location(store, &ctx.scope, l)
                .await
                .map_err(|e| e.to_string())?;
        }
        tx.publish(
            store,
            Some(ctx.scope.org()),
            "demo.created",
            serde_json::json!({ "locations": locations.len() }),
        )
        .await
        .map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;
        ctx.locations = locations;
        Ok(())
    })
}

/// One user per default staff role: `admin@demo.cuspid.test`, `dentist@…`, …
fn staff<'a>(ctx: &'a mut DemoCtx<'_>) -> BoxFuture<'a, Result<(), String>> {
    Box::pin(async move {
        let people = [
            (Role::Admin, "Sophie Martin"),
            (Role::Dentist, "Dr. Amélie Tremblay"),
            (Role::Hygienist, "Jordan Lee, RDH"),
            (Role::Assistant, "Marc Gagnon"),
            (Role::Receptionist, "Chloé Roy"),
            (Role::TreatmentCoordinator, "Priya Patel"),
            (Role::Billing, "Tom Becker"),
        ];
        if let Err(p) = check_new_password(ctx.password, "") {
            return Err(format!(
                "the demo password is not acceptable ({}): use at least 12 characters, not a common password",
                p.message_key()
            ));
        }
        // Seven users, one password: hash it once.
        let hash = hash_password(ctx.password)
            .await
            .map_err(|e| e.to_string())?;
        let mut tx = ctx.store.begin().await.map_err(|e| e.to_string())?;
        for (i, (role, name)) in people.into_iter().enumerate() {
            let user = NewUser {
                email: format!("{}@{EMAIL_DOMAIN}", role.code()),
                name: name.to_string(),
                // 555-0100 to 555-0199 are reserved for fiction: +1 802 555 0101 … 0107.
                phone: Some(format!("+180255501{:02}", i + 1)),
                password: None,
                roles: vec![role],
                locations: Vec::new(),
            };
            let id = tx
                .create_user_prehashed(ctx.store, &ctx.scope, &user, hash.clone())
                .await
                .map_err(|e| format!("{}: {e}", user.email))?;
            let profile = match role {
                Role::Dentist => {
                    Some(("VT-DDS-0421", "1234567893", "general_dentistry", "#2a9d8f"))
                }
                Role::Hygienist => Some(("VT-RDH-1187", "", "dental_hygiene", "#e76f51")),
                _ => None,
            };
            if let Some((licence, npi, specialty, color)) = profile {
                tx.add_provider_profile(
                    ctx.store,
                    &ctx.scope,
                    id,
                    &domain::identity::provider::ProviderProfile {
                        licence_number: licence.into(),
                        npi: npi.into(),
                        specialty: specialty.into(),
                        color: color.into(),
                    },
                )
                .await
                .map_err(|e| format!("{}: {e}", user.email))?;
            }
        }
        tx.commit().await.map_err(|e| e.to_string())
    })
}
