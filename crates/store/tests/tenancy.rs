#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Organizations and locations, scoped.

use domain::{LocationAccess, LocationId, Principal, Scope};
use test_support::{dual_test, seed_org};

dual_test!(async fn locations_are_scoped_to_their_org_and_allowed_locations(db) {
    let (a, la) = seed_org(&db.store, "alpha").await;
    let (b, lb) = seed_org(&db.store, "beta").await;
    let sa = Scope::system(a.id);
    let locs = db.store.locations(&sa).await.unwrap();
    assert_eq!(locs.len(), 1);
    assert_eq!(locs[0], la, "round trip keeps every field");
    assert!(db.store.location(&sa, lb.id).await.unwrap().is_none(), "other org's location is invisible");
    let limited = Scope::new(a.id, Principal::System, LocationAccess::Only(vec![LocationId::from_uuid(uuid::Uuid::nil())]));
    assert!(db.store.locations(&limited).await.unwrap().is_empty());
    assert!(db.store.location(&limited, la.id).await.unwrap().is_none());
    assert_eq!(db.store.org_by_slug("beta").await.unwrap().unwrap(), b);
    assert_eq!(db.store.count_orgs().await.unwrap(), 2);
});

dual_test!(async fn duplicate_slug_and_invalid_location_are_refused_without_partial_writes(db) {
    let (a, la) = seed_org(&db.store, "gamma").await;
    let mut dup = a.clone();
    dup.id = domain::OrgId::from_uuid(db.store.new_uuid());
    let mut tx = db.store.begin().await.unwrap();
    let err = tx.create_org(&db.store, &dup).await.unwrap_err();
    assert!(err.to_string().contains("slug"), "{err}");
    drop(tx);
    let mut bad = la.clone();
    bad.id = LocationId::from_uuid(db.store.new_uuid());
    bad.time_zone = "Mars/Olympus_Mons".into();
    let mut tx = db.store.begin().await.unwrap();
    let err = tx.create_location(&db.store, &Scope::system(a.id), &bad).await.unwrap_err();
    assert!(err.to_string().contains("time_zone"), "{err}");
    drop(tx);
    assert_eq!(db.store.locations(&Scope::system(a.id)).await.unwrap().len(), 1);
    assert_eq!(db.store.count_orgs().await.unwrap(), 1);
});

dual_test!(async fn retiring_an_org_removes_everything_it_owns_but_its_audit_trail(db) {
    let (a, _) = seed_org(&db.store, "delta").await;
    let (b, _) = seed_org(&db.store, "epsilon").await;
    db.store.publish(Some(a.id), "t.x", serde_json::json!({})).await.unwrap();
    db.store.enqueue(store::jobs::NewJob::new("t.x", serde_json::json!({})).org(a.id)).await.unwrap();
    db.store.retire_org(a.id).await.unwrap();
    assert!(db.store.org_by_slug("delta").await.unwrap().is_none(), "the slug is free again");
    assert_eq!(db.store.count_orgs().await.unwrap(), 1);
    assert_eq!(db.store.first_org().await.unwrap().unwrap().id, b.id);
    // its audit trail stays, intact, ending with the retirement
    let report = db.store.verify_audit(a.id, None).await.unwrap();
    assert!(report.broken.is_none(), "{report:?}");
    let trail = db.store.audit_events(a.id, 0, 100).await.unwrap();
    assert_eq!(trail.first().unwrap().action, "org.created");
    assert_eq!(trail.last().unwrap().action, "org.retired");
    assert!(db.store.locations(&Scope::system(a.id)).await.unwrap().is_empty());
    assert_eq!(db.store.locations(&Scope::system(b.id)).await.unwrap().len(), 1);
    assert_eq!(db.store.queue_depth().await.unwrap().pending, 0);
});
