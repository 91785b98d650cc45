#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Treatment plans in the store, on both databases: procedures checked like charting (a
//! missing tooth refused), analysis and statuses with the signature and decline reason
//! encrypted; the visit series proposed under the rules and booked atomically (a stale slot
//! books nothing); no slot in the horizon named with the earliest date; exam routing to the
//! three inboxes, replayed without duplicates; a cyclic rule set refused.

use domain::clinical::chart::EntryRequest;
use domain::clinical::teeth::Numbering;
use domain::identity::Role;
use domain::plans::planner::{Matcher, Part, Rule};
use domain::plans::{ItemStatus, PlanStatus, Priority, Route};
use domain::scheduling::OperatoryInput;
use domain::{ErrorCode, Scope};
use jiff::civil::date;
use store::Store;
use store::clinical::ChartPermits;
use store::patients::Actor;
use store::plans::{Decision, NewItem, NewPlan, SeriesPreferences, SlotChoice};
use store::scheduling::appointments::{NewAppointment, Permits};
use store::tenancy::WriteError;
use test_support::{dual_test, patient_input, seed_org, seed_patient, seed_provider};

const MAY_NOT: Permits = Permits {
    may_override: false,
};
const DENTIST: ChartPermits = ChartPermits {
    may_complete_dentist_only: true,
};

fn err(e: WriteError) -> (ErrorCode, String, Vec<String>) {
    match e {
        WriteError::Invalid(d) => (
            d.code,
            d.message,
            d.fields
                .into_iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect(),
        ),
        other => panic!("expected a domain error, got {other}"),
    }
}

fn item(code: &str, tooth: Option<&str>, area: Option<&str>) -> NewItem {
    NewItem {
        code: code.into(),
        tooth: tooth.map(str::to_string),
        area: area.map(str::to_string),
        ..NewItem::default()
    }
}

fn entry(code: &str, tooth: Option<&str>, status: &str) -> EntryRequest {
    EntryRequest {
        code: code.into(),
        tooth: tooth.map(str::to_string),
        status: Some(status.into()),
        ..Default::default()
    }
}

struct Clinic {
    scope: Scope,
    loc: domain::Location,
    dentist: domain::UserId,
    hygienist: domain::UserId,
    chairs: Vec<domain::OperatoryId>,
}

async fn clinic(store: &Store, slug: &str) -> Clinic {
    let (org, loc) = seed_org(store, slug).await;
    let scope = Scope::system(org.id);
    let mut chairs = Vec::new();
    for n in ["Operatory 1", "Hygiene 1"] {
        chairs.push(
            store
                .create_operatory(
                    &scope,
                    &Actor::system("t"),
                    loc.id,
                    &OperatoryInput {
                        name: n.into(),
                        short_name: String::new(),
                    },
                )
                .await
                .unwrap()
                .id,
        );
    }
    let dentist = seed_provider(store, org.id, "Dr Ada Molar", Role::Dentist, "#2563eb").await;
    let hygienist = seed_provider(store, org.id, "Hal Hygienist", Role::Hygienist, "#16a34a").await;
    Clinic {
        scope,
        loc,
        dentist,
        hygienist,
        chairs,
    }
}

