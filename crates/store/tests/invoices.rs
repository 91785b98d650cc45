#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Invoices on both databases: a draft listing a completed procedure's charge and a product,
//! discounts per line and on the total with a reason and the permission, tax, numbers per
//! location without gaps given at issue, the postings issuing makes, payments naming the
//! invoice (partly paid, then paid), a void that reverses what issuing posted and keeps the
//! number, and the refusals that leave nothing posted.

use domain::billing::invoice::Cut;
use domain::billing::{Entry, Method};
use domain::{ErrorCode, Scope};
use store::invoices::{
    DraftLine, InvoiceDraft, InvoiceFilter, InvoiceSettings, InvoiceStatus, LineKind,
};
use store::ledger::NewPosting;
use store::patients::Actor;
use store::tenancy::WriteError;
use test_support::{dual_test, patient_input, seed_org, seed_patient};

fn err(e: WriteError) -> (ErrorCode, String) {
    match e {
        WriteError::Invalid(d) => (d.code, d.to_string()),
        other => panic!("expected a domain error, got {other}"),
    }
}

dual_test!(fixed_clock async fn invoices_number_without_gaps_post_on_issue_and_void_cleanly(db, clock) {
    let store = &db.store;
    let (org, loc) = seed_org(store, "inv").await;
    let scope = Scope::system(org.id);
    let desk = Actor::system("desk@inv");
    let p = seed_patient(store, org.id, loc.id, patient_input("Ada", "Roy", "1980-01-01")).await.id;
    let other = seed_patient(store, org.id, loc.id, patient_input("Bo", "Lin", "1990-01-01")).await.id;
    // A crown charged when completed (as the chart does), 1 200.00.
    let crown = store
        .post(&scope, &desk, &NewPosting { reference: "D2740".into(), ..NewPosting::new(p, Entry::Charge { amount: 120_000 }, "D2740 completed") })
        .await
        .unwrap()
        .remove(0);
    assert_eq!(store.uninvoiced_charges(&scope, p).await.unwrap().iter().map(|c| c.id).collect::<Vec<_>>(), vec![crown.id]);
    store
        .set_invoice_settings(&scope, &desk, loc.id, &InvoiceSettings { prefix: "NY-".into(), tax_label: "Sales tax".into(), tax_rate_bp: 800 })
        .await
        .unwrap();
    assert!(store.set_invoice_settings(&scope, &desk, loc.id, &InvoiceSettings { prefix: "NY ".into(), tax_label: String::new(), tax_rate_bp: 20_000 }).await.is_err());

    // The crown, 10 % off with a reason; an electric toothbrush (2 × 45.00, 8 % tax); 20.00 off
    // the total.
    let mut crown_line = DraftLine::procedure(crown.id);
    crown_line.discount = Some(Cut::Percent(1_000));
    crown_line.discount_reason = "staff family".into();
    let mut brush = DraftLine::item(LineKind::Product, "Electric toothbrush", 2, 4_500);
    brush.tax_bp = 800;
    let draft = InvoiceDraft {
        lines: vec![crown_line.clone(), brush.clone()],
        discount: Some(Cut::Amount(2_000)),
        discount_reason: "loyalty".into(),
        notes: "Thank you".into(),
        ..InvoiceDraft::default()
    };
    // Without the permission a discount is refused; without a reason too.
    let (code, msg) = err(store.create_invoice(&scope, &desk, p, &draft, false).await.unwrap_err());
    assert_eq!(code, ErrorCode::Forbidden, "{msg}");
    let (_, msg) = err(store
        .create_invoice(&scope, &desk, p, &InvoiceDraft { discount_reason: " ".into(), ..draft.clone() }, true)
        .await
        .unwrap_err());
    assert!(msg.contains("discount_reason"), "{msg}");
    // Another patient's charge is refused.
    let (_, msg) = err(store
        .create_invoice(&scope, &desk, other, &InvoiceDraft { lines: vec![DraftLine::procedure(crown.id)], ..InvoiceDraft::default() }, true)
        .await
        .unwrap_err());
    assert!(msg.contains("another patient"), "{msg}");

    let inv = store.create_invoice(&scope, &desk, p, &draft, true).await.unwrap();
    assert_eq!((inv.status, inv.number, inv.label.as_deref()), (InvoiceStatus::Draft, None, None));
    assert_eq!(inv.lines[0].code, "D2740");
    assert_eq!(inv.lines[0].gross, 120_000);
    // Line discount 12 000; the 2 000 off the total shared 108 000 : 9 000.
    assert_eq!(inv.subtotal, 129_000);
    assert_eq!(inv.lines[0].discount_amount, 12_000 + 1_846);
    assert_eq!(inv.lines[1].discount_amount, 154);
    assert_eq!(inv.discount_amount, 14_000);
    assert_eq!(inv.lines[1].tax, 708); // 8 % of 8 846
    assert_eq!(inv.total, 129_000 - 14_000 + 708);
    // A draft posts nothing; the charge now sits on the draft.
    assert_eq!(store.verify_ledger(org.id).await.unwrap().postings, 1);
    assert!(store.uninvoiced_charges(&scope, p).await.unwrap().is_empty());
    // A second draft cannot take the same procedure.
    let (_, msg) = err(store
        .create_invoice(&scope, &desk, p, &InvoiceDraft { lines: vec![DraftLine::procedure(crown.id)], ..InvoiceDraft::default() }, true)
        .await
        .unwrap_err());
    assert!(msg.contains("on another invoice already"), "{msg}");
    // Paying a draft is refused.
    let (_, msg) = err(store
        .post(&scope, &desk, &NewPosting { invoice: Some(inv.id), ..NewPosting::new(p, Entry::Payment { amount: 100, method: Method::Cash }, "payment") })
        .await
        .unwrap_err());
    assert!(msg.contains("draft"), "{msg}");

    // Issued: number 1 at this location, and its postings.
    let inv = store.issue_invoice(&scope, &desk, inv.id, true).await.unwrap();
    assert_eq!((inv.status, inv.number, inv.label.as_deref()), (InvoiceStatus::Issued, Some(1), Some("NY-000001")));
    assert_eq!((inv.paid, inv.due), (0, inv.total));
    let acct = store.account(&scope, &desk, p, None).await.unwrap();
    assert_eq!(acct.balance, inv.total);
    let report = store.verify_ledger(org.id).await.unwrap();
    assert!(report.faults.is_empty(), "{:?}", report.faults);
    assert_eq!(report.postings, 4, "the crown, the brushes, the tax, the discount");
    // Issuing again posts nothing more.
    assert_eq!(store.issue_invoice(&scope, &desk, inv.id, true).await.unwrap().label.as_deref(), Some("NY-000001"));
    assert_eq!(store.verify_ledger(org.id).await.unwrap().postings, 4);
    assert!(err(store.update_invoice(&scope, &desk, inv.id, &draft, true).await.unwrap_err()).1.contains("not changed"));

    // A small invoice without discount: number 2.
    let small = store
        .create_invoice(&scope, &desk, other, &InvoiceDraft { lines: vec![DraftLine::item(LineKind::Service, "Copy of records", 1, 2_500)], ..InvoiceDraft::default() }, false)
        .await
        .unwrap();
    let small = store.issue_invoice(&scope, &desk, small.id, false).await.unwrap();
    assert_eq!(small.label.as_deref(), Some("NY-000002"));

    // A payment naming the first invoice pays it, partly then fully.
    store
        .post(&scope, &desk, &NewPosting { invoice: Some(inv.id), ..NewPosting::new(p, Entry::Payment { amount: 50_000, method: Method::Card }, "payment") })
        .await
        .unwrap();
    let now = store.invoice(&scope, &desk, inv.id).await.unwrap();
    assert_eq!((now.status, now.paid, now.due), (InvoiceStatus::PartlyPaid, 50_000, inv.total - 50_000));
    // Paid invoices cannot be voided.
    let (code, msg) = err(store.void_invoice(&scope, &desk, inv.id, "wrong patient").await.unwrap_err());
    assert_eq!(code, ErrorCode::Conflict);
    assert!(msg.contains("reverse or refund the payment first"), "{msg}");
    // Another patient's invoice cannot be named.
    let (_, msg) = err(store
        .post(&scope, &desk, &NewPosting { invoice: Some(small.id), ..NewPosting::new(p, Entry::Payment { amount: 100, method: Method::Cash }, "payment") })
        .await
        .unwrap_err());
    assert!(msg.contains("another patient"), "{msg}");
    store
        .post(&scope, &desk, &NewPosting { invoice: Some(inv.id), ..NewPosting::new(p, Entry::Payment { amount: inv.total - 50_000, method: Method::Cash }, "payment") })
        .await
        .unwrap();
    let now = store.invoice(&scope, &desk, inv.id).await.unwrap();
    assert_eq!((now.status, now.paid, now.due), (InvoiceStatus::Paid, inv.total, 0));
    assert_eq!(store.account(&scope, &desk, p, None).await.unwrap().balance, 0);

    // The unpaid invoice is voided: its charge reversed, its number kept; the next is 3.
    clock.advance(jiff::SignedDuration::from_hours(24));
    assert!(store.void_invoice(&scope, &desk, small.id, " ").await.is_err());
    let void = store.void_invoice(&scope, &desk, small.id, "issued by mistake").await.unwrap();
    assert_eq!((void.status, void.label.as_deref()), (InvoiceStatus::Void, Some("NY-000002")));
    assert_eq!(store.account(&scope, &desk, other, None).await.unwrap().balance, 0);
    assert!(err(store.void_invoice(&scope, &desk, small.id, "again").await.unwrap_err()).1.contains("void already"));
    let third = store
        .create_invoice(&scope, &desk, other, &InvoiceDraft { lines: vec![DraftLine::item(LineKind::Medicine, "Chlorhexidine rinse", 1, 1_200)], ..InvoiceDraft::default() }, false)
        .await
        .unwrap();
    let third = store.issue_invoice(&scope, &desk, third.id, false).await.unwrap();
    assert_eq!(third.label.as_deref(), Some("NY-000003"));
    // A voided draft leaves no number behind.
    let d = store
        .create_invoice(&scope, &desk, other, &InvoiceDraft { lines: vec![DraftLine::item(LineKind::Service, "x", 1, 100)], ..InvoiceDraft::default() }, false)
        .await
        .unwrap();
    store.void_invoice(&scope, &desk, d.id, "not needed").await.unwrap();

    // Bad input: no lines, a zero price, a quantity of 0, an empty description — all at once.
    let (_, msg) = err(store.create_invoice(&scope, &desk, p, &InvoiceDraft::default(), false).await.unwrap_err());
    assert!(msg.contains("at least one line"), "{msg}");
    let mut bad = DraftLine::item(LineKind::Product, " ", 0, 0);
    bad.tax_bp = 10_001;
    let (_, msg) = err(store
        .create_invoice(&scope, &desk, p, &InvoiceDraft { lines: vec![bad], ..InvoiceDraft::default() }, false)
        .await
        .unwrap_err());
    assert!(msg.contains("lines[0].description") && msg.contains("lines[0].unit") && msg.contains("lines[0].quantity"), "{msg}");

    // The list: newest first, with what each stands at.
    let all = store.invoices(&scope, &desk, &InvoiceFilter { limit: 50, ..InvoiceFilter::default() }).await.unwrap();
    let mut by_label: Vec<(Option<String>, InvoiceStatus)> = all.iter().map(|i| (i.label.clone(), i.status)).collect();
    by_label.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        by_label,
        vec![
            (None, InvoiceStatus::Void),
            (Some("NY-000001".into()), InvoiceStatus::Paid),
            (Some("NY-000002".into()), InvoiceStatus::Void),
            (Some("NY-000003".into()), InvoiceStatus::Issued),
        ]
    );
    let mine = store.invoices(&scope, &desk, &InvoiceFilter { patient: Some(p), limit: 50, ..InvoiceFilter::default() }).await.unwrap();
    assert_eq!(mine.len(), 1);
    let report = store.verify_ledger(org.id).await.unwrap();
    assert!(report.faults.is_empty(), "{:?}", report.faults);
});

