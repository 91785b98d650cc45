#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! The chokepoint, route by route: every declared route, for nobody signed in and for each
//! default staff role, against an id of its own organization and of another one, on both
//! databases. And the seed's page table, exactly.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use domain::identity::Role;
use test_support::{
    STAFF_PASSWORD, TestApp, TestDb, TestResponse, dual_test, seed_org, seed_staff, staff_email,
};
use web::access::{Access, RouteDecl, route_table};

#[derive(Clone, Copy, PartialEq, Debug)]
enum Tenant {
    Own,
    Other,
}

struct Fixtures {
    job: [domain::JobId; 2],
    /// A session of another organization's user.
    other_session: String,
    /// A signed link to a file of the own organization.
    file_url: String,
    /// A provider of each organization.
    provider: [domain::UserId; 2],
    /// An API token of each organization.
    api_token: [uuid::Uuid; 2],
    /// A security alert of each organization.
    alert: [uuid::Uuid; 2],
    /// A custom role of each organization.
    role: [uuid::Uuid; 2],
    /// A patient of each organization, with a document.
    patient: [domain::PatientId; 2],
    document: [domain::DocumentId; 2],
    /// A merge of the other organization (own merges are made fresh: undoing succeeds once).
    other_merge: domain::MergeId,
    /// An import run of each organization.
    import_run: [uuid::Uuid; 2],
    /// A custom patient field of each organization.
    field: [uuid::Uuid; 2],
    /// Scheduling: an appointment, a chair and an appointment type of each organization; the
    /// other organization's ASAP entry, blockout and calendar feed (own ones are made fresh:
    /// removing succeeds once); the own organization's feed token.
    appointment: [domain::AppointmentId; 2],
    chair: [domain::OperatoryId; 2],
    appt_type: [domain::AppointmentTypeId; 2],
    other_waitlist: domain::WaitlistId,
    other_blockout: domain::BlockoutId,
    other_feed: domain::CalendarFeedId,
    feed_token: String,
    /// A chart entry and a perio exam on each organization's patient.
    chart_entry: [domain::ChartEntryId; 2],
    perio_exam: [uuid::Uuid; 2],
    visit: [uuid::Uuid; 2],
    prescription: [uuid::Uuid; 2],
    case: [uuid::Uuid; 2],
    plan: [uuid::Uuid; 2],
    /// A payment on each organization's patient, and a payment plan.
    payment: [uuid::Uuid; 2],
    payment_plan: [uuid::Uuid; 2],
    invoice: [uuid::Uuid; 2],
}

struct Sched {
    chair: domain::OperatoryId,
    appt_type: domain::AppointmentTypeId,
    appointment: domain::AppointmentId,
}

