#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! The books on both databases: charges and payments as balanced double entries, aging as of
//! any day, overpayment refused or taken as credit, refunds bounded by what was paid, another
//! currency refused, a closed day refused with the correction posted today, postings that no
//! SQL can edit or delete, and a verification that finds a posting that does not balance.

use domain::billing::{Account, Aging, Entry, Method};
use domain::{ErrorCode, Scope};
use jiff::civil::date;
use store::Q;
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

dual_test!(fixed_clock async fn postings_balance_age_and_refuse_what_the_books_cannot_take(db, clock) {
    let store = &db.store;
    let (org, loc) = seed_org(store, "books").await;
    let scope = Scope::system(org.id);
    let desk = Actor::system("desk@books");
    let p = seed_patient(store, org.id, loc.id, patient_input("Ada", "Roy", "1980-01-01")).await.id;
    let post = |entry: Entry| NewPosting::new(p, entry, "test");

    // A crown charged on 2026-03-02 (today at the clinic, New York).
    let charge = store.post(&scope, &desk, &post(Entry::Charge { amount: 120_000 })).await.unwrap();
    assert_eq!(charge.len(), 1);
    let crown = &charge[0];
    assert_eq!((crown.seq, crown.kind.as_str(), crown.posted_on), (1, "charge", date(2026, 3, 2)));
    assert_eq!(crown.receivable(), 120_000);
    assert_eq!(crown.lines.iter().map(|l| l.amount).sum::<i64>(), 0);
    assert_eq!(crown.lines[1].account, Account::Revenue);

    // Forty days later: a cleaning, and a partial card payment paying the crown first.
    clock.advance(jiff::SignedDuration::from_hours(40 * 24));
    store.post(&scope, &desk, &post(Entry::Charge { amount: 15_000 })).await.unwrap();
    let pay = store.post(&scope, &desk, &post(Entry::Payment { amount: 50_000, method: Method::Card })).await.unwrap();
    assert_eq!(pay[0].allocations, vec![(crown.id, 50_000)]);
    let a = store.account(&scope, &desk, p, None).await.unwrap();
    assert_eq!(a.as_of, date(2026, 4, 11));
    assert_eq!(a.balance, 85_000);
    assert_eq!(a.aging, Aging { current: 15_000, over_30: 70_000, ..Aging::default() });
    assert_eq!((a.charged, a.paid, a.credit), (135_000, 50_000, 0));
    // As of a day before the cleaning: only the crown, then still current.
    let before = store.account(&scope, &desk, p, Some(date(2026, 3, 20))).await.unwrap();
    assert_eq!((before.balance, before.aging.current), (120_000, 120_000));

    // Paying more than owed: refused, saying so; with the rest to credit, two postings.
    let (code, msg) = err(store.post(&scope, &desk, &post(Entry::Payment { amount: 100_000, method: Method::Cash })).await.unwrap_err());
    assert_eq!(code, ErrorCode::Validation);
    assert!(msg.contains("more than the 850.00 USD owed") && msg.contains("credit on account"), "{msg}");
    let over = store
        .post(&scope, &desk, &NewPosting { rest_to_credit: true, ..post(Entry::Payment { amount: 100_000, method: Method::Cash }) })
        .await
        .unwrap();
    assert_eq!(over.iter().map(|p| (p.kind.as_str(), p.amount)).collect::<Vec<_>>(), vec![("payment", 85_000), ("prepayment", 15_000)]);
    let a = store.account(&scope, &desk, p, None).await.unwrap();
    assert_eq!((a.balance, a.credit), (0, 15_000));

    // Refunds: not above what was paid; the credit is refunded from the credit.
    let (_, msg) = err(store.post(&scope, &desk, &post(Entry::Refund { amount: 200_000, method: Method::Card })).await.unwrap_err());
    assert!(msg.contains("more than what was paid"), "{msg}");
    let (_, msg) = err(store.post(&scope, &desk, &post(Entry::CreditRefund { amount: 15_001, method: Method::Cash })).await.unwrap_err());
    assert!(msg.contains("more than the credit on account (150.00 USD)"), "{msg}");
    store.post(&scope, &desk, &post(Entry::CreditRefund { amount: 5_000, method: Method::Cash })).await.unwrap();
    assert_eq!(store.account(&scope, &desk, p, None).await.unwrap().credit, 10_000);

    // Bad input: zero or negative amounts, another currency, a future day. Nothing posted.
    let before = store.verify_ledger(org.id).await.unwrap().postings;
    assert!(err(store.post(&scope, &desk, &post(Entry::Charge { amount: 0 })).await.unwrap_err()).1.contains("more than zero"));
    assert!(err(store.post(&scope, &desk, &post(Entry::Payment { amount: -500, method: Method::Cash })).await.unwrap_err()).1.contains("more than zero"));
    let (_, msg) = err(store.post(&scope, &desk, &NewPosting { currency: Some("eur".into()), ..post(Entry::Charge { amount: 100 }) }).await.unwrap_err());
    assert!(msg.contains("kept in USD; this is in EUR"), "{msg}");
    let (_, msg) = err(store.post(&scope, &desk, &NewPosting { on: Some(date(2026, 4, 12)), ..post(Entry::Charge { amount: 100 }) }).await.unwrap_err());
    assert!(msg.contains("after today"), "{msg}");
    let (_, msg) = err(store.post(&scope, &desk, &post(Entry::Discount { amount: 1 })).await.unwrap_err());
    assert!(msg.contains("more than the 0.00 USD owed"), "{msg}");
    assert_eq!(store.verify_ledger(org.id).await.unwrap().postings, before);

    // The day closes: a posting dated on it is refused; the correction is a reversal today.
    assert!(store.close_day(&scope, &desk, loc.id, date(2026, 3, 2)).await.unwrap());
    assert!(!store.close_day(&scope, &desk, loc.id, date(2026, 3, 2)).await.unwrap());
    assert!(store.close_day(&scope, &desk, loc.id, date(2026, 4, 12)).await.is_err());
    let (_, msg) = err(store.close_day(&scope, &desk, loc.id, date(2026, 4, 11)).await.unwrap_err());
    assert!(msg.contains("once it is over"), "{msg}");
    let (code, msg) = err(store.post(&scope, &desk, &NewPosting { on: Some(date(2026, 3, 2)), ..post(Entry::Charge { amount: 100 }) }).await.unwrap_err());
    assert_eq!(code, ErrorCode::Conflict);
    assert!(msg.contains("the books of 2026-03-02 are closed") && msg.contains("post the correction today"), "{msg}");
    // The paid crown cannot be reversed until its payments are.
    let (_, msg) = err(store.reverse(&scope, &desk, crown.id, "wrong tooth").await.unwrap_err());
    assert!(msg.contains("reverse the payment first"), "{msg}");
    let card = store.reverse(&scope, &desk, pay[0].id, "card declined after all").await.unwrap();
    assert_eq!((card.kind.as_str(), card.posted_on, card.reverses), ("reversal", date(2026, 4, 11), Some(pay[0].id)));
    assert_eq!(card.receivable(), 50_000);
    assert!(err(store.reverse(&scope, &desk, pay[0].id, "again").await.unwrap_err()).1.contains("reversed already"));
    assert!(err(store.reverse(&scope, &desk, card.id, "undo the undo").await.unwrap_err()).1.contains("not reversed"));
    assert!(store.reverse(&scope, &desk, crown.id, "").await.is_err());

    // No SQL edits or deletes a posting or its lines.
    for sql in [
        "UPDATE ledger_postings SET amount_minor = 1",
        "DELETE FROM ledger_postings",
        "UPDATE ledger_lines SET amount_minor = 1",
        "DELETE FROM ledger_lines",
        "DELETE FROM ledger_closed_days",
    ] {
        let r = store.db.execute(Q::new(sql)).await;
        assert!(r.is_err(), "{sql} went through");
        assert!(r.unwrap_err().to_string().contains("immutable"), "{sql}");
    }
    // The books verify; a posting slipped in that does not balance is found.
    let report = store.verify_ledger(org.id).await.unwrap();
    assert!(report.faults.is_empty(), "{:?}", report.faults);
    assert_eq!(report.postings, 7);
    let sneaky = store.new_uuid();
    store.db.execute(
        Q::new("INSERT INTO ledger_postings (id, org_id, seq, location_id, patient_id, kind, amount_minor, currency, posted_on, posted_at, actor_name, reason, reference) \
                VALUES ($1, $2, 8, $3, $4, 'charge', 5, 'USD', '2026-04-11', 0, 'x', 'x', '')")
            .bind(sneaky).bind(org.id).bind(loc.id).bind(p),
    ).await.unwrap();
    store.db.execute(
        Q::new("INSERT INTO ledger_lines (posting_id, n, org_id, account, party_id, amount_minor) VALUES ($1, 0, $2, 'receivable', $3, 5)")
            .bind(sneaky).bind(org.id).bind(p.as_uuid()),
    ).await.unwrap();
    let report = store.verify_ledger(org.id).await.unwrap();
    assert!(report.faults.iter().any(|f| f.contains("posting 8 does not balance")), "{:?}", report.faults);
    assert!(report.faults.iter().any(|f| f.contains("trial balance is 5")), "{:?}", report.faults);
});