dual_test!(async fn a_plan_is_checked_analysed_and_decided(db) {
    let store = &db.store;
    let c = clinic(store, "plan-a").await;
    let actor = Actor::system("dr@clinic");
    let p = seed_patient(store, c.scope.org(), c.loc.id, patient_input("Noah", "Roy", "1980-01-01")).await.id;
    // 46 is gone.
    store.add_chart_entry(&c.scope, &actor, DENTIST, p, Numbering::Fdi, &entry("EXT", Some("46"), "completed"), None).await.unwrap();

    // Every problem at once, each named; nothing stored.
    let bad = NewPlan {
        items: vec![item("COMP", Some("46"), None), item("NOPE", None, None), item("SRP", Some("16"), None), NewItem { priority: Some("asap".into()), ..item("EXAM", None, None) }],
        ..NewPlan::default()
    };
    let (code, _, fields) = err(store.create_plan(&c.scope, &actor, p, &bad).await.unwrap_err());
    assert_eq!(code, ErrorCode::Validation);
    let names: Vec<&str> = fields.iter().map(|f| f.split(':').next().unwrap()).collect();
    assert!(names.contains(&"procedures[0].tooth") || names.contains(&"procedures[0].surfaces"), "{fields:?}");
    assert!(names.contains(&"procedures[1].code"), "{fields:?}");
    assert!(names.contains(&"procedures[2].area") || names.contains(&"procedures[2].tooth"), "{fields:?}");
    assert!(names.contains(&"procedures[3].priority"), "{fields:?}");
    // The missing tooth is said plainly.
    let (_, _, f) = err(store.create_plan(&c.scope, &actor, p, &NewPlan { items: vec![item("CROWN", Some("46"), None)], ..NewPlan::default() }).await.unwrap_err());
    assert!(f.iter().any(|f| f.starts_with("procedures[0].tooth") && f.contains("missing")), "{f:?}");
    let none = store.plans(&c.scope, &actor, Some(p), &[], 50).await.unwrap();
    assert!(none.is_empty());

    // An implant replaces the missing tooth; a crown with a diagnosis on 36.
    let plan = store
        .create_plan(&c.scope, &actor, p, &NewPlan {
            name: Some("Lower left".into()),
            items: vec![item("IMPL", Some("46"), None), NewItem { diagnosis: Some("Cracked cusp 36".into()), priority: Some("soon".into()), ..item("CROWN", Some("36"), None) }],
            alternative_of: None,
        })
        .await
        .unwrap();
    assert_eq!((plan.reference(), plan.status, plan.items.len()), ("TP-000001".to_string(), PlanStatus::Pending, 2));
    assert_eq!(plan.analysis.total_value_minor, 210000 + 110000);
    assert_eq!(plan.analysis.urgency, Priority::Soon);
    // 2 procedures + 2 (two specialties) + 3 (implant) + 2 (crown's lab work) + 3 hours.
    assert_eq!(plan.analysis.complexity_score, 2 + 2 + 3 + 2 + 3);
    assert_eq!(plan.routing.route, Route::Coordinator);
    assert_eq!(plan.items[1].diagnosis.as_deref(), Some("Cracked cusp 36"));
    let raw = store.db.fetch_one(store::Q::new("SELECT diagnosis_enc FROM treatment_plan_items WHERE id = $1").bind(plan.items[1].id)).await.unwrap();
    let enc = raw.opt_string("diagnosis_enc").unwrap().expect("the diagnosis is stored");
    assert!(enc.starts_with("enc:v1:") && !enc.contains("Cracked"), "{enc}");
    // Option B of the same patient's plan.
    let b = store.create_plan(&c.scope, &actor, p, &NewPlan { name: Some("Bridge instead".into()), items: vec![item("PONTIC", Some("46"), None)], alternative_of: Some(plan.id) }).await.unwrap();
    assert_eq!(b.alternative_of, Some(plan.id));

    // Presenting makes a follow-up task for the coordinators.
    let presented = store.set_plan_status(&c.scope, &actor, plan.id, PlanStatus::Presented, &Decision::default(), Some(plan.version)).await.unwrap();
    assert!(presented.presented_at.is_some());
    let inbox = store.inbox(&c.scope, Some(&actor), c.dentist, &["coordinator".into()], false).await.unwrap();
    assert_eq!(inbox.iter().filter(|t| t.kind == "follow_up").count(), 1);
    // The names on an inbox are a listing of patients: audited.
    let events = store.audit_events(c.scope.org(), 0, 100_000).await.unwrap();
    let listed = events.iter().rev().find(|e| e.action == "task.list_read").expect("the inbox is audited");
    assert!(listed.details.contains(&p.to_string()), "{}", listed.details);
    assert_eq!(store.inbox_counts(&c.scope, c.dentist, &["coordinator".into()]).await.unwrap(), (inbox.len(), inbox.iter().filter(|t| t.urgency == Priority::Urgent).count()));
    assert_eq!(inbox[0].due_at.unwrap().as_second() - presented.presented_at.unwrap().as_second(), 7 * 86400);
    // A stale version, acceptance without a signature, a decline without reason: refused.
    let (code, ..) = err(store.set_plan_status(&c.scope, &actor, plan.id, PlanStatus::Accepted, &Decision::default(), Some(plan.version)).await.unwrap_err());
    assert_eq!(code, ErrorCode::Conflict);
    let (_, _, f) = err(store.set_plan_status(&c.scope, &actor, plan.id, PlanStatus::Accepted, &Decision { signed_by: Some("Noah Roy".into()), ..Decision::default() }, None).await.unwrap_err());
    assert!(f[0].starts_with("signature"), "{f:?}");
    let (_, _, f) = err(store.set_plan_status(&c.scope, &actor, b.id, PlanStatus::Declined, &Decision::default(), None).await.unwrap_err());
    assert!(f[0].starts_with("reason"), "{f:?}");
    let accepted = store
        .set_plan_status(&c.scope, &actor, plan.id, PlanStatus::Accepted, &Decision { signed_by: Some("Noah Roy".into()), signature: Some("M 10 10 L 50 40 L 90 20".into()), reason: None }, None)
        .await
        .unwrap();
    assert_eq!(accepted.decision.signed_by.as_deref(), Some("Noah Roy"));
    // The answer closes the follow-up.
    let inbox = store.inbox(&c.scope, None, c.dentist, &["coordinator".into()], false).await.unwrap();
    assert!(inbox.iter().all(|t| t.kind != "follow_up"));
    let declined = store.set_plan_status(&c.scope, &actor, b.id, PlanStatus::Declined, &Decision { reason: Some("Prefers the implant".into()), ..Decision::default() }, None).await.unwrap();
    assert_eq!(declined.items[0].status, ItemStatus::Declined);
    assert_eq!(declined.analysis.total_value_minor, 0);
    let raw = store.db.fetch_one(store::Q::new("SELECT decision_enc FROM treatment_plans WHERE id = $1").bind(b.id)).await.unwrap();
    let enc = raw.opt_string("decision_enc").unwrap().expect("the decision is stored");
    assert!(enc.starts_with("enc:v1:") && !enc.contains("Prefers"), "{enc}");
    assert_eq!(declined.decision.reason.as_deref(), Some("Prefers the implant"));
    // A completed or declined plan cannot be accepted.
    let (_, m, _) = err(store.set_plan_status(&c.scope, &actor, b.id, PlanStatus::Accepted, &Decision::default(), None).await.unwrap_err());
    assert!(m.contains("declined plan cannot become accepted"), "{m}");
    // Another organization sees nothing.
    let (other, _) = seed_org(store, "plan-a2").await;
    let (code, ..) = err(store.plan(&Scope::system(other.id), &actor, plan.id).await.unwrap_err());
    assert_eq!(code, ErrorCode::NotFound);
    // Reordering lists every procedure once.
    let ids: Vec<_> = accepted.items.iter().rev().map(|i| i.id).collect();
    let r = store.reorder_plan(&c.scope, &actor, plan.id, &ids).await.unwrap();
    assert_eq!(r.items[0].code, "CROWN");
    assert!(store.reorder_plan(&c.scope, &actor, plan.id, &ids[..1]).await.is_err());
    // The builder adds work after the rest (checked the same way) and removes unbooked work.
    let (_, _, f) = err(store.add_plan_items(&c.scope, &actor, plan.id, &[item("CROWN", Some("46"), None)]).await.unwrap_err());
    assert!(f[0].starts_with("procedures[0].tooth"), "{f:?}");
    let grown = store.add_plan_items(&c.scope, &actor, plan.id, &[item("CORE", Some("36"), None)]).await.unwrap();
    assert_eq!(grown.items.last().map(|i| (i.code.as_str(), i.seq)), Some(("CORE", 2)));
    assert_eq!(grown.analysis.total_value_minor, 210000 + 110000 + 25000);
    let core = grown.items.last().unwrap().id;
    let shrunk = store.remove_plan_item(&c.scope, &actor, plan.id, core).await.unwrap();
    assert_eq!(shrunk.items.len(), 2);
    let stored = store.db.fetch_one(store::Q::new("SELECT total_minor FROM treatment_plans WHERE id = $1").bind(plan.id)).await.unwrap();
    assert_eq!(stored.i64("total_minor").unwrap(), 320000);
});