/// A chair, a type, a provider and an appointment tomorrow in `org`.
async fn add_schedule(app: &TestApp, org: domain::OrgId, patient: domain::PatientId) -> Sched {
    let scope = domain::Scope::system(org);
    let actor = store::patients::Actor::system("test");
    let store = &app.db.store;
    let loc = store.locations(&scope).await.unwrap()[0].id;
    let chair = store
        .create_operatory(
            &scope,
            &actor,
            loc,
            &domain::scheduling::OperatoryInput {
                name: "Op 1".into(),
                short_name: String::new(),
            },
        )
        .await
        .unwrap();
    let ty = store
        .save_appointment_type(
            &scope,
            &actor,
            None,
            &domain::scheduling::AppointmentTypeInput {
                name: "Exam".into(),
                colour: "#123456".into(),
                pattern: "XXX".into(),
                unit_minutes: 10,
            },
            true,
        )
        .await
        .unwrap();
    let dentist =
        test_support::seed_provider(store, org, "Dr Sched", Role::Dentist, "#654321").await;
    let a = store
        .book_appointment(
            &scope,
            &actor,
            store::scheduling::appointments::Permits { may_override: true },
            &store::scheduling::appointments::NewAppointment {
                location_id: Some(loc),
                operatory_id: Some(chair.id),
                patient_id: Some(patient),
                provider_id: Some(dentist),
                appointment_type_id: Some(ty.id),
                start: Some(
                    test_support::test_epoch()
                        .checked_add(jiff::SignedDuration::from_hours(24))
                        .unwrap(),
                ),
                override_reason: Some("test".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    Sched {
        chair: chair.id,
        appt_type: ty.id,
        appointment: a.id,
    }
}

/// A saved agenda view of the staff member of `role` in the organization `slug`.
async fn add_view(app: &TestApp, slug: &str, role: Role) -> uuid::Uuid {
    let user = app
        .db
        .store
        .user_by_email(&staff_email(slug, role))
        .await
        .unwrap()
        .unwrap();
    let scope = domain::Scope::system(user.org_id);
    let loc = app.db.store.locations(&scope).await.unwrap()[0].id;
    app.db
        .store
        .save_agenda_view(
            &scope,
            user.id,
            &store::scheduling::AgendaView {
                id: uuid::Uuid::nil(),
                name: format!("View {}", uuid::Uuid::now_v7()),
                location_id: loc,
                by_provider: false,
                columns: vec![],
                colour_by: "type".into(),
            },
        )
        .await
        .unwrap()
}

async fn add_waitlist(app: &TestApp, org: domain::OrgId) -> domain::WaitlistId {
    let scope = domain::Scope::system(org);
    let loc = app.db.store.locations(&scope).await.unwrap()[0].id;
    let (p, _, _) = add_patient(app, org, "Waiting").await;
    app.db
        .store
        .add_to_waitlist(
            &scope,
            &store::patients::Actor::system("test"),
            &store::scheduling::waitlist::NewWaitlistEntry {
                location_id: loc,
                patient_id: p,
                appointment_type_id: None,
                wish: domain::scheduling::WaitlistWish {
                    duration_minutes: 30,
                    earliest: None,
                    latest: None,
                    weekdays: vec![],
                    day_part: domain::scheduling::DayPart::Any,
                    provider: None,
                },
                notes: String::new(),
            },
        )
        .await
        .unwrap()
}

async fn add_chart_entry(
    app: &TestApp,
    org: domain::OrgId,
    patient: domain::PatientId,
) -> domain::ChartEntryId {
    app.db
        .store
        .add_chart_entry(
            &domain::Scope::system(org),
            &store::patients::Actor::system("test"),
            store::clinical::ChartPermits {
                may_complete_dentist_only: true,
            },
            patient,
            domain::clinical::teeth::Numbering::Fdi,
            &domain::clinical::chart::EntryRequest {
                code: "CROWN".into(),
                tooth: Some("16".into()),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap()
        .id
}

async fn add_perio_exam(
    app: &TestApp,
    org: domain::OrgId,
    patient: domain::PatientId,
) -> uuid::Uuid {
    let mut exam = domain::clinical::perio::PerioExam::default();
    exam.teeth.insert(
        domain::clinical::teeth::Tooth::from_fdi(16).unwrap(),
        domain::clinical::perio::ToothReading {
            mobility: Some(1),
            ..Default::default()
        },
    );
    app.db
        .store
        .save_perio_exam(
            &domain::Scope::system(org),
            &store::patients::Actor::system("test"),
            patient,
            &exam,
        )
        .await
        .unwrap()
}

async fn add_visit(app: &TestApp, org: domain::OrgId, patient: domain::PatientId) -> uuid::Uuid {
    app.db
        .store
        .create_visit(
            &domain::Scope::system(org),
            &store::patients::Actor::system("test"),
            patient,
            &store::visits::NewVisit {
                kind: Some(domain::clinical::visit::VisitKind::Exam),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id
}

async fn add_prescription(
    app: &TestApp,
    org: domain::OrgId,
    patient: domain::PatientId,
) -> uuid::Uuid {
    // No medical history recorded: the checks ask for a reason.
    test_support::seed_prescription(&app.db.store, org, patient, "Acetaminophen", "test fixture")
        .await
}

async fn add_case(app: &TestApp, org: domain::OrgId, patient: domain::PatientId) -> uuid::Uuid {
    app.db
        .store
        .open_case(
            &domain::Scope::system(org),
            &store::patients::Actor::system("test"),
            patient,
            &domain::clinical::case::CaseText {
                title: "Crown 16".into(),
                notes: String::new(),
            },
            None,
        )
        .await
        .unwrap()
        .id
}

async fn add_payment(app: &TestApp, org: domain::OrgId, patient: domain::PatientId) -> uuid::Uuid {
    let store = &app.db.store;
    let scope = domain::Scope::system(org);
    let actor = store::patients::Actor::system("test");
    store
        .post(
            &scope,
            &actor,
            &store::ledger::NewPosting::new(
                patient,
                domain::billing::Entry::Charge { amount: 5_000 },
                "exam",
            ),
        )
        .await
        .unwrap();
    store
        .post(
            &scope,
            &actor,
            &store::ledger::NewPosting::new(
                patient,
                domain::billing::Entry::Payment {
                    amount: 5_000,
                    method: domain::billing::Method::Cash,
                },
                "payment",
            ),
        )
        .await
        .unwrap()[0]
        .id
}

async fn add_invoice(app: &TestApp, org: domain::OrgId, patient: domain::PatientId) -> uuid::Uuid {
    let store = &app.db.store;
    let scope = domain::Scope::system(org);
    let actor = store::patients::Actor::system("test");
    let draft = store::invoices::InvoiceDraft {
        lines: vec![store::invoices::DraftLine::item(
            store::invoices::LineKind::Product,
            "Toothbrush",
            1,
            500,
        )],
        ..Default::default()
    };
    let inv = store
        .create_invoice(&scope, &actor, patient, &draft, false)
        .await
        .unwrap();
    store
        .issue_invoice(&scope, &actor, inv.id, false)
        .await
        .unwrap()
        .id
}

async fn add_payment_plan(
    app: &TestApp,
    org: domain::OrgId,
    patient: domain::PatientId,
) -> uuid::Uuid {
    let store = &app.db.store;
    let scope = domain::Scope::system(org);
    let actor = store::patients::Actor::system("test");
    store
        .post(
            &scope,
            &actor,
            &store::ledger::NewPosting::new(
                patient,
                domain::billing::Entry::Charge { amount: 60_000 },
                "crown",
            ),
        )
        .await
        .unwrap();
    let first_due = store
        .now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .tomorrow()
        .unwrap();
    store
        .create_payment_plan(
            &scope,
            &actor,
            patient,
            &domain::billing::amortize::Terms {
                principal: 60_000,
                down_payment: 0,
                annual_rate_bp: 0,
                installments: 3,
                frequency: domain::billing::amortize::Frequency::Monthly,
                first_due,
            },
        )
        .await
        .unwrap()
        .id
}

async fn add_plan(app: &TestApp, org: domain::OrgId, patient: domain::PatientId) -> uuid::Uuid {
    app.db
        .store
        .create_plan(
            &domain::Scope::system(org),
            &store::patients::Actor::system("test"),
            patient,
            &store::plans::NewPlan {
                name: Some("Crown 26".into()),
                items: vec![store::plans::NewItem {
                    code: "CROWN".into(),
                    tooth: Some("26".into()),
                    ..Default::default()
                }],
                alternative_of: None,
            },
        )
        .await
        .unwrap()
        .id
}

async fn add_blockout(app: &TestApp, org: domain::OrgId) -> domain::BlockoutId {
    let scope = domain::Scope::system(org);
    let loc = app.db.store.locations(&scope).await.unwrap()[0].id;
    app.db
        .store
        .add_blockout(
            &scope,
            &store::patients::Actor::system("test"),
            &store::scheduling::Blockout {
                id: domain::BlockoutId::from_uuid(uuid::Uuid::nil()),
                location_id: loc,
                operatory_id: None,
                label: "Meeting".into(),
                colour: "#eeeeee".into(),
                allowed_types: vec![],
                rule: domain::scheduling::BlockoutRule {
                    weekday: Some(1),
                    day: None,
                    start: jiff::civil::time(12, 0, 0, 0),
                    end: jiff::civil::time(13, 0, 0, 0),
                    valid_from: None,
                    valid_to: None,
                },
            },
        )
        .await
        .unwrap()
        .id
}

async fn add_feed(app: &TestApp, org: domain::OrgId) -> (domain::CalendarFeedId, String) {
    let scope = domain::Scope::system(org);
    let loc = app.db.store.locations(&scope).await.unwrap()[0].id;
    let (f, token) = app
        .db
        .store
        .create_feed(
            &scope,
            &store::patients::Actor::system("test"),
            None,
            Some(loc),
        )
        .await
        .unwrap();
    (f.id, token)
}

async fn dead_job(db: &TestDb, org: domain::OrgId) -> domain::JobId {
    let id = db
        .store
        .enqueue(
            store::jobs::NewJob::new("reminder.send", serde_json::json!({}))
                .org(org)
                .attempts(1),
        )
        .await
        .unwrap();
    for j in db
        .store
        .claim_jobs("w", 10, std::time::Duration::from_secs(60))
        .await
        .unwrap()
    {
        db.store
            .fail_job(&j, "w", "gateway answered 503", std::time::Duration::ZERO)
            .await
            .unwrap();
    }
    id
}

async fn send(app: &TestApp, method: &str, path: &str, cookie: Option<&str>) -> TestResponse {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(c) = cookie {
        b = b.header("cookie", c);
    }
    let uploads = method == "POST" && (path.ends_with("/documents") || path == "/patients/import");
    let body = if method == "GET" {
        Body::empty()
    } else if uploads {
        b = b.header("content-type", "multipart/form-data; boundary=XyZ");
        Body::from("--XyZ--\r\n")
    } else if path.starts_with("/api/") {
        b = b.header("content-type", "application/json");
        Body::from("{}")
    } else {
        b = b.header("content-type", "application/x-www-form-urlencoded");
        Body::empty()
    };
    app.request(b.body(body).unwrap()).await
}

/// The path with its parameter filled for the tenant asked (a fresh own session id is made
/// for the session route, since revoking it is what succeeds).
async fn fill(
    app: &TestApp,
    d: &RouteDecl,
    tenant: Tenant,
    role: Option<Role>,
    fx: &Fixtures,
) -> String {
    match d.path {
        "/static/{file}" => "/static/app.css".into(),
        "/files/{id}" => fx.file_url.clone(),
        "/admin/jobs/{id}/retry" => {
            let job = fx.job[if tenant == Tenant::Own { 0 } else { 1 }];
            format!("/admin/jobs/{job}/retry")
        }
        "/profile/sessions/{id}/revoke" => {
            let id = match (tenant, role) {
                (Tenant::Own, Some(role)) => {
                    // A second session of the same user, to revoke.
                    let user = app
                        .db
                        .store
                        .user_by_email(&staff_email("north", role))
                        .await
                        .unwrap()
                        .unwrap();
                    let ids = |v: Vec<store::identity::SessionInfo>| {
                        v.into_iter()
                            .map(|s| s.id)
                            .collect::<std::collections::HashSet<_>>()
                    };
                    let before = ids(app
                        .db
                        .store
                        .sessions_of(&user.scope(), user.id, None)
                        .await
                        .unwrap());
                    app.sign_in(&staff_email("north", role), STAFF_PASSWORD)
                        .await;
                    let after = ids(app
                        .db
                        .store
                        .sessions_of(&user.scope(), user.id, None)
                        .await
                        .unwrap());
                    after.difference(&before).next().unwrap().clone()
                }
                _ => fx.other_session.clone(),
            };
            format!("/profile/sessions/{id}/revoke")
        }
        "/doctors/{id}" | "/doctors/{id}/deactivate" | "/doctors/{id}/activate" => {
            let id = fx.provider[if tenant == Tenant::Own { 0 } else { 1 }];
            d.path.replace("{id}", &id.to_string())
        }
        "/settings/api-tokens/{id}/revoke" => {
            let id = fx.api_token[if tenant == Tenant::Own { 0 } else { 1 }];
            format!("/settings/api-tokens/{id}/revoke")
        }
        "/audit/alerts/{id}/ack" => {
            let id = fx.alert[if tenant == Tenant::Own { 0 } else { 1 }];
            format!("/audit/alerts/{id}/ack")
        }
        "/settings/roles/{id}"
        | "/settings/roles/{id}/members"
        | "/settings/roles/{id}/members/remove" => {
            let id = fx.role[if tenant == Tenant::Own { 0 } else { 1 }];
            d.path.replace("{id}", &id.to_string())
        }
        "/patients/{id}/documents/{doc}" | "/patients/{id}/documents/{doc}/delete" => {
            let i = if tenant == Tenant::Own { 0 } else { 1 };
            d.path
                .replace("{id}", &fx.patient[i].to_string())
                .replace("{doc}", &fx.document[i].to_string())
        }
        "/families/{id}/guarantor" | "/api/v1/families/{id}" => {
            // The patient's family now (moving the patient makes a new one).
            let i = if tenant == Tenant::Own { 0 } else { 1 };
            let org = app
                .db
                .store
                .org_by_slug(if i == 0 { "north" } else { "south" })
                .await
                .unwrap()
                .unwrap()
                .id;
            let id = app
                .db
                .store
                .patient_summary(&domain::Scope::system(org), fx.patient[i])
                .await
                .unwrap()
                .family_id;
            d.path.replace("{id}", &id.to_string())
        }
        "/merges/{id}/undo" | "/api/v1/merges/{id}/undo" => {
            let id = match tenant {
                Tenant::Own => fresh_merge(app).await,
                Tenant::Other => fx.other_merge,
            };
            d.path.replace("{id}", &id.to_string())
        }
        "/settings/patient-fields/{id}/toggle" => {
            let id = fx.field[if tenant == Tenant::Own { 0 } else { 1 }];
            d.path.replace("{id}", &id.to_string())
        }
        "/patients/import/{id}" | "/api/v1/patient-imports/{id}" => {
            let id = fx.import_run[if tenant == Tenant::Own { 0 } else { 1 }];
            d.path.replace("{id}", &id.to_string())
        }
        "/patients/{id}/visits/{visit}" => {
            let i = if tenant == Tenant::Own { 0 } else { 1 };
            d.path
                .replace("{id}", &fx.patient[i].to_string())
                .replace("{visit}", &fx.visit[i].to_string())
        }
        "/patients/{id}/prescriptions/{rx}"
        | "/patients/{id}/prescriptions/{rx}/pdf"
        | "/patients/{id}/prescriptions/{rx}/cancel"
        | "/api/v1/patients/{id}/prescriptions/{rx}"
        | "/api/v1/patients/{id}/prescriptions/{rx}/pdf" => {
            let i = if tenant == Tenant::Own { 0 } else { 1 };
            d.path
                .replace("{id}", &fx.patient[i].to_string())
                .replace("{rx}", &fx.prescription[i].to_string())
        }
        "/invoices/{id}"
        | "/invoices/{id}/edit"
        | "/invoices/{id}/pdf"
        | "/api/v1/invoices/{id}"
        | "/api/v1/invoices/{id}/issue"
        | "/api/v1/invoices/{id}/void" => {
            let i = if tenant == Tenant::Own { 0 } else { 1 };
            d.path.replace("{id}", &fx.invoice[i].to_string())
        }
        "/api/v1/payment-plans/{id}" => {
            let i = if tenant == Tenant::Own { 0 } else { 1 };
            d.path.replace("{id}", &fx.payment_plan[i].to_string())
        }
        "/patients/{id}/payments/{posting}/receipt" => {
            let i = if tenant == Tenant::Own { 0 } else { 1 };
            d.path
                .replace("{id}", &fx.patient[i].to_string())
                .replace("{posting}", &fx.payment[i].to_string())
        }
        "/treatment-plans/{id}"
        | "/treatment-plans/{id}/present"
        | "/treatment-plans/{id}/pdf"
        | "/api/v1/treatment-plans/{id}"
        | "/api/v1/treatment-plans/{id}/visit-series"
        | "/api/v1/treatment-plans/{id}/visit-series/accept" => {
            let i = if tenant == Tenant::Own { 0 } else { 1 };
            d.path.replace("{id}", &fx.plan[i].to_string())
        }
        "/treatments/{id}" | "/api/v1/treatments/{id}" => {
            let i = if tenant == Tenant::Own { 0 } else { 1 };
            d.path.replace("{id}", &fx.case[i].to_string())
        }
        "/patients/{id}/perio/{exam}/confirm" => {
            let i = if tenant == Tenant::Own { 0 } else { 1 };
            d.path
                .replace("{id}", &fx.patient[i].to_string())
                .replace("{exam}", &fx.perio_exam[i].to_string())
        }
        "/patients/{id}/chart/{entry}" | "/api/v1/patients/{id}/procedures/{entry}" => {
            let i = if tenant == Tenant::Own { 0 } else { 1 };
            d.path
                .replace("{id}", &fx.patient[i].to_string())
                .replace("{entry}", &fx.chart_entry[i].to_string())
        }
        p if p.starts_with("/patients/{id}") || p.starts_with("/api/v1/patients/{id}") => {
            let id = fx.patient[if tenant == Tenant::Own { 0 } else { 1 }];
            d.path.replace("{id}", &id.to_string())
        }
        "/appointments/waitlist/{id}/remove" | "/api/v1/waitlist/{id}" => {
            let id = if tenant == Tenant::Own {
                let org = app.db.store.org_by_slug("north").await.unwrap().unwrap().id;
                add_waitlist(app, org).await
            } else {
                fx.other_waitlist
            };
            d.path.replace("{id}", &id.to_string())
        }
        "/appointments/views/{id}/delete" => {
            // A view of the signed-in user (own) or of the other organization's admin.
            let (slug, role) = match (tenant, role) {
                (Tenant::Own, Some(role)) => ("north", role),
                (Tenant::Own, None) => ("north", Role::Admin),
                (Tenant::Other, _) => ("south", Role::Admin),
            };
            let id = add_view(app, slug, role).await;
            d.path.replace("{id}", &id.to_string())
        }
        "/settings/scheduling/blockouts/{id}/delete" => {
            let id = if tenant == Tenant::Own {
                let org = app.db.store.org_by_slug("north").await.unwrap().unwrap().id;
                add_blockout(app, org).await
            } else {
                fx.other_blockout
            };
            d.path.replace("{id}", &id.to_string())
        }
        "/settings/scheduling/feeds/{id}/revoke" => {
            let id = if tenant == Tenant::Own {
                let org = app.db.store.org_by_slug("north").await.unwrap().unwrap().id;
                add_feed(app, org).await.0
            } else {
                fx.other_feed
            };
            d.path.replace("{id}", &id.to_string())
        }
        "/settings/scheduling/chairs/{id}" => d.path.replace(
            "{id}",
            &fx.chair[if tenant == Tenant::Own { 0 } else { 1 }].to_string(),
        ),
        "/settings/scheduling/types/{id}" => d.path.replace(
            "{id}",
            &fx.appt_type[if tenant == Tenant::Own { 0 } else { 1 }].to_string(),
        ),
        "/ical/{token}" => format!("/ical/{}.ics", fx.feed_token),
        p if p.starts_with("/appointments/{id}") || p.starts_with("/api/v1/appointments/{id}") => {
            d.path.replace(
                "{id}",
                &fx.appointment[if tenant == Tenant::Own { 0 } else { 1 }].to_string(),
            )
        }
        p if p.contains('{') => panic!("no fixture for {p}: add one"),
        p => p.to_string(),
    }
}

/// A patient of `org` at its first location, with a PDF document.
async fn add_patient(
    app: &TestApp,
    org: domain::OrgId,
    given: &str,
) -> (domain::PatientId, domain::DocumentId, domain::FamilyId) {
    let scope = domain::Scope::system(org);
    let loc = app.db.store.locations(&scope).await.unwrap()[0].id;
    let p = test_support::seed_patient(
        &app.db.store,
        org,
        loc,
        test_support::patient_input(given, "Access", "1980-01-01"),
    )
    .await;
    let doc = app
        .db
        .store
        .add_document(
            &app.state.objects,
            &store::patients::documents::BuiltinScanner,
            &scope,
            &store::patients::Actor::system("test"),
            p.id,
            store::patients::documents::Upload {
                category: "consent".into(),
                title: "Consent".into(),
                file_name: "consent.pdf".into(),
                data: bytes::Bytes::from_static(b"%PDF-1.4\n%%EOF\n"),
                replaces: None,
            },
            1 << 20,
        )
        .await
        .unwrap();
    (p.id, doc.id, p.family_id)
}

/// Two fresh patients of north merged; the merge's id.
async fn fresh_merge(app: &TestApp) -> domain::MergeId {
    let org = app.db.store.org_by_slug("north").await.unwrap().unwrap().id;
    let (a, _, _) = add_patient(app, org, "Keep").await;
    let (b, _, _) = add_patient(app, org, "Dupe").await;
    app.db
        .store
        .merge_patients(
            &domain::Scope::system(org),
            &store::patients::Actor::system("test"),
            a,
            b,
        )
        .await
        .unwrap()
}

async fn add_field(app: &TestApp, org: domain::OrgId) -> uuid::Uuid {
    app.db
        .store
        .add_patient_field(
            &domain::Scope::system(org),
            &store::patients::Actor::system("test"),
            domain::patients::CustomField {
                key: "school".into(),
                label: "School".into(),
                kind: "text".into(),
                choices: vec![],
                required: false,
            },
        )
        .await
        .unwrap()
}

async fn add_import_run(app: &TestApp, org: domain::OrgId) -> uuid::Uuid {
    let scope = domain::Scope::system(org);
    let loc = app.db.store.locations(&scope).await.unwrap()[0].id;
    app.db
        .store
        .start_import(
            &scope,
            &store::patients::Actor::system("test"),
            &store::patients::import::ImportOptions {
                location_id: loc,
                mapping: domain::patients::import::generic(),
                dry_run: true,
                file_name: "x.csv".into(),
                run: None,
            },
        )
        .await
        .unwrap()
}

async fn add_provider(app: &TestApp, org: domain::OrgId, phone: &str) -> domain::UserId {
    let admin = app
        .db
        .store
        .user_by_email(&staff_email(
            if phone.ends_with('1') {
                "north"
            } else {
                "south"
            },
            Role::Admin,
        ))
        .await
        .unwrap()
        .unwrap();
    app.db
        .store
        .create_provider(
            &domain::Scope::system(org),
            &admin,
            &store::providers::ProviderInput {
                name: format!("Dr. {phone}"),
                email: format!("dr{}@providers.test", &phone[phone.len() - 4..]),
                phone: phone.into(),
                roles: vec![Role::Dentist],
                profile: domain::identity::provider::ProviderProfile {
                    licence_number: "L-1".into(),
                    npi: "1234567893".into(),
                    specialty: "general_dentistry".into(),
                    color: "#2a9d8f".into(),
                },
            },
        )
        .await
        .unwrap()
}

async fn add_token(app: &TestApp, slug: &str) -> uuid::Uuid {
    let admin = app
        .db
        .store
        .user_by_email(&staff_email(slug, Role::Admin))
        .await
        .unwrap()
        .unwrap();
    app.db
        .store
        .create_api_token(
            &admin.scope(),
            &admin,
            "bridge",
            &[domain::identity::Permission::PatientsRead],
            30,
        )
        .await
        .unwrap();
    app.db.store.api_tokens(&admin.scope()).await.unwrap()[0].id
}

async fn add_role(app: &TestApp, slug: &str) -> uuid::Uuid {
    let admin = app
        .db
        .store
        .user_by_email(&staff_email(slug, Role::Admin))
        .await
        .unwrap()
        .unwrap();
    app.db
        .store
        .create_custom_role(
            &admin.scope(),
            &admin,
            "Lead",
            &[domain::identity::Permission::ReportsView],
        )
        .await
        .unwrap()
}

async fn add_alert(app: &TestApp, org: domain::OrgId) -> uuid::Uuid {
    let id = app.db.store.new_uuid();
    app.db.store.db.execute(store::db::Q::new(
        "INSERT INTO security_alerts (id, org_id, kind, user_id, actor, window_start, detail, created_at, acknowledged_at) \
         VALUES ($1, $2, $3, NULL, $4, $5, $6, $5, NULL)",
    ).bind(id).bind(org).bind("off_hours").bind("someone@example.test").bind(app.db.store.now()).bind("{}")).await.unwrap();
    id
}

/// Routes whose success ends the session used for the request.
fn ends_session(d: &RouteDecl) -> bool {
    matches!(
        (d.method, d.path),
        ("POST", "/logout") | ("DELETE", "/api/v1/session")
    )
}

dual_test!(async fn every_route_for_every_role_and_tenant(db) {
    let (north, _) = seed_org(&db.store, "north").await;
    let (south, _) = seed_org(&db.store, "south").await;
    seed_staff(&db.store, &north).await;
    seed_staff(&db.store, &south).await;
    let job_north = dead_job(&db, north.id).await;
    let job_south = dead_job(&db, south.id).await;
    let app = TestApp::new(db).await;
    app.sign_in(&staff_email("south", Role::Admin), STAFF_PASSWORD).await;
    let south_admin = app.db.store.user_by_email(&staff_email("south", Role::Admin)).await.unwrap().unwrap();
    let other_session = app.db.store.sessions_of(&south_admin.scope(), south_admin.id, None).await.unwrap()[0].id.clone();
    let scope = domain::Scope::system(north.id);
    let obj = app.state.objects.put(&app.db.store, &scope, None, "text/plain", bytes::Bytes::from_static(b"lab slip")).await.unwrap();
    let file_url = app.state.objects.signed_url(&app.db.store, &scope, obj.id, std::time::Duration::from_secs(3600)).await.unwrap();
    let provider = [add_provider(&app, north.id, "+15550109001").await, add_provider(&app, south.id, "+15550109002").await];
    let api_token = [add_token(&app, "north").await, add_token(&app, "south").await];
    let alert = [add_alert(&app, north.id).await, add_alert(&app, south.id).await];
    let role = [add_role(&app, "north").await, add_role(&app, "south").await];
    let (pn, dn, _) = add_patient(&app, north.id, "North").await;
    let (ps, ds, _) = add_patient(&app, south.id, "South").await;
    let other_merge = {
        let (a, _, _) = add_patient(&app, south.id, "Keep").await;
        let (b, _, _) = add_patient(&app, south.id, "Dupe").await;
        app.db.store.merge_patients(&domain::Scope::system(south.id), &store::patients::Actor::system("test"), a, b).await.unwrap()
    };
    let import_run = [add_import_run(&app, north.id).await, add_import_run(&app, south.id).await];
    let field = [add_field(&app, north.id).await, add_field(&app, south.id).await];
    let sn = add_schedule(&app, north.id, pn).await;
    let ss = add_schedule(&app, south.id, ps).await;
    let (_, feed_token) = add_feed(&app, north.id).await;
    let fx = Fixtures {
        job: [job_north, job_south], other_session, file_url, provider, api_token, alert, role,
        patient: [pn, ps], document: [dn, ds], other_merge, import_run, field,
        appointment: [sn.appointment, ss.appointment], chair: [sn.chair, ss.chair], appt_type: [sn.appt_type, ss.appt_type],
        other_waitlist: add_waitlist(&app, south.id).await,
        other_blockout: add_blockout(&app, south.id).await,
        other_feed: add_feed(&app, south.id).await.0,
        feed_token,
        chart_entry: [add_chart_entry(&app, north.id, pn).await, add_chart_entry(&app, south.id, ps).await],
        perio_exam: [add_perio_exam(&app, north.id, pn).await, add_perio_exam(&app, south.id, ps).await],
        visit: [add_visit(&app, north.id, pn).await, add_visit(&app, south.id, ps).await],
        prescription: [add_prescription(&app, north.id, pn).await, add_prescription(&app, south.id, ps).await],
        case: [add_case(&app, north.id, pn).await, add_case(&app, south.id, ps).await],
        plan: [add_plan(&app, north.id, pn).await, add_plan(&app, south.id, ps).await],
        payment: [add_payment(&app, north.id, pn).await, add_payment(&app, south.id, ps).await],
        payment_plan: [add_payment_plan(&app, north.id, pn).await, add_payment_plan(&app, south.id, ps).await],
        invoice: [add_invoice(&app, north.id, pn).await, add_invoice(&app, south.id, ps).await],
    };
    let table = route_table();
    let mut checked = 0;

    // Nobody signed in.
    for d in table {
        let path = fill(&app, d, Tenant::Own, None, &fx).await;
        let r = send(&app, d.method, &path, None).await;
        match d.access {
            Access::Public => assert!(!matches!(r.status.as_u16(), 401 | 403) && r.status.as_u16() < 500, "{d:?} anonymous: {}", r.status),
            _ if path.starts_with("/api/") => {
                assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{d:?}");
                assert_eq!(r.header("content-type"), Some("application/problem+json"));
            }
            _ => {
                assert_eq!(r.status, StatusCode::SEE_OTHER, "{d:?} anonymous");
                assert!(r.header("location").unwrap().starts_with("/login?next="), "{d:?}");
            }
        }
        checked += 1;
    }

    for role in Role::STAFF {
        let perms = role.permissions();
        let mut cookie = app.sign_in_as("north", *role).await;
        for d in table {
            let allowed = match d.access {
                Access::Public | Access::SignedIn => true,
                Access::Perm(p) => perms.allows(p),
            };
            for tenant in [Tenant::Own, Tenant::Other] {
                if tenant == Tenant::Other && (!d.path.contains('{') || d.access == Access::Public) {
                    continue;
                }
                let path = fill(&app, d, tenant, Some(*role), &fx).await;
                let r = send(&app, d.method, &path, Some(&cookie)).await;
                let s = r.status.as_u16();
                let what = format!("{} {path} as {} ({tenant:?}): {s}", d.method, role.code());
                if !allowed {
                    assert_eq!(s, 403, "{what}");
                    if !path.starts_with("/api/") {
                        assert!(r.body.contains("role does not allow"), "{what}: the shell's refusal page");
                    }
                } else if tenant == Tenant::Other {
                    assert_eq!(s, 404, "{what}: another organization's id is not found");
                } else if d.path.contains('{') && d.access != Access::Public {
                    // Its own record: found (an empty form may be refused as invalid).
                    assert!((200..400).contains(&s) || s == 422, "{what}: its own record");
                } else {
                    assert!(!matches!(s, 401 | 403 | 404) && s < 500, "{what}");
                }
                checked += 1;
                if ends_session(d) {
                    cookie = app.sign_in_as("north", *role).await;
                }
            }
        }
    }
    assert!(checked > table.len() * 8, "{checked} requests");
    // The admin's retry reached north's job; south's job was never touched.
    assert_eq!(app.db.store.job(job_north).await.unwrap().unwrap().status, "pending");
    assert_eq!(app.db.store.job(job_south).await.unwrap().unwrap().status, "dead");
});

/// The seed's page table (seed 004), as written there, over HTTP.
const SEED_TABLE: &[(&str, &[Role])] = &[
    (
        "/dashboard",
        &[Role::Admin, Role::Dentist, Role::Receptionist],
    ),
    (
        "/patients",
        &[Role::Admin, Role::Dentist, Role::Receptionist],
    ),
    ("/doctors", &[Role::Admin]),
    (
        "/appointments",
        &[Role::Admin, Role::Dentist, Role::Receptionist],
    ),
    ("/treatments", &[Role::Admin, Role::Dentist]),
    ("/prescriptions", &[Role::Admin, Role::Dentist]),
    ("/invoices", &[Role::Admin, Role::Receptionist]),
    ("/payments", &[Role::Admin, Role::Receptionist]),
    (
        "/lab-requests",
        &[Role::Admin, Role::Dentist, Role::Receptionist],
    ),
    ("/inventory", &[Role::Admin, Role::Assistant]),
    ("/inventory/logs", &[Role::Admin, Role::Assistant]),
    ("/expenses", &[Role::Admin]),
    ("/reports", &[Role::Admin]),
    (
        "/profile",
        &[
            Role::Admin,
            Role::Dentist,
            Role::Receptionist,
            Role::Assistant,
        ],
    ),
];

dual_test!(async fn the_seed_page_table_holds_exactly(db) {
    let (org, _) = seed_org(&db.store, "north").await;
    seed_staff(&db.store, &org).await;
    let app = TestApp::new(db).await;
    assert_eq!(app.get("/login").await.status, StatusCode::OK, "/login is public");
    for role in [Role::Admin, Role::Dentist, Role::Receptionist, Role::Assistant] {
        let cookie = app.sign_in_as("north", role).await;
        for (path, allowed) in SEED_TABLE {
            let r = app.get_as(path, &cookie).await;
            let want = if allowed.contains(&role) { StatusCode::OK } else { StatusCode::FORBIDDEN };
            assert_eq!(r.status, want, "{path} as {}", role.code());
        }
        // The navigation offers exactly the pages the role may open.
        let nav = app.get_as("/profile", &cookie).await.body;
        for (path, allowed) in SEED_TABLE {
            let link = format!("href=\"{path}\"");
            assert_eq!(nav.contains(&link), allowed.contains(&role), "nav link {path} for {}", role.code());
        }
    }
    // Each staff role lands on a page it may open.
    for role in Role::STAFF {
        let cookie = app.sign_in_as("north", *role).await;
        let root = app.get_as("/", &cookie).await;
        assert_eq!(root.status, StatusCode::SEE_OTHER);
        let landing = root.header("location").unwrap().to_string();
        assert_eq!(app.get_as(&landing, &cookie).await.status, StatusCode::OK, "{} lands on {landing}", role.code());
    }
});

dual_test!(async fn pages_show_only_the_signed_in_users_organization(db) {
    let (north, _) = seed_org(&db.store, "north").await;
    let (south, _) = seed_org(&db.store, "south").await;
    seed_staff(&db.store, &north).await;
    seed_staff(&db.store, &south).await;
    let job_north = dead_job(&db, north.id).await;
    let app = TestApp::new(db).await;
    let cookie = app.sign_in_as("south", Role::Admin).await;
    let dash = app.get_as("/dashboard", &cookie).await;
    assert!(dash.body.contains("Clinic south") && dash.body.contains("south main office"), "{}", dash.body);
    assert!(!dash.body.contains("north"), "nothing of the other organization");
    let jobs = app.get_as("/admin/jobs", &cookie).await;
    assert_eq!(jobs.status, StatusCode::OK);
    assert!(!jobs.body.contains(&job_north.to_string()));
    let cookie = app.sign_in_as("north", Role::Admin).await;
    assert!(app.get_as("/admin/jobs", &cookie).await.body.contains(&job_north.to_string()));
});

dual_test!(async fn an_ended_or_forged_session_returns_to_the_page_after_sign_in(db) {
    let (org, _) = seed_org(&db.store, "north").await;
    seed_staff(&db.store, &org).await;
    let app = TestApp::new(db).await;
    // Never signed in: sign-in, then back where they were going.
    let r = app.get("/appointments?day=2026-03-02").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), Some("/login?next=/appointments%3Fday%3D2026-03-02"));
    assert!(r.header("set-cookie").is_none());
    // A forged cookie is dropped and the page says the session ended.
    let r = app.get_as("/patients", "__Host-cuspid_session=forged-token").await;
    assert_eq!(r.header("location"), Some("/login?next=/patients&expired=1"));
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    let login = app.get("/login?next=/patients&expired=1").await;
    assert!(login.body.contains("Your session ended"), "{}", login.body);
    assert!(login.body.contains(r#"name="next" value="/patients""#));
    // A form posted after the session ended returns to the page it was posted from.
    let r = app.request(Request::post("/profile/password")
        .header("cookie", "__Host-cuspid_session=ended")
        .header("referer", "http://127.0.0.1:8080/profile?tab=security")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::empty()).unwrap()).await;
    assert_eq!(r.header("location"), Some("/login?next=/profile%3Ftab%3Dsecurity&expired=1"));
    // Signing in with that `next` lands there.
    let r = app.request(Request::post("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!("email={}&password={}&next=%2Fpatients", staff_email("north", Role::Receptionist).replace('@', "%40"), STAFF_PASSWORD.replace(' ', "+"))))
        .unwrap()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), Some("/patients"));
});

/// SECURITY.md holds the permission matrix and route table generated from the code. Run with
/// `CUSPID_BLESS=1` to rewrite the block after changing roles or routes.
#[test]
fn security_md_shows_the_matrix_of_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../SECURITY.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (begin, end) = ("<!-- matrix:begin -->\n", "<!-- matrix:end -->");
    let a = doc.find(begin).expect("SECURITY.md has a matrix block") + begin.len();
    let b = doc.find(end).unwrap();
    let want = web::access::matrix_markdown();
    if doc[a..b] != want {
        if std::env::var("CUSPID_BLESS").is_ok() {
            std::fs::write(&path, format!("{}{want}{}", &doc[..a], &doc[b..])).unwrap();
        } else {
            panic!("SECURITY.md's matrix is stale; run with CUSPID_BLESS=1. Expected:\n{want}");
        }
    }
}
