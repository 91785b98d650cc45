#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Field encryption with per-organization data keys wrapped by the master key.

use store::crypto::{CryptoError, MasterKey};
use test_support::{dual_test, seed_org};

fn master(b: u8) -> MasterKey {
    MasterKey::from_bytes(&[b; 32]).unwrap()
}

dual_test!(async fn values_round_trip_and_are_bound_to_their_org_and_field(db) {
    let store = db.store.clone().with_master_key(master(1));
    let (a, _) = seed_org(&store, "enc-a").await;
    let (b, _) = seed_org(&store, "enc-b").await;
    let ca = store.field_cipher(a.id).await.unwrap();
    let cb = store.field_cipher(b.id).await.unwrap();
    let ssn = "123-45-6789";
    let enc = ca.encrypt("patient.national_id", ssn);
    assert!(enc.starts_with("enc:v1:"));
    assert!(!enc.contains(ssn) && !enc.contains("6789"));
    assert_ne!(enc, ca.encrypt("patient.national_id", ssn), "a fresh nonce every time");
    assert_eq!(ca.decrypt("patient.national_id", &enc).unwrap(), ssn);
    assert!(matches!(ca.decrypt("insurance.member_id", &enc), Err(CryptoError::Undecryptable)), "another field");
    assert!(cb.decrypt("patient.national_id", &enc).is_err(), "another organization");
    let mut tampered = enc.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert!(matches!(ca.decrypt("patient.national_id", &tampered), Err(CryptoError::Undecryptable)));
    assert!(ca.decrypt("patient.national_id", "plain text").is_err());
    // blind index: same value, same token; other org, other token
    assert_eq!(ca.blind_index("patient.national_id", "123456789"), ca.blind_index("patient.national_id", "123456789"));
    assert_ne!(ca.blind_index("patient.national_id", "123456789"), cb.blind_index("patient.national_id", "123456789"));
    assert_ne!(ca.blind_index("patient.national_id", "123456789"), ca.blind_index("patient.national_id", "123456780"));

    // Another server with the same master key reads it; a wrong master key is named, not guessed.
    let other = db.second_store().await.with_master_key(master(1));
    assert_eq!(other.field_cipher(a.id).await.unwrap().decrypt("patient.national_id", &enc).unwrap(), ssn);
    let wrong = db.second_store().await.with_master_key(master(2));
    assert!(matches!(wrong.field_cipher(a.id).await, Err(CryptoError::WrongMasterKey(_))));
    let none = store::Store::new(db.second_store().await.db, std::sync::Arc::new(domain::SystemClock));
    assert!(matches!(none.field_cipher(a.id).await, Err(CryptoError::NoMasterKey)));
});

dual_test!(system_clock async fn two_servers_creating_the_first_key_agree(db) {
    let (org, _) = seed_org(&db.store, "race").await;
    let s1 = db.store.clone().with_master_key(master(3));
    let s2 = db.second_store().await.with_master_key(master(3));
    let (c1, c2) = tokio::join!(s1.field_cipher(org.id), s2.field_cipher(org.id));
    let (c1, c2) = (c1.unwrap(), c2.unwrap());
    let v = c1.encrypt("note", "allergic to penicillin");
    assert_eq!(c2.decrypt("note", &v).unwrap(), "allergic to penicillin");
});

dual_test!(async fn retiring_an_org_shreds_its_keys(db) {
    let store = db.store.clone().with_master_key(master(4));
    let (org, _) = seed_org(&store, "shred").await;
    let enc = store.field_cipher(org.id).await.unwrap().encrypt("note", "secret");
    store.retire_org(org.id).await.unwrap();
    let fresh = db.second_store().await.with_master_key(master(4));
    // A new key is made on demand; the old value stays unreadable.
    let c = fresh.field_cipher(org.id).await.unwrap();
    assert!(c.decrypt("note", &enc).is_err());
});
