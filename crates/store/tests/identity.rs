#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Users, password sign-in with lockout, and sessions, on both databases.

use std::sync::Arc;

use domain::identity::Role;
use domain::{FixedClock, Scope};
use jiff::SignedDuration;
use store::identity::{NewUser, SessionPolicy, SignInError};
use test_support::{TestDb, seed_org, test_epoch};

const PW: &str = "correct horse battery staple";

fn dentist(email: &str) -> NewUser {
    NewUser {
        email: email.into(),
        name: "Dr. Amélie Tremblay".into(),
        phone: Some("+15145550100".into()),
        password: Some(PW.into()),
        roles: vec![Role::Dentist],
        locations: vec![],
    }
}

async fn with_clock() -> Vec<(TestDb, Arc<FixedClock>)> {
    let mut v = Vec::new();
    let c = Arc::new(FixedClock::new(test_epoch()));
    v.push((TestDb::sqlite_with(c.clone()).await, c));
    let c = Arc::new(FixedClock::new(test_epoch()));
    if let Some(db) = TestDb::postgres_with(c.clone()).await {
        v.push((db, c));
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_sessions_idle_and_absolute_expiry_and_sign_out() {
    for (db, clock) in with_clock().await {
        let (org, _) = seed_org(&db.store, "id").await;
        let scope = Scope::system(org.id);
        let mut tx = db.store.begin().await.unwrap();
        let id = tx
            .create_user(&db.store, &scope, &dentist("Amelie@Clinic.Example"))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let policy = SessionPolicy::default();

        let s = db
            .store
            .sign_in(
                "  amelie@clinic.example",
                PW,
                policy,
                Some("127.0.0.1"),
                Some("test"),
            )
            .await
            .unwrap();
        assert_eq!(s.user.id, id);
        assert_eq!(s.user.roles, vec![Role::Dentist]);
        assert!(s.token.len() >= 43);
        let u = db
            .store
            .session_user(&s.token, policy)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(u.email, "amelie@clinic.example");
        assert_eq!(u.scope().org(), org.id);
        assert!(
            db.store
                .session_user("forged-token", policy)
                .await
                .unwrap()
                .is_none()
        );

        // Used every 20 minutes, the session lives on; 31 idle minutes end it.
        clock.advance(SignedDuration::from_mins(20));
        assert!(
            db.store
                .session_user(&s.token, policy)
                .await
                .unwrap()
                .is_some()
        );
        clock.advance(SignedDuration::from_mins(20));
        assert!(
            db.store
                .session_user(&s.token, policy)
                .await
                .unwrap()
                .is_some()
        );
        clock.advance(SignedDuration::from_mins(31));
        assert!(
            db.store
                .session_user(&s.token, policy)
                .await
                .unwrap()
                .is_none(),
            "idle timeout"
        );

        // Absolute lifetime, even when used all day.
        let s = db
            .store
            .sign_in("amelie@clinic.example", PW, policy, None, None)
            .await
            .unwrap();
        for _ in 0..(12 * 3) {
            clock.advance(SignedDuration::from_mins(20));
            let _ = db.store.session_user(&s.token, policy).await.unwrap();
        }
        assert!(
            db.store
                .session_user(&s.token, policy)
                .await
                .unwrap()
                .is_none(),
            "12 h absolute limit"
        );

        // Sign-out and revoke-all.
        let a = db
            .store
            .sign_in("amelie@clinic.example", PW, policy, None, None)
            .await
            .unwrap();
        let b = db
            .store
            .sign_in("amelie@clinic.example", PW, policy, None, None)
            .await
            .unwrap();
        assert!(db.store.revoke_session(&a.token).await.unwrap());
        assert!(
            db.store
                .session_user(&a.token, policy)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            db.store
                .session_user(&b.token, policy)
                .await
                .unwrap()
                .is_some()
        );
        // b, plus the two expired sessions above (revoked too, for good measure)
        assert_eq!(db.store.revoke_user_sessions(&scope, id).await.unwrap(), 3);
        assert!(
            db.store
                .session_user(&b.token, policy)
                .await
                .unwrap()
                .is_none()
        );

        // Sign-ins and failures are in the audit chain, which stays intact.
        let actions: Vec<String> = db
            .store
            .audit_events(org.id, 0, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert!(actions.contains(&"user.created".to_string()));
        assert!(actions.contains(&"session.signed_in".to_string()));
        assert!(
            db.store
                .verify_audit(org.id, None)
                .await
                .unwrap()
                .broken
                .is_none()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_unknown_email_and_lockout_look_the_same_and_hold_across_servers() {
    for (db, clock) in with_clock().await {
        let (org, _) = seed_org(&db.store, "lock").await;
        let mut tx = db.store.begin().await.unwrap();
        tx.create_user(
            &db.store,
            &Scope::system(org.id),
            &dentist("front@clinic.example"),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let policy = SessionPolicy::default();
        let unknown = db
            .store
            .sign_in("nobody@clinic.example", PW, policy, None, None)
            .await
            .unwrap_err();
        let wrong = db
            .store
            .sign_in(
                "front@clinic.example",
                "not the password!",
                policy,
                None,
                None,
            )
            .await
            .unwrap_err();
        assert!(matches!(unknown, SignInError::Rejected) && matches!(wrong, SignInError::Rejected));
        assert_eq!(
            unknown.to_string(),
            wrong.to_string(),
            "one generic message"
        );
        // Four more failures (five in all), through a second server: the account locks.
        let other = db.second_store().await;
        for _ in 0..4 {
            let _ = other
                .sign_in("front@clinic.example", "still wrong!!", policy, None, None)
                .await;
        }
        let locked = db
            .store
            .sign_in("front@clinic.example", PW, policy, None, None)
            .await;
        assert!(
            matches!(locked, Err(SignInError::Rejected)),
            "the right password is refused while locked"
        );
        clock.advance(SignedDuration::from_mins(3));
        assert!(
            db.store
                .sign_in("front@clinic.example", PW, policy, None, None)
                .await
                .is_ok(),
            "unlocked after the backoff"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_users_are_refused_with_field_messages_and_nothing_stored() {
    for (db, _) in with_clock().await {
        let (org, _) = seed_org(&db.store, "bad").await;
        let scope = Scope::system(org.id);
        let mut u = dentist("not-an-email");
        u.password = Some("short".into());
        u.roles.clear();
        let mut tx = db.store.begin().await.unwrap();
        let err = tx
            .create_user(&db.store, &scope, &u)
            .await
            .unwrap_err()
            .to_string();
        drop(tx);
        for field in ["email", "password", "roles"] {
            assert!(err.contains(field), "{err}");
        }
        let mut tx = db.store.begin().await.unwrap();
        tx.create_user(&db.store, &scope, &dentist("dup@clinic.example"))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut tx = db.store.begin().await.unwrap();
        let err = tx
            .create_user(&db.store, &scope, &dentist("DUP@clinic.example"))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("already used"), "{err}");
    }
}