dual_test!(async fn a_discount_or_write_off_settles_charges_so_invoices_see_what_is_left(db) {
    let store = &db.store;
    let (org, loc) = seed_org(store, "settle").await;
    let scope = Scope::system(org.id);
    let desk = Actor::system("desk@settle");
    let p = seed_patient(store, org.id, loc.id, patient_input("Cy", "Ng", "1970-05-05")).await.id;
    let c = store.post(&scope, &desk, &NewPosting::new(p, Entry::Charge { amount: 10_000 }, "D0150 completed")).await.unwrap().remove(0);
    let d = store.post(&scope, &desk, &NewPosting::new(p, Entry::Discount { amount: 3_000 }, "courtesy")).await.unwrap().remove(0);
    assert_eq!(d.allocations, vec![(c.id, 3_000)]);
    // An invoice of the charge: 70.00 is what is left to pay on it.
    let inv = store
        .create_invoice(&scope, &desk, p, &InvoiceDraft { lines: vec![DraftLine::procedure(c.id)], ..InvoiceDraft::default() }, false)
        .await
        .unwrap();
    let inv = store.issue_invoice(&scope, &desk, inv.id, false).await.unwrap();
    assert_eq!((inv.total, inv.due, inv.status), (10_000, 7_000, InvoiceStatus::Issued));
    // A payment with the discount reversed and paid again verifies (no over-allocation).
    store.reverse(&scope, &desk, d.id, "courtesy withdrawn").await.unwrap();
    let pay = store.post(&scope, &desk, &NewPosting { invoice: Some(inv.id), ..NewPosting::new(p, Entry::Payment { amount: 10_000, method: Method::Cash }, "payment") }).await.unwrap();
    assert_eq!(pay[0].allocations, vec![(c.id, 10_000)]);
    let inv = store.invoice(&scope, &desk, inv.id).await.unwrap();
    assert_eq!(inv.status, InvoiceStatus::Paid);
    let report = store.verify_ledger(org.id).await.unwrap();
    assert!(report.faults.is_empty(), "{:?}", report.faults);
});

