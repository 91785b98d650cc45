#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Encrypted fields at rest and data-key rotation, on both databases: a raw dump of the
//! database holds none of the secrets; a rotation stopped half-way leaves every value readable
//! (by this server and by another one with stale keys) and, resumed, finishes.

use domain::Scope;
use domain::identity::Role;
use domain::identity::totp::{TotpSecret, code_at};
use store::Store;
use store::identity::NewUser;
use test_support::{dual_test, seed_org};

/// Users with TOTP enrolled, a phone challenge and a reset link each; returns the secrets in
/// clear (TOTP secrets and reset tokens) and a reader for all values.
async fn seed_secrets(store: &Store, org: domain::OrgId, n: usize) -> Vec<String> {
    let scope = Scope::system(org);
    let mut secrets = Vec::new();
    for i in 0..n {
        let mut tx = store.begin().await.unwrap();
        let id = tx
            .create_user(
                store,
                &scope,
                &NewUser {
                    email: format!("user{i}@rot.test"),
                    name: format!("User {i}"),
                    phone: Some(format!("+1555011{i:04}")),
                    password: None,
                    roles: vec![Role::Dentist],
                    locations: vec![],
                },
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let user = store.user(&scope, id).await.unwrap().unwrap();
        let secret: TotpSecret = store.begin_totp_enrolment(&user).await.unwrap();
        store
            .confirm_totp_enrolment(&user, &code_at(&secret, store.now().as_second()))
            .await
            .unwrap();
        secrets.push(secret.to_base32());
        store
            .start_phone_sign_in(&format!("+1555011{i:04}"), None)
            .await
            .unwrap();
        store
            .request_password_reset(&format!("user{i}@rot.test"), None)
            .await
            .unwrap();
    }
    for r in store
        .db
        .fetch_all(store::db::Q::new("SELECT id FROM password_resets"))
        .await
        .unwrap()
    {
        secrets.push(
            store
                .reset_to_send(&r.string("id").unwrap())
                .await
                .unwrap()
                .unwrap()
                .token,
        );
    }
    secrets
}

/// Every encrypted value of the organization, decrypted.
async fn read_all(store: &Store, org: domain::OrgId) -> Vec<String> {
    let mut out = Vec::new();
    for f in store::rotation::ENCRYPTED_FIELDS {
        let rows = store
            .db
            .fetch_all(
                store::db::Q::generated(format!(
                    "SELECT {c} AS v FROM {t} WHERE org_id = $1 AND {c} IS NOT NULL ORDER BY {pk}",
                    c = f.column,
                    t = f.table,
                    pk = f.pk
                ))
                .bind(org),
            )
            .await
            .unwrap();
        for r in rows {
            out.push(
                store
                    .decrypt_field(org, f.field, &r.string("v").unwrap())
                    .await
                    .unwrap(),
            );
        }
    }
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

dual_test!(async fn secrets_never_reach_the_disk_in_clear(db) {
    let (org, _) = seed_org(&db.store, "rot").await;
    let secrets = seed_secrets(&db.store, org.id, 3).await;
    assert_eq!(secrets.len(), 6);
    let dump = db.raw_dump();
    assert!(contains(&dump, "user0@rot.test"), "the dump is real: plain fields are in it");
    for s in &secrets {
        assert!(!contains(&dump, s), "{s} is in the raw dump");
    }
});

dual_test!(async fn a_rotation_stopped_half_way_leaves_everything_readable_and_resumes(db) {
    let (org, _) = seed_org(&db.store, "rot").await;
    let (other, _) = seed_org(&db.store, "rot-other").await;
    seed_secrets(&db.store, org.id, 6).await;
    let before = read_all(&db.store, org.id).await;
    let other_server = db.second_store().await;
    assert_eq!(read_all(&other_server, org.id).await, before, "the other server has the old key cached");
    let old_key = db.store.field_cipher(org.id).await.unwrap().key_id().to_string();
    let other_key = db.store.field_cipher(other.id).await.unwrap().key_id().to_string();

    let new_key = db.store.rotate_data_key(org.id).await.unwrap();
    assert_ne!(new_key, old_key);
    let total = db.store.values_to_reencrypt(org.id).await.unwrap();
    assert!(total >= 18, "{total} values to re-encrypt");
    // Killed after one small batch.
    let first = db.store.reencrypt_batch(org.id, 1).await.unwrap();
    assert!(first > 0);
    let left = db.store.values_to_reencrypt(org.id).await.unwrap();
    assert_eq!(left, total - first as i64);
    assert_eq!(read_all(&db.store, org.id).await, before, "half-way: every value readable here");
    assert_eq!(read_all(&other_server, org.id).await, before, "and on a server that had the old key cached");
    // New values written meanwhile use the new key.
    let fresh = db.store.field_cipher(org.id).await.unwrap().encrypt("users.totp_secret", "x");
    assert!(fresh.starts_with(&format!("enc:v1:{new_key}:")));

    // Resumed: finishes.
    while db.store.reencrypt_batch(org.id, 2).await.unwrap() > 0 {}
    assert_eq!(db.store.values_to_reencrypt(org.id).await.unwrap(), 0);
    assert_eq!(read_all(&db.store, org.id).await, before);
    assert_eq!(read_all(&other_server, org.id).await, before);
    for f in store::rotation::ENCRYPTED_FIELDS {
        let n = db.store.db.fetch_one(store::db::Q::generated(format!(
            "SELECT COUNT(*) AS n FROM {t} WHERE org_id = $1 AND {c} LIKE $2", t = f.table, c = f.column
        )).bind(org.id).bind(format!("enc:v1:{old_key}:%"))).await.unwrap().i64("n").unwrap();
        assert_eq!(n, 0, "{}.{} still under the old key", f.table, f.column);
    }
    // Another organization's key is untouched.
    assert_eq!(db.store.field_cipher(other.id).await.unwrap().key_id(), other_key);
    let events = db.store.audit_events(org.id, 0, 10_000).await.unwrap();
    assert!(events.iter().any(|e| e.action == "keys.rotated"));
});

dual_test!(async fn data_keys_are_rewrapped_under_a_new_master_key(db) {
    let (org, _) = seed_org(&db.store, "rewrap").await;
    seed_secrets(&db.store, org.id, 2).await;
    db.store.rotate_data_key(org.id).await.unwrap(); // a retired key too
    let before = read_all(&db.store, org.id).await;
    let new = store::crypto::MasterKey::from_bytes(&[0x77; 32]).unwrap();
    let n = db.store.rewrap_data_keys(&new).await.unwrap();
    assert_eq!(n, 2, "the active and the retired key");
    let with_new = db.second_store().await.with_master_key(store::crypto::MasterKey::from_bytes(&[0x77; 32]).unwrap());
    assert_eq!(read_all(&with_new, org.id).await, before, "everything readable with the new master key");
    let with_old = db.second_store().await; // the test master key
    assert!(matches!(with_old.field_cipher(org.id).await, Err(store::crypto::CryptoError::WrongMasterKey(_))));
    assert_eq!(with_new.rewrap_data_keys(&store::crypto::MasterKey::from_bytes(&[0x77; 32]).unwrap()).await.unwrap(), 0, "a repeated run changes nothing");
});