dual_test!(async fn transfers_stay_in_the_family_and_an_org_retires_with_its_books(db) {
    let store = &db.store;
    let (org, loc) = seed_org(store, "fam").await;
    let scope = Scope::system(org.id);
    let desk = Actor::system("desk@fam");
    let parent = seed_patient(store, org.id, loc.id, patient_input("Marc", "Roy", "1970-01-01")).await.id;
    let stranger = seed_patient(store, org.id, loc.id, patient_input("Zoe", "Lee", "1990-01-01")).await.id;
    store.post(&scope, &desk, &NewPosting::new(parent, Entry::Charge { amount: 9_000 }, "exam")).await.unwrap();
    let (_, msg) = err(store.post(&scope, &desk, &NewPosting::new(parent, Entry::Transfer { amount: 1_000, to: stranger.as_uuid() }, "x")).await.unwrap_err());
    assert!(msg.contains("one family"), "{msg}");
    // A child in the parent's family: the parent's balance moves to them, and the family's
    // account under its guarantor sums both.
    let child = store
        .register_patient(&scope, &desk, store::patients::NewPatient {
            location_id: loc.id,
            restricted: false,
            input: patient_input("Lou", "Roy", "2015-05-05"),
            family: store::patients::FamilyChoice::JoinFamilyOf(parent),
            status: domain::patients::PatientStatus::Active,
        })
        .await
        .unwrap();
    store.post(&scope, &desk, &NewPosting::new(child.id, Entry::Charge { amount: 4_000 }, "sealants")).await.unwrap();
    let moved = store.post(&scope, &desk, &NewPosting::new(parent, Entry::Transfer { amount: 1_000, to: child.id.as_uuid() }, "the exam was Lou's")).await.unwrap();
    assert_eq!(moved[0].receivable(), -1_000);
    let (_, msg) = err(store.post(&scope, &desk, &NewPosting::new(parent, Entry::Transfer { amount: 9_000, to: child.id.as_uuid() }, "too much")).await.unwrap_err());
    assert!(msg.contains("more than the 80.00 USD owed"), "{msg}");
    assert_eq!(store.account(&scope, &desk, child.id, None).await.unwrap().balance, 5_000);
    let family = store.patient_summary(&scope, parent).await.unwrap().family_id;
    let (total, members) = store.family_account(&scope, &desk, family, None).await.unwrap();
    assert_eq!((total.patient_id, total.balance, total.aging.current), (parent, 13_000, 13_000));
    assert_eq!(members.iter().map(|(m, a)| (m.given_name.as_str(), a.balance)).collect::<Vec<_>>().len(), 2);
    assert!(store.verify_ledger(org.id).await.unwrap().faults.is_empty());
    // A merge does not take away a record that has postings.
    let (code, msg) = err(store.merge_patients(&scope, &desk, stranger, parent).await.unwrap_err());
    assert_eq!(code, ErrorCode::Conflict);
    assert!(msg.contains("postings in the books"), "{msg}");
    // Retiring the organization takes its books with it (the triggers let an archived
    // organization's rows go, and only those).
    store.retire_org(org.id).await.unwrap();
    let n = store.db.fetch_one(Q::new("SELECT COUNT(*) AS n FROM ledger_postings WHERE org_id = $1").bind(org.id)).await.unwrap().i64("n").unwrap();
    assert_eq!(n, 0);
});