dual_test!(fixed_clock async fn the_organizations_aging_in_one_query_equals_every_patients_account(db, clock) {
    let store = &db.store;
    let (org, loc) = seed_org(store, "aging").await;
    let scope = Scope::system(org.id);
    let desk = Actor::system("desk@aging");
    let mut patients = Vec::new();
    for i in 0..6 {
        patients.push(seed_patient(store, org.id, loc.id, patient_input("Pat", &format!("Ient{i}"), "1980-01-01")).await.id);
    }
    // Two hundred days of charges, payments, discounts, reversals and credit, pseudo-random.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for _day in 0..200 {
        for p in &patients {
            let roll = next(10);
            let amount = 1_000 + 100 * next(200) as i64;
            let entry = match roll {
                0..=3 => Entry::Charge { amount },
                4 | 5 => Entry::Payment { amount, method: Method::Cash },
                6 => Entry::Discount { amount: amount / 4 },
                _ => continue,
            };
            let new = NewPosting { rest_to_credit: true, ..NewPosting::new(*p, entry, "random") };
            let posted = store.post(&scope, &desk, &new).await;
            if let (Ok(ps), 0) = (&posted, next(17)) {
                // Now and then a posting is undone.
                let _ = store.reverse(&scope, &desk, ps[0].id, "undo").await;
            }
        }
        clock.advance(jiff::SignedDuration::from_hours(24));
    }
    let today = store.account(&scope, &desk, patients[0], None).await.unwrap().as_of;
    for as_of in [today, today.checked_sub(jiff::Span::new().days(45)).unwrap(), today.checked_sub(jiff::Span::new().days(150)).unwrap()] {
        let mut want = domain::billing::Aging::default();
        let (mut credits, mut owing) = (0, 0);
        for p in &patients {
            let a = store.account(&scope, &desk, *p, Some(as_of)).await.unwrap();
            if a.balance > 0 {
                want = want.plus(&a.aging);
                owing += 1;
            } else {
                credits -= a.balance;
            }
        }
        let got = store.receivables(&scope, as_of).await.unwrap();
        assert_eq!(got.aging, want, "as of {as_of}");
        assert_eq!((got.credits, got.owing), (credits, owing), "as of {as_of}");
        assert!(got.aging.total() > 0, "the data owes something as of {as_of}");
    }
});

