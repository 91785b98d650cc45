#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Payments over HTTP on both databases: 50 concurrent retries of one payment with one
//! Idempotency-Key post exactly once and answer alike; the key with another body is refused;
//! a refused payment leaves its key free; bad input is refused by field; the account's aging.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use domain::billing::Entry;
use domain::identity::Role;
use serde_json::json;
use store::ledger::NewPosting;
use test_support::{TestApp, dual_test, patient_input, seed_org, seed_patient, seed_staff};

fn pay(cookie: &str, key: Option<&str>, body: serde_json::Value) -> Request<Body> {
    let mut r = Request::post("/api/v1/payments")
        .header("content-type", "application/json")
        .header("cookie", cookie);
    if let Some(k) = key {
        r = r.header("idempotency-key", k);
    }
    r.body(Body::from(body.to_string())).unwrap()
}

dual_test!(system_clock async fn a_payment_retried_fifty_times_at_once_posts_once(db) {
    let store = &db.store;
    let (org, loc) = seed_org(store, "pay").await;
    seed_staff(store, &org).await;
    let scope = domain::Scope::system(org.id);
    let actor = store::patients::Actor::system("test");
    let p = seed_patient(store, org.id, loc.id, patient_input("Noah", "Roy", "1980-01-01")).await.id;
    let charge = store.post(&scope, &actor, &NewPosting::new(p, Entry::Charge { amount: 10_000 }, "exam")).await.unwrap();
    let app = TestApp::new(db).await;
    let store = &app.db.store;
    let billing = app.sign_in_as("pay", Role::Billing).await;
    let assistant = app.sign_in_as("pay", Role::Assistant).await;
    let base = app.serve().await;
    let body = json!({"patient_id": p.to_string(), "amount": 4_000, "currency": "USD", "method": "card", "reference": "visa 4242"});

    // Fifty retries at once, one key: one posting, and every answer that is not "being
    // answered" (409) is the same 201.
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (base, cookie, body) = (base.clone(), billing.clone(), body.to_string());
        tasks.push(tokio::spawn(async move {
            let r = test_support::http()
                .post(format!("{base}/api/v1/payments"))
                .header("content-type", "application/json")
                .header("cookie", cookie)
                .header("idempotency-key", "pay-noah-1")
                .body(body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }));
    }
    let mut created = Vec::new();
    for t in tasks {
        let (status, text) = t.await.unwrap();
        match status {
            201 => created.push(text),
            409 => assert!(text.contains("being answered"), "{text}"),
            s => panic!("{s}: {text}"),
        }
    }
    assert!(!created.is_empty());
    assert!(created.iter().all(|c| c == &created[0]), "{created:?}");
    let postings = store.db.fetch_one(store::Q::new("SELECT COUNT(*) AS n FROM ledger_postings WHERE org_id = $1 AND kind = 'payment'").bind(org.id)).await.unwrap().i64("n").unwrap();
    assert_eq!(postings, 1);
    let first: serde_json::Value = serde_json::from_str(&created[0]).unwrap();
    assert_eq!(first["amount"], 4_000);
    assert_eq!(first["postings"][0]["allocations"][0]["charge_id"], charge[0].id.to_string());
    // A later retry: the same answer, marked as replayed.
    let r = app.request(pay(&billing, Some("pay-noah-1"), body.clone())).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.header("idempotent-replayed"), Some("true"));
    assert_eq!(r.json(), first);
    // The key with another body: refused, nothing posted.
    let r = app.request(pay(&billing, Some("pay-noah-1"), json!({"patient_id": p.to_string(), "amount": 4_001, "currency": "USD", "method": "card"}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("used with another request"), "{}", r.body);

    // Bad input, refused by field; the key of a refused payment stays free.
    let r = app.request(pay(&billing, None, body.clone())).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Idempotency-Key"), "{}", r.body);
    for (bad, field, says) in [
        (json!({"patient_id": p.to_string(), "amount": -5, "currency": "USD", "method": "cash"}), "amount", "more than zero"),
        (json!({"patient_id": p.to_string(), "amount": 500, "currency": "EUR", "method": "cash"}), "currency", "kept in USD"),
        (json!({"patient_id": p.to_string(), "amount": 500, "currency": "USD", "method": "gold"}), "method", "one of cash"),
        (json!({"patient_id": p.to_string(), "amount": 9_000, "currency": "USD", "method": "cash"}), "amount", "credit on account"),
    ] {
        let r = app.request(pay(&billing, Some("pay-noah-2"), bad.clone())).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {}", r.body);
        assert!(r.body.contains(field) && r.body.contains(says), "{bad}: {}", r.body);
    }
    // The overpayment, as credit: accepted under the same (still free) key.
    let r = app.request(pay(&billing, Some("pay-noah-2"), json!({"patient_id": p.to_string(), "amount": 9_000, "currency": "USD", "method": "cash", "rest_to_credit": true}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!((r.json()["amount"].as_i64(), r.json()["to_credit"].as_i64()), (Some(9_000), Some(3_000)));
    let n = store.db.fetch_one(store::Q::new("SELECT COUNT(*) AS n FROM ledger_postings WHERE org_id = $1").bind(org.id)).await.unwrap().i64("n").unwrap();
    assert_eq!(n, 4, "charge, card payment, cash payment and its credit");

    // The account: nothing owed, 30.00 on credit; the assistant may not see it or pay.
    let a = app.get_as(&format!("/api/v1/patients/{p}/account"), &billing).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let a = a.json();
    assert_eq!((a["balance"].as_i64(), a["credit"].as_i64(), a["aging"]["current"].as_i64()), (Some(0), Some(3_000), Some(0)));
    let r = app.get_as(&format!("/api/v1/patients/{p}/account?as_of=2020-01-01"), &billing).await;
    assert_eq!(r.json()["balance"], 0);
    assert_eq!(app.get_as(&format!("/api/v1/patients/{p}/account?as_of=yesterday"), &billing).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.get_as(&format!("/api/v1/patients/{p}/account"), &assistant).await.status, StatusCode::FORBIDDEN);
    // A payment plan for a new crown: made over the API, paid through it.
    store.post(&domain::Scope::system(org.id), &store::patients::Actor::system("test"), &NewPosting::new(p, Entry::Charge { amount: 93_000 }, "crown")).await.unwrap();
    let first_due = store.now().to_zoned(jiff::tz::TimeZone::UTC).date().tomorrow().unwrap().to_string();
    let r = app.request(Request::post(format!("/api/v1/patients/{p}/payment-plans")).header("content-type", "application/json").header("cookie", &billing)
        .body(Body::from(json!({"principal": 90_000, "installments": 3, "frequency": "monthly", "first_due": first_due}).to_string())).unwrap()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let plan = r.json();
    assert_eq!(plan["reference"], "PP-000001");
    assert_eq!(plan["installments"].as_array().unwrap().iter().map(|i| i["amount"].as_i64().unwrap()).collect::<Vec<_>>(), vec![30_000, 30_000, 30_000]);
    let plan_id = plan["id"].as_str().unwrap().to_string();
    let r = app.request(pay(&billing, Some("pay-plan-1"), json!({"patient_id": p.to_string(), "amount": 30_000, "currency": "USD", "method": "card", "payment_plan_id": plan_id}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let now = app.get_as(&format!("/api/v1/payment-plans/{plan_id}"), &billing).await.json();
    assert_eq!((now["paid"].as_i64(), now["installments"][0]["left"].as_i64(), now["installments"][1]["left"].as_i64()), (Some(30_000), Some(0), Some(30_000)));
    let r = app.request(Request::post(format!("/api/v1/patients/{p}/payment-plans")).header("content-type", "application/json").header("cookie", &billing)
        .body(Body::from(json!({"principal": 900_000, "installments": 3, "frequency": "monthly", "first_due": first_due}).to_string())).unwrap()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("principal") && r.body.contains("owed"), "{}", r.body);
    let page = app.get_as(&format!("/patients/{p}/account"), &billing).await;
    assert!(page.body.contains("PP-000001") && page.body.contains(r#"id="plans""#), "the plan is on the account page");
    // A child joins the family: the account page shows the family under its guarantor.
    let child = store
        .register_patient(&domain::Scope::system(org.id), &store::patients::Actor::system("test"), store::patients::NewPatient {
            location_id: loc.id,
            restricted: false,
            input: patient_input("Lou", "Roy", "2015-05-05"),
            family: store::patients::FamilyChoice::JoinFamilyOf(p),
            status: domain::patients::PatientStatus::Active,
        })
        .await
        .unwrap();
    store.post(&domain::Scope::system(org.id), &store::patients::Actor::system("test"), &NewPosting::new(child.id, Entry::Charge { amount: 2_500 }, "sealants")).await.unwrap();
    let page = app.get_as(&format!("/patients/{}/account", child.id), &billing).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("guarantor: Roy, Noah") && page.body.contains(r#"<strong id="acct-family-total">655.00 USD</strong>"#), "{}", page.body);
    assert_eq!(app.request(pay(&assistant, Some("pay-x"), body.clone())).await.status, StatusCode::FORBIDDEN);
});

fn form(path: &str, cookie: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", cookie)
        .body(Body::from(body.to_string()))
        .unwrap()
}

dual_test!(async fn fee_schedules_are_kept_on_their_page(db) {
    let store = &db.store;
    let (org, loc) = seed_org(store, "fsp").await;
    seed_staff(store, &org).await;
    let app = TestApp::new(db).await;
    let store = &app.db.store;
    let admin = app.sign_in_as("fsp", Role::Admin).await;
    let dentist = app.sign_in_as("fsp", Role::Dentist).await;
    let page = app.get_as("/settings/fees", &admin).await;
    assert_eq!(page.status, StatusCode::OK);
    let r = app.request(form("/settings/fees", &admin, "action=create&name=Standard+fees&kind=standard")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = app.request(form("/settings/fees", &admin, &format!("action=create&name=Main&kind=location&location={}", loc.id))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = app.get_as("/settings/fees", &admin).await;
    let i = page.body.find("value=\"CROWN\"").unwrap_or_else(|| panic!("{}", page.body));
    assert!(page.body[i..].starts_with("value=\"CROWN\">CROWN — Crown (1100.00 USD)"), "{}", &page.body[i..i + 80]);
    let schedules = store.fee_schedules(&domain::Scope::system(org.id)).await.unwrap();
    let standard = schedules[0].id;
    // A fee typed with a decimal comma and a thousands space.
    let r = app.request(form("/settings/fees", &admin, &format!("action=set&schedule={standard}&code=CROWN&fee=1+150%2C00&from=2026-01-01"))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = app.get_as("/settings/fees?notice=set", &admin).await;
    assert!(page.body.contains("The fee is set.") && page.body.contains("1150.00 USD"), "{}", page.body);
    assert_eq!(store.fee_schedule(&domain::Scope::system(org.id), standard).await.unwrap().fees, vec![("CROWN".to_string(), jiff::civil::date(2026, 1, 1), 115_000)]);
    // Bad input: refused on the page, by field, nothing kept.
    for (body, says) in [
        (format!("action=set&schedule={standard}&code=NOPE&fee=10&from=2026-01-01"), "not in the catalog"),
        (format!("action=set&schedule={standard}&code=EXAM&fee=-10&from=2026-01-01"), "above zero"),
        (format!("action=set&schedule={standard}&code=EXAM&fee=10&from=someday"), "YYYY-MM-DD"),
        ("action=create&name=Again&kind=standard".to_string(), "standard schedule already"),
        ("action=create&name=Plan&kind=insurance&payer=".to_string(), "names its plan"),
    ] {
        let r = app.request(form("/settings/fees", &admin, &body)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", r.body);
        assert!(r.body.contains(says), "{body}: {}", r.body);
    }
    assert_eq!(store.fee_schedules(&domain::Scope::system(org.id)).await.unwrap().len(), 2);
    assert_eq!(app.get_as("/settings/fees", &dentist).await.status, StatusCode::FORBIDDEN);
});

dual_test!(fixed_clock async fn installments_are_charged_to_the_card_on_file_once_a_day(db, clock) {
    let store = &db.store;
    let (org, loc) = seed_org(store, "apay").await;
    seed_staff(store, &org).await;
    let scope = domain::Scope::system(org.id);
    let actor = store::patients::Actor::system("test");
    let p = seed_patient(store, org.id, loc.id, patient_input("Ana", "Diaz", "1980-01-01")).await.id;
    let q = seed_patient(store, org.id, loc.id, patient_input("Ben", "Diaz", "1981-01-01")).await.id;
    let today = store.now().to_zoned(jiff::tz::TimeZone::get("America/New_York").unwrap()).date();
    let mut plans = Vec::new();
    for (who, card) in [(p, "pm_card_visa"), (q, "pm_card_chargeDeclined")] {
        store.post(&scope, &actor, &NewPosting::new(who, Entry::Charge { amount: 60_000 }, "crown")).await.unwrap();
        let plan = store
            .create_payment_plan(&scope, &actor, who, &domain::billing::amortize::Terms {
                principal: 60_000,
                down_payment: 0,
                annual_rate_bp: 0,
                installments: 3,
                frequency: domain::billing::amortize::Frequency::Monthly,
                first_due: today.tomorrow().unwrap(),
            })
            .await
            .unwrap();
        // A token is not a card number.
        assert!(store.set_plan_autopay(&scope, &actor, plan.id, Some("4242 4242 4242 4242")).await.is_err());
        let plan = store.set_plan_autopay(&scope, &actor, plan.id, Some(card)).await.unwrap();
        assert!(plan.autopay);
        plans.push(plan);
    }
    let stripe = test_support::stripe::start().await;
    let gateway: std::sync::Arc<dyn messaging::CardGateway> = std::sync::Arc::new(
        messaging::StripeGateway::new(messaging::StripeSettings { base_url: stripe.base_url().to_string(), ..messaging::StripeSettings::new(stripe.secret_key()) }).unwrap(),
    );
    let runner = store::jobs::JobRunner::new(store.clone(), store::jobs::RunnerSettings::default())
        .handle(web::autopay::PLAN_AUTOPAY, web::autopay::PlanAutopay { cards: gateway.clone() });
    let run = || async {
        store.enqueue(store::jobs::NewJob::new(web::autopay::PLAN_AUTOPAY, json!({}))).await.unwrap();
        runner.tick().await.unwrap();
    };
    // Nothing is due today: nothing charged.
    run().await;
    assert_eq!(stripe.requests(), 0);
    // The first installment falls due: Ana's card pays it, Ben's is declined.
    clock.advance(jiff::SignedDuration::from_hours(30));
    run().await;
    let ana = store.payment_plan(&scope, plans[0].id).await.unwrap();
    assert_eq!((ana.paid, ana.due_now, ana.autopay_error.as_deref()), (20_000, 0, None));
    let ben = store.payment_plan(&scope, plans[1].id).await.unwrap();
    assert_eq!(ben.paid, 0);
    assert!(ben.autopay_error.as_deref().unwrap_or_default().contains("declined"), "{:?}", ben.autopay_error);
    let tasks = store.db.fetch_one(store::Q::new("SELECT COUNT(*) AS n FROM staff_tasks WHERE org_id = $1 AND kind = 'billing.autopay_failed' AND status = 'open'").bind(org.id)).await.unwrap().i64("n").unwrap();
    assert_eq!(tasks, 1);
    // The job again the same day: nothing charged twice, no second task.
    run().await;
    let ok = stripe.intents().iter().filter(|i| i.status == "succeeded").count();
    assert_eq!(ok, 1);
    assert_eq!(store.payment_plan(&scope, plans[0].id).await.unwrap().paid, 20_000);
    let tasks = store.db.fetch_one(store::Q::new("SELECT COUNT(*) AS n FROM staff_tasks WHERE org_id = $1 AND kind = 'billing.autopay_failed'").bind(org.id)).await.unwrap().i64("n").unwrap();
    assert_eq!(tasks, 1);
    let reference = store.db.fetch_one(store::Q::new("SELECT reference FROM ledger_postings WHERE org_id = $1 AND kind = 'payment'").bind(org.id)).await.unwrap().string("reference").unwrap();
    assert!(reference.starts_with("PP-000001 · visa ····4242 · pi_"), "{reference}");
    assert!(store.verify_ledger(org.id).await.unwrap().faults.is_empty());
});