dual_test!(async fn completing_a_procedure_charges_its_fee_and_voiding_it_reverses_the_charge(db) {
    use domain::clinical::chart::EntryRequest;
    use domain::clinical::teeth::Numbering;
    use store::clinical::{ChartPermits, EntryChange};
    let store = &db.store;
    let (org, loc) = seed_org(store, "chg").await;
    let scope = Scope::system(org.id);
    let dr = Actor::system("dr@chg");
    let permits = ChartPermits { may_complete_dentist_only: true };
    let p = seed_patient(store, org.id, loc.id, patient_input("Lea", "Brun", "1975-04-02")).await.id;
    let req = |code: &str, tooth: &str, surfaces: Option<&str>, status: &str| EntryRequest {
        code: code.into(),
        tooth: Some(tooth.into()),
        surfaces: surfaces.map(str::to_string),
        status: Some(status.into()),
        ..Default::default()
    };
    // Planned work and a finding owe nothing.
    let crown = store.add_chart_entry(&scope, &dr, permits, p, Numbering::Fdi, &req("CROWN", "36", None, "planned"), None).await.unwrap();
    store.add_chart_entry(&scope, &dr, permits, p, Numbering::Fdi, &req("CARIES", "17", Some("O"), "condition"), None).await.unwrap();
    assert_eq!(store.account(&scope, &dr, p, None).await.unwrap().balance, 0);
    // A filling charted as done, and the crown completed: each charged at the catalog's fee.
    store.add_chart_entry(&scope, &dr, permits, p, Numbering::Fdi, &req("COMP", "17", Some("O"), "completed"), None).await.unwrap();
    store.change_chart_entry(&scope, &dr, permits, p, crown.id, EntryChange::Complete, None).await.unwrap();
    let a = store.account(&scope, &dr, p, None).await.unwrap();
    assert_eq!((a.balance, a.charged), (16_000 + 110_000, 126_000));
    let postings = store.postings(&scope, &dr, p, 10).await.unwrap();
    let crown_charge = postings.iter().find(|x| x.procedure_id == Some(crown.id.as_uuid())).unwrap();
    assert_eq!((crown_charge.kind.as_str(), crown_charge.amount, crown_charge.reason.as_str()), ("charge", 110_000, "CROWN completed"));
    // Part paid, then the crown voided: its charge reversed, what was paid on it is credit.
    store.post(&scope, &dr, &NewPosting::new(p, Entry::Payment { amount: 120_000, method: Method::Card }, "deposit")).await.unwrap();
    store.change_chart_entry(&scope, &dr, permits, p, crown.id, EntryChange::Void { reason: "charted on the wrong patient".into() }, None).await.unwrap();
    let a = store.account(&scope, &dr, p, None).await.unwrap();
    assert_eq!(a.balance, 126_000 - 120_000 - 110_000);
    // The list reads lines and allocations in bulk: the same postings as one by one.
    for x in store.postings(&scope, &dr, p, 50).await.unwrap() {
        assert_eq!(x, store.posting(&scope, x.id).await.unwrap());
        assert!(x.lines.len() >= 2);
    }
    let reversal = store.postings(&scope, &dr, p, 1).await.unwrap().remove(0);
    assert_eq!((reversal.kind.as_str(), reversal.reverses), ("reversal", Some(crown_charge.id)));
    assert!(reversal.reason.contains("wrong patient"));
    assert!(store.verify_ledger(org.id).await.unwrap().faults.is_empty());
    // An existing chart brought over (add_chart_entries) was billed where it was done.
    let before = store.verify_ledger(org.id).await.unwrap().postings;
    store.add_chart_entries(&scope, &dr, permits, p, Numbering::Fdi, &[req("COMP", "26", Some("MO"), "completed")]).await.unwrap();
    assert_eq!(store.verify_ledger(org.id).await.unwrap().postings, before);
});

