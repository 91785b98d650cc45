//! The demo charts: every active adult patient gets what a new patient's first exam finds in a
//! mouth (existing fillings and crowns, a root canal, missing wisdom teeth, now and then an
//! implant), a few findings (caries, a cracked tooth) with the work planned for them, and,
//! for some, work already completed here. Children get sealants and the odd caries on a
//! primary molar. Charted through the store, like a dentist would, so every rule holds.

use domain::PatientId;
use domain::clinical::chart::EntryRequest;
use domain::clinical::teeth::Numbering;
use futures::future::BoxFuture;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use store::clinical::ChartPermits;
use store::db::Q;
use store::patients::Actor;

use super::DemoCtx;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn entry(code: &str, tooth: &str, surfaces: &str, status: &str) -> EntryRequest {
    EntryRequest {
        code: code.into(),
        tooth: (!tooth.is_empty()).then(|| tooth.into()),
        surfaces: (!surfaces.is_empty()).then(|| surfaces.into()),
        status: (!status.is_empty()).then(|| status.into()),
        ..Default::default()
    }
}

const MOLARS: &[&str] = &["16", "17", "26", "27", "36", "37", "46", "47"];
const PREMOLARS: &[&str] = &["14", "15", "24", "25", "34", "35", "44", "45"];
const POSTERIOR_SURFACES: &[&str] = &["O", "MO", "DO", "MOD", "OB", "OL"];