dual_test!(async fn the_series_follows_the_rules_and_books_all_or_nothing(db) {
    let store = &db.store;
    let c = clinic(store, "plan-b").await;
    let actor = Actor::system("front@clinic");
    let p = seed_patient(store, c.scope.org(), c.loc.id, patient_input("Lea", "Brun", "1975-04-02")).await.id;
    let plan = store
        .create_plan(&c.scope, &actor, p, &NewPlan {
            items: vec![
                item("RCT", Some("36"), None),
                item("CROWN", Some("36"), None),
                item("SRP", None, Some("UR")),
                item("SRP", None, Some("UL")),
                item("SRP", None, Some("LL")),
                item("SRP", None, Some("LR")),
            ],
            ..NewPlan::default()
        })
        .await
        .unwrap();
    let prefs = SeriesPreferences::default();
    let proposal = store.propose_series(&c.scope, &actor, plan.id, &prefs).await.unwrap();
    let v = &proposal.visits;
    assert_eq!(v.len(), 5);
    for w in v.windows(2) {
        assert!(w[1].slot.start > w[0].end);
    }
    for x in v {
        assert!(x.duration_minutes <= 120);
        assert_eq!(x.end.as_second() - x.slot.start.as_second(), i64::from(x.duration_minutes) * 60);
        // Hygiene visits go to the hygienist, the rest to the dentist.
        assert_eq!(x.slot.provider_id, if x.dentist { c.dentist } else { c.hygienist });
    }
    let day = |k: usize| v[k].slot.start.to_zoned(jiff::tz::TimeZone::get("America/New_York").unwrap()).date();
    let visit_of = |code: &str, part: Part| v.iter().position(|x| x.steps.iter().any(|(i, p)| i.code == code && *p == part)).unwrap();
    let last_srp = v.iter().rposition(|x| x.steps.iter().any(|(i, _)| i.code == "SRP")).unwrap();
    let prep = visit_of("CROWN", Part::Prep);
    let seat = visit_of("CROWN", Part::Seat);
    assert!(visit_of("RCT", Part::Whole) < prep);
    // Periodontal therapy two weeks before restorative work; the laboratory's two weeks.
    assert!(day(prep) >= day(last_srp).checked_add(jiff::Span::new().days(14)).unwrap());
    assert!(day(seat) >= day(prep).checked_add(jiff::Span::new().days(14)).unwrap());
    // Nothing is booked by a proposal.
    let count = || async { store.db.fetch_one(store::Q::new("SELECT COUNT(*) AS n FROM appointments WHERE patient_id = $1").bind(p)).await.unwrap().i64("n").unwrap() };
    assert_eq!(count().await, 0);

    // Someone books the chair and dentist of visit 3 meanwhile: accepting the slots shown
    // fails on that visit, and nothing of the series is booked.
    let other = seed_patient(store, c.scope.org(), c.loc.id, patient_input("Max", "Roux", "1990-01-01")).await.id;
    let shown: Vec<SlotChoice> = v.iter().map(|x| x.slot).collect();
    store
        .book_appointment(&c.scope, &actor, MAY_NOT, &NewAppointment {
            location_id: Some(c.loc.id),
            operatory_id: Some(v[prep].slot.operatory_id),
            patient_id: Some(other),
            provider_id: Some(v[prep].slot.provider_id),
            start: Some(v[prep].slot.start),
            duration_minutes: Some(30),
            ..Default::default()
        })
        .await
        .unwrap();
    let (code, m, _) = err(store.accept_series(&c.scope, &actor, MAY_NOT, plan.id, &prefs, Some(&shown)).await.unwrap_err());
    assert_eq!(code, ErrorCode::Conflict);
    assert!(m.starts_with(&format!("visit {}:", prep + 1)), "{m}");
    assert_eq!(count().await, 0);
    let still = store.plan(&c.scope, &actor, plan.id).await.unwrap();
    assert!(still.items.iter().all(|i| i.status == ItemStatus::Planned));

    // Accepting a fresh proposal books every visit, linked to its procedures.
    let (booked, appts) = store.accept_series(&c.scope, &actor, MAY_NOT, plan.id, &prefs, None).await.unwrap();
    assert_eq!(appts.len(), 5);
    assert_eq!(count().await, 5);
    let done = store.plan(&c.scope, &actor, plan.id).await.unwrap();
    assert_eq!(done.status, PlanStatus::Accepted);
    assert!(done.items.iter().all(|i| i.status == ItemStatus::Scheduled));
    let crown = done.items.iter().find(|i| i.code == "CROWN").unwrap();
    assert_eq!(crown.appointment_id, Some(appts[visit_of("CROWN", Part::Prep)].id));
    assert_eq!(crown.seat_appointment_id, Some(appts[booked.visits.iter().position(|x| x.steps.iter().any(|(i, p)| i.code == "CROWN" && *p == Part::Seat)).unwrap()].id));
    assert!(appts[0].start >= booked.visits[0].slot.start);
    // Everything is booked now: a second proposal says so.
    let (_, _, f) = err(store.propose_series(&c.scope, &actor, plan.id, &prefs).await.unwrap_err());
    assert!(f[0].contains("booked or done"), "{f:?}");
    // The pending-treatment report no longer lists it.
    assert!(store.pending_treatment(&c.scope, &actor).await.unwrap().iter().all(|l| l.plan.id != plan.id));
    let _ = c.chairs;
});