dual_test!(async fn fee_schedules_decide_what_completed_work_is_charged(db) {
    use domain::billing::fees::{FeeSource, ScheduleKind};
    use domain::clinical::chart::EntryRequest;
    use domain::clinical::teeth::Numbering;
    use store::clinical::ChartPermits;
    let store = &db.store;
    let (org, loc) = seed_org(store, "fees").await;
    let scope = Scope::system(org.id);
    let admin = Actor::system("admin@fees");
    // Today at the clinic is 2026-03-02.
    let standard = store.create_fee_schedule(&scope, &admin, "Standard fees", ScheduleKind::Standard, None, None).await.unwrap();
    store.set_fee(&scope, &admin, standard.id, "crown", 115_000, date(2026, 1, 1)).await.unwrap();
    store.set_fee(&scope, &admin, standard.id, "CROWN", 118_000, date(2026, 6, 1)).await.unwrap();
    let here = store.create_fee_schedule(&scope, &admin, "Main office", ScheduleKind::Location, Some(loc.id), None).await.unwrap();
    store.set_fee(&scope, &admin, here.id, "COMP", 17_500, date(2026, 3, 1)).await.unwrap();
    let plan = store.create_fee_schedule(&scope, &admin, "Delta PPO", ScheduleKind::Insurance, None, Some("Delta PPO")).await.unwrap();
    let plan = store.set_fee(&scope, &admin, plan.id, "CROWN", 89_000, date(2026, 1, 1)).await.unwrap();
    assert_eq!(plan.fees, vec![("CROWN".to_string(), date(2026, 1, 1), 89_000)]);
    assert_eq!(store.fee_schedules(&scope).await.unwrap().iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), vec!["Standard fees", "Main office", "Delta PPO"]);
    // Which fee applies, and from where.
    assert_eq!(store.fee_for(&scope, loc.id, None, "CROWN", date(2026, 3, 2)).await.unwrap(), (115_000, FeeSource::Standard));
    assert_eq!(store.fee_for(&scope, loc.id, None, "CROWN", date(2026, 6, 1)).await.unwrap(), (118_000, FeeSource::Standard));
    assert_eq!(store.fee_for(&scope, loc.id, Some("Delta PPO"), "CROWN", date(2026, 6, 1)).await.unwrap(), (89_000, FeeSource::Insurance));
    assert_eq!(store.fee_for(&scope, loc.id, None, "COMP", date(2026, 2, 28)).await.unwrap(), (16_000, FeeSource::Catalog));
    // The table read once for many procedures says the same, code by code and day by day.
    for day in [date(2026, 2, 28), date(2026, 3, 2), date(2026, 6, 1)] {
        let table = store.fee_table(&scope, day).await.unwrap();
        for (payer, code) in [(None, "CROWN"), (Some("Delta PPO"), "CROWN"), (None, "COMP"), (None, "NOPE")] {
            assert_eq!(table.fee(loc.id, payer, code), store.fee_for(&scope, loc.id, payer, code, day).await.unwrap(), "{day} {code} {payer:?}");
        }
    }
    // Bad input: refused by field, nothing changed.
    for (r, field) in [
        (store.create_fee_schedule(&scope, &admin, "Again", ScheduleKind::Standard, None, None).await.map(|_| ()), "kind"),
        (store.create_fee_schedule(&scope, &admin, "No plan", ScheduleKind::Insurance, None, Some("  ")).await.map(|_| ()), "payer"),
        (store.create_fee_schedule(&scope, &admin, "Nowhere", ScheduleKind::Location, None, None).await.map(|_| ()), "location_id"),
        (store.set_fee(&scope, &admin, standard.id, "NOPE", 100, date(2026, 1, 1)).await.map(|_| ()), "code"),
        (store.set_fee(&scope, &admin, standard.id, "EXAM", -1, date(2026, 1, 1)).await.map(|_| ()), "fee"),
    ] {
        match r.unwrap_err() {
            WriteError::Invalid(d) => assert_eq!(d.fields[0].field, field, "{d}"),
            e => panic!("{e}"),
        }
    }
    // The chair: completed work is charged at the schedule's fee of the day.
    let p = seed_patient(store, org.id, loc.id, patient_input("Ana", "Diaz", "1988-08-08")).await.id;
    for (code, tooth, surfaces) in [("CROWN", "36", None), ("COMP", "17", Some("O"))] {
        store
            .add_chart_entry(&scope, &admin, ChartPermits { may_complete_dentist_only: true }, p, Numbering::Fdi, &EntryRequest {
                code: code.into(),
                tooth: Some(tooth.into()),
                surfaces: surfaces.map(str::to_string),
                status: Some("completed".into()),
                ..Default::default()
            }, None)
            .await
            .unwrap();
    }
    assert_eq!(store.account(&scope, &admin, p, None).await.unwrap().charged, 115_000 + 17_500);
    // A treatment plan's fees come from the same schedules (the catalog's where none has one).
    let plan = store
        .create_plan(&scope, &admin, p, &store::plans::NewPlan {
            name: Some("Lower left".into()),
            items: vec![
                store::plans::NewItem { code: "CROWN".into(), tooth: Some("37".into()), ..Default::default() },
                store::plans::NewItem { code: "EXAM".into(), ..Default::default() },
            ],
            alternative_of: None,
        })
        .await
        .unwrap();
    let exam_fee = store.fee_for(&scope, loc.id, None, "EXAM", date(2026, 3, 2)).await.unwrap();
    assert_eq!(exam_fee.1, FeeSource::Catalog);
    assert_eq!(plan.items.iter().map(|i| i.fee_minor).collect::<Vec<_>>(), vec![115_000, exam_fee.0]);
});