/// An adult's chart: a list of entries in charting order.
fn adult(rng: &mut StdRng) -> Vec<EntryRequest> {
    let mut out = Vec::new();
    let mut used = std::collections::HashSet::new();
    let mut pick = |rng: &mut StdRng, from: &[&'static str]| -> Option<&'static str> {
        for _ in 0..8 {
            let t = *from.choose(rng)?;
            if used.insert(t) {
                return Some(t);
            }
        }
        None
    };
    // Wisdom teeth out, often.
    for t in ["18", "28", "38", "48"] {
        if rng.random_bool(0.55) {
            out.push(entry("MISSING", t, "", ""));
        }
    }
    // Existing fillings.
    for _ in 0..rng.random_range(0..5) {
        let from = if rng.random_bool(0.7) {
            MOLARS
        } else {
            PREMOLARS
        };
        if let Some(t) = pick(rng, from) {
            let code = if rng.random_bool(0.5) { "AMAL" } else { "COMP" };
            let s = POSTERIOR_SURFACES.choose(rng).copied().unwrap_or("O");
            out.push(entry(code, t, s, "existing"));
        }
    }
    // A crown, sometimes over a root canal.
    if rng.random_bool(0.35)
        && let Some(t) = pick(rng, MOLARS)
    {
        if rng.random_bool(0.6) {
            out.push(entry("RCT", t, "", "existing"));
        }
        out.push(entry("CROWN", t, "", "existing"));
    }
    // A lost molar replaced by an implant and its crown.
    if rng.random_bool(0.12)
        && let Some(t) = pick(rng, &["36", "46"])
    {
        out.push(entry("EXT", t, "", "existing"));
        out.push(entry("IMPL", t, "", "existing"));
        let mut c = entry("CROWN", t, "", "existing");
        c.override_reason = Some("crown on the implant".into());
        out.push(c);
    }
    // Findings and the work planned for them.
    for _ in 0..rng.random_range(0..3) {
        let from = if rng.random_bool(0.6) {
            MOLARS
        } else {
            PREMOLARS
        };
        if let Some(t) = pick(rng, from) {
            let s = POSTERIOR_SURFACES.choose(rng).copied().unwrap_or("O");
            out.push(entry("CARIES", t, s, ""));
            out.push(entry(
                "COMP",
                t,
                s,
                if rng.random_bool(0.3) {
                    "completed"
                } else {
                    ""
                },
            ));
        }
    }
    if rng.random_bool(0.15)
        && let Some(t) = pick(rng, MOLARS)
    {
        out.push(entry("CRACK", t, "", ""));
        out.push(entry("CROWN", t, "", ""));
    }
    if rng.random_bool(0.08)
        && let Some(t) = pick(rng, PREMOLARS)
    {
        out.push(entry("ABSC", t, "", ""));
        out.push(entry("RCT", t, "", ""));
    }
    if rng.random_bool(0.1) {
        let q = ["UR", "UL", "LL", "LR"]
            .choose(rng)
            .copied()
            .unwrap_or("UR");
        out.push(EntryRequest {
            code: "SRP".into(),
            area: Some(q.into()),
            ..Default::default()
        });
    }
    out.push(entry("EXAM", "", "", "completed"));
    out
}

/// A child's chart (primary and mixed teeth).
fn child(rng: &mut StdRng, age: i64) -> Vec<EntryRequest> {
    let mut out = Vec::new();
    if age >= 6 {
        for t in ["36", "46"] {
            out.push(entry(
                "SEAL",
                t,
                "O",
                if rng.random_bool(0.5) {
                    "completed"
                } else {
                    ""
                },
            ));
        }
    }
    if rng.random_bool(0.3) {
        let t = ["74", "75", "84", "85"]
            .choose(rng)
            .copied()
            .unwrap_or("75");
        out.push(entry("CARIES", t, "O", ""));
        out.push(entry("COMP", t, "O", ""));
    }
    out.push(entry("EXAM", "", "", "completed"));
    out
}

pub fn create<'a>(ctx: &'a mut DemoCtx<'_>) -> BoxFuture<'a, Result<(), String>> {
    Box::pin(async move {
        let store = ctx.store;
        let scope = ctx.scope.clone();
        let actor = Actor::system("demo");
        let permits = ChartPermits {
            may_complete_dentist_only: true,
        };
        let mut rng = StdRng::seed_from_u64(0xc4a7_2026);
        let today = store.now().to_zoned(jiff::tz::TimeZone::UTC).date();
        let rows = store
            .db
            .fetch_all(
                Q::new("SELECT id, birth_date FROM patients WHERE org_id = $1 AND status = 'active' ORDER BY chart_number")
                    .bind(scope.org()),
            )
            .await
            .map_err(err)?;
        for r in rows {
            let id = PatientId::from_uuid(r.uuid("id").map_err(err)?);
            let age = r
                .string("birth_date")
                .ok()
                .and_then(|b| b.parse::<jiff::civil::Date>().ok())
                .map(|b| i64::from(today.year() - b.year()))
                .unwrap_or(40);
            let entries = if age < 13 {
                child(&mut rng, age)
            } else {
                adult(&mut rng)
            };
            store
                .add_chart_entries(&scope, &actor, permits, id, Numbering::Fdi, &entries)
                .await
                .map_err(|e| format!("demo chart: {e}"))?;
        }
        Ok(())
    })
}

/// The demo prescriptions: about one adult in six had something prescribed by the demo
/// dentist (an antibiotic after an extraction, an anti-inflammatory, a rinse). Written through
/// the store's checks: when a choice would warn (an allergy, an interaction), the dentist
/// writes a safe alternative instead, as one would.
pub fn prescriptions<'a>(ctx: &'a mut DemoCtx<'_>) -> BoxFuture<'a, Result<(), String>> {
    Box::pin(async move {
        let store = ctx.store;
        let scope = ctx.scope.clone();
        let Some(dentist) = store
            .user_by_email(&format!("dentist@{}", super::EMAIL_DOMAIN))
            .await
            .map_err(err)?
        else {
            return Err("no demo dentist".into());
        };
        let actor = Actor {
            id: Some(dentist.id),
            name: dentist.email.clone(),
            ..Default::default()
        };
        let catalog = store.medicines(&scope).await.map_err(err)?;
        let by_position = |i: usize| {
            let s = &domain::clinical::rx::STARTER[i];
            catalog.iter().find(|c| {
                s.name.contains(&c.medicine.name.as_str()) && c.medicine.strength == s.strength
            })
        };
        let choices: Vec<_> = [0usize, 4, 9, 11, 13]
            .into_iter()
            .filter_map(by_position)
            .collect();
        let fallback = by_position(11);
        let mut rng = StdRng::seed_from_u64(0x0d15_2026);
        let rows = store
            .db
            .fetch_all(
                Q::new("SELECT id, birth_date FROM patients WHERE org_id = $1 AND status = 'active' ORDER BY chart_number")
                    .bind(scope.org()),
            )
            .await
            .map_err(err)?;
        for r in rows {
            if !rng.random_bool(1.0 / 6.0) {
                continue;
            }
            let id = PatientId::from_uuid(r.uuid("id").map_err(err)?);
            let Some(first) = choices.choose(&mut rng) else {
                break;
            };
            for c in [Some(*first), fallback].into_iter().flatten() {
                let w = store
                    .prescription_warnings(&scope, id, &c.medicine)
                    .await
                    .map_err(err)?;
                if !w.is_empty() {
                    continue;
                }
                let m = &c.medicine;
                store
                    .prescribe(
                        &scope,
                        &actor,
                        id,
                        &store::prescriptions::NewPrescription {
                            medicine_id: Some(c.id),
                            order: domain::clinical::rx::Order {
                                dose: m.dose.clone(),
                                route: m.route.clone(),
                                frequency: m.frequency.clone(),
                                duration_days: m.duration_days,
                                quantity: m.quantity,
                                refills: 0,
                                instructions: m.directions.clone(),
                            },
                            visit_id: None,
                            override_reason: String::new(),
                        },
                    )
                    .await
                    .map_err(|e| format!("demo prescription: {e}"))?;
                break;
            }
        }
        Ok(())
    })
}

/// The demo perio charts: about one adult in four was probed by the demo hygienist — most with
/// healthy gums, some with gingivitis (normal depths that bleed), some with periodontitis
/// (deeper pockets and recession on the molars, the odd mobile tooth and furcation) — every
/// tooth the chart does not show missing, through the store's range checks.
pub fn perio<'a>(ctx: &'a mut DemoCtx<'_>) -> BoxFuture<'a, Result<(), String>> {
    Box::pin(async move {
        use domain::clinical::perio::{PerioExam, SiteReading, ToothReading};
        use domain::clinical::teeth::arch_order;
        let store = ctx.store;
        let scope = ctx.scope.clone();
        let actor = match store
            .user_by_email(&format!("hygienist@{}", super::EMAIL_DOMAIN))
            .await
            .map_err(err)?
        {
            Some(u) => Actor {
                id: Some(u.id),
                name: u.email.clone(),
                ..Default::default()
            },
            None => Actor::system("demo"),
        };
        let mut rng = StdRng::seed_from_u64(0x9e10_2026);
        let today = store.now().to_zoned(jiff::tz::TimeZone::UTC).date();
        let rows = store
            .db
            .fetch_all(
                Q::new("SELECT id, birth_date FROM patients WHERE org_id = $1 AND status = 'active' ORDER BY chart_number")
                    .bind(scope.org()),
            )
            .await
            .map_err(err)?;
        for r in rows {
            let age = r
                .string("birth_date")
                .ok()
                .and_then(|b| b.parse::<jiff::civil::Date>().ok())
                .map(|b| i64::from(today.year() - b.year()))
                .unwrap_or(40);
            if age < 18 || !rng.random_bool(0.25) {
                continue;
            }
            let id = PatientId::from_uuid(r.uuid("id").map_err(err)?);
            let chart = store.chart(&scope, &actor, id).await.map_err(err)?;
            let view = domain::clinical::chart::odontogram(&chart.marks());
            // 0–59 healthy, 60–84 gingivitis, 85–99 periodontitis.
            let profile = rng.random_range(0..100);
            let mut exam = PerioExam::default();
            for upper in [true, false] {
                for t in arch_order(upper, false) {
                    if view
                        .get(&t)
                        .is_some_and(|v| v.missing && v.implant.is_none())
                    {
                        continue;
                    }
                    let molar = matches!(t.fdi() % 10, 6..=8);
                    let mut reading = ToothReading::default();
                    for site in reading.sites.iter_mut() {
                        let (pd, gm, bleeds) = match profile {
                            0..=59 => (rng.random_range(1..=3), 0, 0.05),
                            // Gingivitis bleeds; it does not deepen the pockets.
                            60..=84 => (rng.random_range(2..=3), 0, 0.3),
                            _ if molar => (rng.random_range(4..=7), rng.random_range(0..=3), 0.45),
                            _ => (rng.random_range(2..=5), rng.random_range(0..=2), 0.3),
                        };
                        *site = SiteReading {
                            pd: Some(pd),
                            gm: Some(gm),
                            bleeding: rng.random_bool(bleeds),
                            suppuration: profile >= 85 && molar && rng.random_bool(0.05),
                            plaque: rng.random_bool(if profile >= 60 { 0.45 } else { 0.15 }),
                            calculus: rng.random_bool(if profile >= 60 { 0.25 } else { 0.05 }),
                        };
                    }
                    if profile >= 85 && molar {
                        reading.mobility = rng.random_bool(0.3).then_some(1);
                        reading.furcation = rng.random_bool(0.4).then(|| rng.random_range(1..=2));
                    }
                    exam.teeth.insert(t, reading);
                }
            }
            store
                .save_perio_exam(&scope, &actor, id, &exam)
                .await
                .map_err(|e| format!("demo perio: {e}"))?;
        }
        Ok(())
    })
}

/// Treatment plans: 40 patients with work planned on their chart have their exam signed, and
/// the exam's routing runs as the server would run its job (a plan per exam, the task in the
/// coordinator's or the front desk's inbox). Then some plans are presented, some accepted with
/// a signature, one declined, and a few booked as a visit series.
pub fn plans<'a>(ctx: &'a mut DemoCtx<'_>) -> BoxFuture<'a, Result<(), String>> {
    Box::pin(async move {
        use domain::plans::PlanStatus;
        use store::plans::{Decision, SeriesPreferences};
        let store = ctx.store;
        let scope = ctx.scope.clone();
        let Some(dentist) = store
            .user_by_email(&format!("dentist@{}", super::EMAIL_DOMAIN))
            .await
            .map_err(err)?
        else {
            return Err("no demo dentist".into());
        };
        let dr = Actor {
            id: Some(dentist.id),
            name: dentist.email.clone(),
            ..Default::default()
        };
        let tc = Actor::system("coordinator@demo");
        let rows = store
            .db
            .fetch_all(
                Q::new(
                    "SELECT e.patient_id, MIN(p.chart_number) AS n FROM chart_entries e JOIN patients p ON p.id = e.patient_id \
                     WHERE e.org_id = $1 AND e.status = 'planned' AND e.voided_at IS NULL GROUP BY e.patient_id ORDER BY n LIMIT 40",
                )
                .bind(scope.org()),
            )
            .await
            .map_err(err)?;
        let signature =
            "M 40 120 L 80 90 L 120 130 L 160 80 L 200 125 L 240 95 L 300 110 L 360 85 L 420 120";
        for (i, r) in rows.iter().enumerate() {
            let p = PatientId::from_uuid(r.uuid("patient_id").map_err(err)?);
            let kind = if i % 9 == 4 {
                domain::clinical::visit::VisitKind::Emergency
            } else {
                domain::clinical::visit::VisitKind::Exam
            };
            let v = store
                .create_visit(
                    &scope,
                    &dr,
                    p,
                    &store::visits::NewVisit {
                        kind: Some(kind),
                        chief_complaint: "Check-up".into(),
                        dentist_id: Some(dentist.id),
                        template: Some(("comprehensive".into(), "en".into())),
                        ..Default::default()
                    },
                )
                .await
                .map_err(err)?;
            store
                .sign_visit(&scope, &dr, p, v.id, None)
                .await
                .map_err(err)?;
            let routed = store
                .route_exam(
                    &scope,
                    p,
                    v.id,
                    kind == domain::clinical::visit::VisitKind::Emergency,
                )
                .await
                .map_err(err)?;
            let Some(plan) = routed.plan else { continue };
            let none = Decision::default();
            match i % 6 {
                1 => {
                    store
                        .set_plan_status(&scope, &tc, plan.id, PlanStatus::Presented, &none, None)
                        .await
                        .map_err(err)?;
                }
                2 | 3 => {
                    let d = Decision {
                        signed_by: Some("patient".into()),
                        signature: Some(signature.into()),
                        reason: None,
                    };
                    let accepted = store
                        .set_plan_status(&scope, &tc, plan.id, PlanStatus::Accepted, &d, None)
                        .await
                        .map_err(err)?;
                    if i % 12 == 2 {
                        // Booked as a series (a busy agenda may have no room: then it waits
                        // on the pending-treatment list, as in life).
                        let _ = store
                            .accept_series(
                                &scope,
                                &tc,
                                store::scheduling::appointments::Permits {
                                    may_override: false,
                                },
                                accepted.id,
                                &SeriesPreferences::default(),
                                None,
                            )
                            .await;
                    }
                }
                5 if i % 4 == 1 => {
                    let d = Decision {
                        reason: Some("Cost".into()),
                        ..Decision::default()
                    };
                    store
                        .set_plan_status(&scope, &tc, plan.id, PlanStatus::Declined, &d, None)
                        .await
                        .map_err(err)?;
                }
                _ => {}
            }
        }
        Ok(())
    })
}