dual_test!(fixed_clock async fn a_day_sheet_adds_up_production_and_collections_by_method(db, clock) {
    let store = &db.store;
    let (org, loc) = seed_org(store, "sheet").await;
    let scope = Scope::system(org.id);
    let desk = Actor::system("desk@sheet");
    let p = seed_patient(store, org.id, loc.id, patient_input("Di", "Ay", "1980-01-01")).await.id;
    let post = |e: Entry| NewPosting::new(p, e, "t");
    store.post(&scope, &desk, &post(Entry::Charge { amount: 20_000 })).await.unwrap();
    store.post(&scope, &desk, &post(Entry::Payment { amount: 5_000, method: Method::Card })).await.unwrap();
    let cash = store.post(&scope, &desk, &post(Entry::Payment { amount: 3_000, method: Method::Cash })).await.unwrap();
    store.reverse(&scope, &desk, cash[0].id, "counted twice").await.unwrap();
    store.post(&scope, &desk, &post(Entry::Discount { amount: 1_000 })).await.unwrap();
    let today = store.account(&scope, &desk, p, None).await.unwrap().as_of;
    let sheet = store.day_sheet(&scope, &desk, loc.id, today).await.unwrap();
    assert_eq!(sheet.lines.len(), 5);
    assert_eq!(sheet.lines[0].patient_name, "Ay, Di");
    assert_eq!(sheet.totals.production, 20_000);
    assert_eq!(sheet.totals.collections.get("card"), Some(&5_000));
    assert_eq!(sheet.totals.collections.get("cash"), Some(&0));
    assert_eq!(sheet.totals.collected(), 5_000);
    assert_eq!(sheet.totals.discounts, 1_000);
    assert!(!sheet.closed);
    clock.advance(jiff::SignedDuration::from_hours(24));
    store.close_day(&scope, &desk, loc.id, today).await.unwrap();
    assert!(store.day_sheet(&scope, &desk, loc.id, today).await.unwrap().closed);
});