dual_test!(async fn no_slot_in_the_horizon_names_the_earliest_date(db) {
    let store = &db.store;
    let c = clinic(store, "plan-c").await;
    let actor = Actor::system("front@clinic");
    let p = seed_patient(store, c.scope.org(), c.loc.id, patient_input("Ines", "Vidal", "1988-08-08")).await.id;
    let plan = store.create_plan(&c.scope, &actor, p, &NewPlan { items: vec![item("COMP", Some("16"), None)], ..NewPlan::default() }).await.map_err(err);
    // COMP needs surfaces.
    let (_, _, f) = plan.unwrap_err();
    assert!(f[0].starts_with("procedures[0].surfaces"), "{f:?}");
    let plan = store.create_plan(&c.scope, &actor, p, &NewPlan { items: vec![NewItem { surfaces: Some("MO".into()), ..item("COMP", Some("16"), None) }], ..NewPlan::default() }).await.unwrap();
    assert_eq!(plan.routing.route, Route::Checkout);
    // Saturday and Sunday only: the clinic is closed; Monday 2026-03-09 08:00 is the earliest.
    let weekend = SeriesPreferences { from: Some(date(2026, 3, 7)), horizon_days: Some(2), ..SeriesPreferences::default() };
    let (code, m, _) = err(store.propose_series(&c.scope, &actor, plan.id, &weekend).await.unwrap_err());
    assert_eq!(code, ErrorCode::Conflict);
    assert!(m.contains("no free slot from 2026-03-07 to 2026-03-09"), "{m}");
    assert!(m.contains("the earliest possible is 2026-03-09 08:00"), "{m}");
    // A window before opening: never.
    let never = SeriesPreferences { window: Some((jiff::civil::time(6, 0, 0, 0), jiff::civil::time(7, 30, 0, 0))), ..SeriesPreferences::default() };
    let (_, m, _) = err(store.propose_series(&c.scope, &actor, plan.id, &never).await.unwrap_err());
    assert!(m.contains("no free slot from 2026-03-03"), "{m}");
    // The wished weekdays are kept.
    let thursdays = SeriesPreferences { days: vec![jiff::civil::Weekday::Thursday], ..SeriesPreferences::default() };
    let prop = store.propose_series(&c.scope, &actor, plan.id, &thursdays).await.unwrap();
    let z = prop.visits[0].slot.start.to_zoned(jiff::tz::TimeZone::get("America/New_York").unwrap());
    assert_eq!((z.weekday(), z.date()), (jiff::civil::Weekday::Thursday, date(2026, 3, 5)));
});