dual_test!(fixed_clock async fn a_payment_plan_schedules_posts_its_interest_and_knows_what_is_overdue(db, clock) {
    use domain::billing::amortize::{Frequency, Terms};
    let store = &db.store;
    let (org, loc) = seed_org(store, "pp").await;
    let scope = Scope::system(org.id);
    let desk = Actor::system("desk@pp");
    let p = seed_patient(store, org.id, loc.id, patient_input("Ana", "Diaz", "1988-08-08")).await.id;
    let other = seed_patient(store, org.id, loc.id, patient_input("Bo", "Lind", "1990-01-01")).await.id;
    store.post(&scope, &desk, &NewPosting::new(p, Entry::Charge { amount: 120_000 }, "implant")).await.unwrap();
    let terms = Terms {
        principal: 100_000,
        down_payment: 20_000,
        annual_rate_bp: 1200,
        installments: 4,
        frequency: Frequency::Monthly,
        first_due: date(2026, 4, 1),
    };
    // Bad terms: refused by field, nothing made.
    for (t, field) in [
        (Terms { principal: 130_000, ..terms.clone() }, "principal"),
        (Terms { first_due: date(2026, 3, 1), ..terms.clone() }, "first_due"),
        (Terms { installments: 0, ..terms.clone() }, "installments"),
    ] {
        match store.create_payment_plan(&scope, &desk, p, &t).await.unwrap_err() {
            WriteError::Invalid(d) => assert_eq!(d.fields[0].field, field, "{d}"),
            e => panic!("{e}"),
        }
    }
    assert!(store.payment_plans(&scope, p).await.unwrap().is_empty());
    let plan = store.create_payment_plan(&scope, &desk, p, &terms).await.unwrap();
    assert_eq!(plan.reference(), "PP-000001");
    // 800.00 at 1 % a month over four months, 205.03 a month: 8.00, then 1 % of 602.97,
    // 403.97 and 202.98 rounded half up; the last pays what is left (205.01).
    assert_eq!(plan.installments.iter().map(|i| i.amount).collect::<Vec<_>>(), vec![20_503, 20_503, 20_503, 20_501]);
    assert_eq!(plan.installments.iter().map(|i| i.interest).collect::<Vec<_>>(), vec![800, 603, 404, 203]);
    assert_eq!(plan.interest, 2_010);
    assert_eq!(plan.installments.iter().map(|i| i.principal).sum::<i64>(), 80_000);
    assert_eq!(plan.total(), 20_000 + 80_000 + 2_010);
    // The interest is on the books.
    assert_eq!(store.account(&scope, &desk, p, None).await.unwrap().balance, 120_000 + 2_010);
    // The down payment, through the plan.
    store.post(&scope, &desk, &NewPosting { payment_plan: Some(plan.id), ..NewPosting::new(p, Entry::Payment { amount: 20_000, method: Method::Card }, "payment") }).await.unwrap();
    let now = store.payment_plan(&scope, plan.id).await.unwrap();
    assert_eq!((now.paid, now.down_left, now.overdue.clone()), (20_000, 0, vec![]));
    // Two months on: two installments are overdue; one paid, one left.
    clock.advance(jiff::SignedDuration::from_hours(61 * 24));
    assert_eq!(store.payment_plan(&scope, plan.id).await.unwrap().overdue, vec![1, 2]);
    let first = plan.installments[0].amount;
    store.post(&scope, &desk, &NewPosting { payment_plan: Some(plan.id), ..NewPosting::new(p, Entry::Payment { amount: first, method: Method::Cash }, "payment") }).await.unwrap();
    let now = store.payment_plan(&scope, plan.id).await.unwrap();
    assert_eq!(now.overdue, vec![2]);
    assert_eq!(now.next_due().map(|(i, left)| (i.n, left)), Some((2, plan.installments[1].amount)));
    assert!(!now.completed);
    // A payment naming another patient's plan is refused.
    let (_, msg) = err(store.post(&scope, &desk, &NewPosting { payment_plan: Some(plan.id), ..NewPosting::new(other, Entry::Payment { amount: 100, method: Method::Cash }, "payment") }).await.unwrap_err());
    assert!(msg.contains("not a payment plan of this patient"), "{msg}");
    // Paid off: completed.
    let rest: i64 = now.left.iter().sum();
    store.post(&scope, &desk, &NewPosting { payment_plan: Some(plan.id), ..NewPosting::new(p, Entry::Payment { amount: rest, method: Method::Cheque }, "payment") }).await.unwrap();
    assert!(store.payment_plan(&scope, plan.id).await.unwrap().completed);
    assert!(store.verify_ledger(org.id).await.unwrap().faults.is_empty());
});
