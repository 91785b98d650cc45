#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! The agenda in a real headless Chromium, on both databases: book by clicking an empty slot,
//! drag the appointment to another chair while a second browser watches it move without
//! reloading, take the patient through arrive → seat → complete in the side panel, and look
//! at the day, week and board views. Screenshots go to target/screenshots/agenda-*.png.

use std::time::Duration;

use fantoccini::Locator;
use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use fantoccini::key::Key;
use serde_json::json;
use test_support::{
    Browser, STAFF_PASSWORD, TestApp, dual_test, patient_input, seed_org, seed_patient,
    seed_provider, seed_staff, staff_email,
};

/// Waits until `script` (a JS expression) is true.
async fn wait_js(b: &Browser, script: &str, what: &str) {
    for _ in 0..150 {
        let v = b
            .client
            .execute(&format!("return !!({script});"), vec![])
            .await
            .unwrap();
        if v == json!(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = b
        .client
        .execute(
            "return (document.getElementById('agenda-status') || {}).textContent",
            vec![],
        )
        .await
        .unwrap();
    b.screenshot("agenda-failure").await;
    panic!("never: {what} ({script}); the agenda says {status}");
}

/// The viewport point in the middle of a chair's column at the row labelled `time`.
async fn point(b: &Browser, chair: &str, time: &str) -> (f64, f64) {
    let v = b
        .client
        .execute(
            r#"const col = document.querySelector(`.agenda-col[data-column="${arguments[0]}"]`);
               const label = [...document.querySelectorAll('.agenda-time')].find(l => l.textContent.trim() === arguments[1]);
               label.scrollIntoView({block: 'center'});
               const c = col.getBoundingClientRect(), l = label.getBoundingClientRect();
               return [c.left + c.width / 2, l.top + 4];"#,
            vec![json!(chair), json!(time)],
        )
        .await
        .unwrap();
    (v[0].as_f64().unwrap(), v[1].as_f64().unwrap())
}

/// The chair column an appointment of this patient is in, if any.
async fn chair_of(b: &Browser, name: &str) -> Option<String> {
    let v = b
        .client
        .execute(
            "const a = [...document.querySelectorAll('.appt')].find(x => x.textContent.includes(arguments[0])); return a ? a.closest('.agenda-col').dataset.column : null;",
            vec![json!(name)],
        )
        .await
        .unwrap();
    v.as_str().map(String::from)
}

/// The next weekday after today at the clinic (New York), so 10:00 is in opening hours.
fn next_weekday() -> jiff::civil::Date {
    let tz = jiff::tz::TimeZone::get("America/New_York").unwrap();
    let mut d = jiff::Timestamp::now()
        .to_zoned(tz)
        .date()
        .tomorrow()
        .unwrap();
    while matches!(
        d.weekday(),
        jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
    ) {
        d = d.tomorrow().unwrap();
    }
    d
}

dual_test!(system_clock async fn the_front_desk_books_drags_and_runs_the_patient_flow_live(db) {
    let (org, loc) = seed_org(&db.store, "agenda").await;
    seed_staff(&db.store, &org).await;
    let scope = domain::Scope::system(org.id);
    let actor = store::patients::Actor::system("test");
    let mut chairs = Vec::new();
    for n in ["Operatory 1", "Operatory 2"] {
        chairs.push(db.store.create_operatory(&scope, &actor, loc.id, &domain::scheduling::OperatoryInput { name: n.into(), short_name: String::new() }).await.unwrap().id.to_string());
    }
    let dentist = seed_provider(&db.store, org.id, "Dr Ada Molar", domain::identity::Role::Dentist, "#2563eb").await;
    db.store
        .save_appointment_type(&scope, &actor, None, &domain::scheduling::AppointmentTypeInput { name: "Exam".into(), colour: "#16a34a".into(), pattern: "/XX/".into(), unit_minutes: 10 }, true)
        .await
        .unwrap();
    seed_patient(&db.store, org.id, loc.id, patient_input("Maya", "Lopez", "1988-02-03")).await;
    let noor = seed_patient(&db.store, org.id, loc.id, patient_input("Noor", "Haddad", "1979-09-10")).await.id;
    let app = TestApp::new(db).await;
    let base = app.serve().await;
    let day = next_weekday();
    let agenda = format!("{base}/appointments?location={}&date={day}", loc.id);
    let desk_email = staff_email("agenda", domain::identity::Role::Receptionist);

    let Some(a) = Browser::start().await else { return };
    let Some(b) = Browser::start().await else { return };
    a.sign_in(&base, &desk_email, STAFF_PASSWORD).await;
    b.sign_in(&base, &staff_email("agenda", domain::identity::Role::Admin), STAFF_PASSWORD).await;
    a.goto(&agenda).await;
    b.goto(&agenda).await;
    // B's websocket is up before anything changes.
    wait_js(&b, "document.getElementById('live-status').dataset.state === 'on'", "B live").await;

    // Click the empty 10:00 slot of Operatory 1: the booking dialog opens on that slot.
    let (x, y) = point(&a, &chairs[0], "10:00").await;
    a.client
        .perform_actions(MouseActions::new("mouse".into())
            .then(PointerAction::MoveTo { duration: None, x, y })
            .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
            .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT }))
        .await
        .unwrap();
    wait_js(&a, "document.getElementById('book-dialog').open", "the booking dialog").await;
    let time = a.client.execute("return document.getElementById('book-time').value", vec![]).await.unwrap();
    assert_eq!(time, json!("10:00"));
    let chair = a.client.execute("return document.getElementById('book-chair').value", vec![]).await.unwrap();
    assert_eq!(chair, json!(chairs[0]));
    a.fill("book-patient-q", "lopez").await;
    a.client.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css(".picker-list li")).await.unwrap();
    let q = a.client.find(Locator::Id("book-patient-q")).await.unwrap();
    q.send_keys(&Key::Down.to_string()).await.unwrap();
    q.send_keys(&Key::Enter.to_string()).await.unwrap();
    a.client.execute("const s = document.getElementById('book-type'); s.selectedIndex = 1; s.dispatchEvent(new Event('change'));", vec![]).await.unwrap();
    a.screenshot("agenda-book-dialog").await;
    a.click("#book-submit").await;
    wait_js(&a, "!document.getElementById('book-dialog').open", "the dialog closes").await;
    wait_js(&a, "[...document.querySelectorAll('.appt')].some(x => x.textContent.includes('Lopez, Maya'))", "the booked appointment").await;
    assert_eq!(chair_of(&a, "Lopez, Maya").await.as_deref(), Some(chairs[0].as_str()));
    let block_time = a.text_of(".appt .appt-time").await;
    assert_eq!(block_time, "10:00–10:40");
    // The other browser sees it without reloading.
    wait_js(&b, "[...document.querySelectorAll('.appt')].some(x => x.textContent.includes('Lopez, Maya'))", "B sees the booking").await;

    // Drag it to Operatory 2 at 11:00.
    // Grabbed by its top edge, so its start lands on the row it is dropped on.
    let (x2, y2) = point(&a, &chairs[1], "11:00").await;
    let block = a.client.find(Locator::Css(".appt[data-draggable]")).await.unwrap();
    let half = a.client.execute("return document.querySelector('.appt[data-draggable]').getBoundingClientRect().height / 2", vec![]).await.unwrap().as_f64().unwrap();
    a.client
        .perform_actions(MouseActions::new("mouse".into())
            .then(PointerAction::MoveToElement { element: block, duration: None, x: 0.0, y: 3.0 - half })
            .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
            .then(PointerAction::MoveBy { duration: Some(Duration::from_millis(150)), x: 30.0, y: 10.0 })
            .then(PointerAction::MoveTo { duration: Some(Duration::from_millis(300)), x: x2, y: y2 })
            .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT }))
        .await
        .unwrap();
    wait_js(&a, &format!("[...document.querySelectorAll('.agenda-col[data-column=\"{}\"] .appt')].some(x => x.textContent.includes('Lopez'))", chairs[1]), "A shows it in Operatory 2").await;
    // B follows, live.
    wait_js(&b, &format!("[...document.querySelectorAll('.agenda-col[data-column=\"{}\"] .appt')].some(x => x.textContent.includes('Lopez'))", chairs[1]), "B sees it move").await;
    // The click that ends a drag opens nothing: neither the appointment nor a new booking.
    let opened = a.client.execute("return document.getElementById('book-dialog').open || !document.getElementById('agenda-panel').hidden", vec![]).await.unwrap();
    assert_eq!(opened, json!(false), "a drag opened a dialog or the panel");
    let moved = a.text_of(".appt .appt-time").await;
    assert_eq!(moved, "11:00–11:40", "dropped on the 11:00 row");
    b.screenshot("agenda-second-browser-after-move").await;
    a.screenshot("agenda-day").await;

    // The patient flow in the side panel: arrived, seated, completed.
    a.click(".appt").await;
    wait_js(&a, "!document.getElementById('agenda-panel').hidden && document.querySelector('.appt-detail')", "the panel").await;
    for (step, status) in [("arrived", "Arrived"), ("seated", "Seated"), ("completed", "Completed")] {
        a.click(&format!("#agenda-panel button[data-status=\"{step}\"]")).await;
        wait_js(&a, &format!("document.querySelector('#agenda-panel .appt-detail .badge').textContent.trim() === '{status}'"), status).await;
    }
    a.screenshot("agenda-panel-completed").await;
    wait_js(&b, "[...document.querySelectorAll('.appt')].some(x => x.classList.contains('status-completed'))", "B sees it completed").await;

    // Keyboard: another appointment appears in Operatory 1 at 09:00 (live); from it the right
    // arrow goes to the 11:00 one in Operatory 2, the left arrow back, Enter opens the panel
    // and Esc closes it.
    let nine = day.at(9, 0, 0, 0).in_tz("America/New_York").unwrap().timestamp();
    app.db.store
        .book_appointment(&scope, &actor, store::scheduling::appointments::Permits { may_override: true }, &store::scheduling::appointments::NewAppointment {
            location_id: Some(loc.id), operatory_id: Some(chairs[0].parse().unwrap()), patient_id: Some(noor), provider_id: Some(dentist),
            start: Some(nine), duration_minutes: Some(30), override_reason: Some("test".into()), ..Default::default()
        })
        .await
        .unwrap();
    wait_js(&a, "[...document.querySelectorAll('.appt')].some(x => x.textContent.includes('Haddad'))", "A shows the 09:00 one").await;
    a.client.execute("[...document.querySelectorAll('.appt')].find(x => x.textContent.includes('Haddad')).focus()", vec![]).await.unwrap();
    let focused = || async { a.client.execute("return document.activeElement.textContent", vec![]).await.unwrap().as_str().unwrap_or("").to_string() };
    assert!(focused().await.contains("Haddad"));
    let active = a.client.active_element().await.unwrap();
    active.send_keys(&Key::Right.to_string()).await.unwrap();
    assert!(focused().await.contains("Lopez"), "the right arrow goes to Operatory 2: {}", focused().await);
    a.client.active_element().await.unwrap().send_keys(&Key::Left.to_string()).await.unwrap();
    assert!(focused().await.contains("Haddad"), "and the left arrow back");
    a.client.active_element().await.unwrap().send_keys(&Key::Enter.to_string()).await.unwrap();
    wait_js(&a, "!document.getElementById('agenda-panel').hidden && document.querySelector('.appt-detail-title').textContent.includes('Haddad')", "Enter opens the panel").await;
    a.client.active_element().await.unwrap().send_keys(&Key::Escape.to_string()).await.unwrap();
    wait_js(&a, "document.getElementById('agenda-panel').hidden", "Esc closes it").await;

    // The week and the board.
    a.goto(&format!("{agenda}&view=week")).await;
    a.text_of(".agenda-week .appt").await;
    a.screenshot("agenda-week").await;
    a.goto(&format!("{base}/appointments?location={}&view=board", loc.id)).await;
    a.text_of(".board").await;
    a.screenshot("agenda-board").await;
    assert!(a.console_errors().await.is_empty(), "console errors in A");
    assert!(b.console_errors().await.is_empty(), "console errors in B");
    a.close().await;
    b.close().await;
});