dual_test!(async fn exam_routing_fills_the_three_inboxes_once(db) {
    use domain::clinical::visit::VisitKind;
    use store::visits::NewVisit;
    let store = &db.store;
    let c = clinic(store, "plan-d").await;
    let dr = Actor::system("dr@clinic");
    let mut routed = Vec::new();
    for (name, kind, work) in [
        ("High", VisitKind::Exam, vec![entry("IMPL", Some("36"), "planned")]),
        ("Urgent", VisitKind::Emergency, vec![entry("EXT", Some("48"), "planned")]),
        ("Simple", VisitKind::Exam, vec![EntryRequest { surfaces: Some("O".into()), ..entry("COMP", Some("17"), "planned") }]),
    ] {
        let p = seed_patient(store, c.scope.org(), c.loc.id, patient_input(name, "Patient", "1970-01-01")).await.id;
        store.add_chart_entries(&c.scope, &dr, DENTIST, p, Numbering::Fdi, &work).await.unwrap();
        let v = store.create_visit(&c.scope, &dr, p, &NewVisit { kind: Some(kind), chief_complaint: "exam".into(), ..Default::default() }).await.unwrap();
        store.sign_visit(&c.scope, &dr, p, v.id, None).await.unwrap();
        routed.push((p, v.id));
    }
    // The signing enqueued the routing jobs; a runner runs them.
    let runner = store::jobs::JobRunner::new(store.clone(), store::jobs::RunnerSettings::default())
        .handle(store::plans::EXAM_ROUTE, store::plans::ExamRouter);
    runner.tick().await.unwrap();
    let (scope, dentist) = (&c.scope, c.dentist);
    let tasks = |role: &str| {
        let role = role.to_string();
        async move { store.inbox(scope, None, dentist, &[role], false).await.unwrap() }
    };
    let coord = tasks("coordinator").await;
    let desk = tasks("receptionist").await;
    assert_eq!(coord.len(), 1);
    assert_eq!(coord[0].kind, "route.coordinator");
    assert_eq!(coord[0].patient_id, Some(routed[0].0));
    assert_eq!(desk.len(), 2);
    // The urgent one first.
    assert_eq!((desk[0].kind.as_str(), desk[0].urgency, desk[0].patient_id), ("route.urgent_scheduling", Priority::Urgent, Some(routed[1].0)));
    assert_eq!((desk[1].kind.as_str(), desk[1].patient_id), ("route.checkout", Some(routed[2].0)));
    let plans = store.plans(&c.scope, &dr, None, &[], 50).await.unwrap();
    assert_eq!(plans.len(), 3);
    assert_eq!(plans.iter().filter(|l| l.plan.visit_id.is_some() && l.plan.route.is_some()).count(), 3);

    // Replaying every exam's routing creates nothing twice.
    for (p, v) in &routed {
        let again = store.route_exam(&c.scope, *p, *v, false).await.unwrap();
        assert!(!again.created);
        assert!(again.plan.is_some() && again.task.is_some());
    }
    assert_eq!(store.plans(&c.scope, &dr, None, &[], 50).await.unwrap().len(), 3);
    assert_eq!(tasks("coordinator").await.len() + tasks("receptionist").await.len(), 3);
    // Done is done; a task by hand to one user.
    let t = store.set_task_done(&c.scope, &dr, coord[0].id, true).await.unwrap();
    assert!(!t.open && t.done_by_name.as_deref() == Some("dr@clinic"));
    assert!(tasks("coordinator").await.is_empty());
    let mine = store
        .create_task(&c.scope, &dr, &store::plans::NewTask { title: "Call the lab about 36".into(), assignee_id: Some(c.hygienist), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(store.inbox(&c.scope, None, c.hygienist, &[], false).await.unwrap()[0].id, mine.id);
    assert!(store.create_task(&c.scope, &dr, &store::plans::NewTask { title: " ".into(), assignee_id: Some(c.hygienist), ..Default::default() }).await.is_err());
});

dual_test!(async fn a_cyclic_rule_set_is_refused_and_nothing_changes(db) {
    let store = &db.store;
    let c = clinic(store, "plan-e").await;
    let actor = Actor::system("admin@clinic");
    let (mut rules, routing) = store.plan_settings(&c.scope).await.unwrap();
    rules.rules.push(Rule { name: "implant before the extraction".into(), before: Matcher { codes: vec!["IMPL".into()], categories: vec![] }, after: Matcher { codes: vec!["EXT".into()], categories: vec![] }, same_site: true, min_days: 0 });
    let (_, m, f) = err(store.set_plan_settings(&c.scope, &actor, &rules, &routing).await.unwrap_err());
    assert!(f[0].starts_with("rules: these rules go round in a circle: "), "{m} {f:?}");
    assert!(f[0].contains("implant before the extraction") && f[0].contains("extraction heals before the implant"), "{f:?}");
    assert_eq!(store.plan_settings(&c.scope).await.unwrap().0, domain::plans::planner::RuleSet::starter());
    // A good change is kept.
    rules.rules.pop();
    rules.max_visit_minutes = 90;
    store.set_plan_settings(&c.scope, &actor, &rules, &routing).await.unwrap();
    assert_eq!(store.plan_settings(&c.scope).await.unwrap().0.max_visit_minutes, 90);
});
