//! The second factor: TOTP enrolment, sign-in completion with a code or a recovery code, and
//! the roles an organization requires it of.
//!
//! The TOTP secret is a sensitive field: it is stored encrypted with the organization's data key
//! (`users.totp_secret`, `users.totp_pending` during enrolment). The last accepted time step is
//! stored so a code is accepted once. Recovery codes are random (about 79 bits), shown once and
//! stored as SHA-256 hashes; each works once. Failed codes count towards the same lockout as
//! failed passwords.

use domain::identity::Role;
use domain::identity::totp::{self, TotpSecret};
use domain::{DomainError, OrgId, Scope};

use crate::Store;
use crate::audit::AuditEntry;
use crate::db::{DbError, DbResult, Q};
use crate::identity::{SessionPolicy, SignInError, SignedIn, User, sha256_hex};
use crate::tenancy::WriteError;

/// How many recovery codes a user gets.
pub const RECOVERY_CODES: usize = 10;

const SECRET_FIELD: &str = "users.totp_secret";
const PENDING_FIELD: &str = "users.totp_pending";

/// How the second factor was passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecondFactor {
    Totp,
    RecoveryCode,
}

impl SecondFactor {
    fn code(self) -> &'static str {
        match self {
            SecondFactor::Totp => "totp",
            SecondFactor::RecoveryCode => "recovery_code",
        }
    }
}

impl Store {
    fn unix_now(&self) -> i64 {
        self.now().as_second()
    }

    /// The secret being enrolled: the pending one if enrolment already began (the QR code the
    /// person may have scanned stays valid), otherwise a new one.
    pub async fn begin_totp_enrolment(&self, user: &User) -> DbResult<TotpSecret> {
        let cipher = self
            .field_cipher(user.org_id)
            .await
            .map_err(DbError::from)?;
        let row = self
            .db
            .fetch_optional(
                Q::new("SELECT totp_pending FROM users WHERE org_id = $1 AND id = $2")
                    .bind(user.org_id)
                    .bind(user.id),
            )
            .await?;
        if let Some(enc) = row.and_then(|r| r.opt_string("totp_pending").ok().flatten())
            && let Ok(b32) = self.decrypt_field(user.org_id, PENDING_FIELD, &enc).await
            && let Some(secret) = TotpSecret::from_base32(&b32)
        {
            return Ok(secret);
        }
        let mut raw = [0u8; 20];
        self.fill_random(&mut raw);
        let secret = TotpSecret::from_bytes(&raw)
            .ok_or_else(|| DbError::Corrupt("a TOTP secret of 20 bytes".into()))?;
        self.db
            .execute(
                Q::new("UPDATE users SET totp_pending = $1, updated_at = $2 WHERE org_id = $3 AND id = $4")
                    .bind(cipher.encrypt(PENDING_FIELD, &secret.to_base32()))
                    .bind(self.now())
                    .bind(user.org_id)
                    .bind(user.id),
            )
            .await?;
        Ok(secret)
    }

    /// Confirms enrolment with a code from the app; returns the recovery codes (shown once).
    pub async fn confirm_totp_enrolment(
        &self,
        user: &User,
        code: &str,
    ) -> Result<Vec<String>, WriteError> {
        let cipher = self
            .field_cipher(user.org_id)
            .await
            .map_err(DbError::from)?;
        let row = self
            .db
            .fetch_optional(
                Q::new("SELECT totp_pending FROM users WHERE org_id = $1 AND id = $2")
                    .bind(user.org_id)
                    .bind(user.id),
            )
            .await?;
        let pending = row.and_then(|r| r.opt_string("totp_pending").ok().flatten());
        let secret = match pending {
            Some(enc) => self
                .decrypt_field(user.org_id, PENDING_FIELD, &enc)
                .await
                .ok()
                .and_then(|b32| TotpSecret::from_base32(&b32)),
            None => None,
        }
        .ok_or_else(|| DomainError::field("code", "start again: the enrolment expired"))?;
        let Some(step) = totp::verify(&secret, code, self.unix_now(), None) else {
            return Err(DomainError::field(
                "code",
                "is not the current code of the app; check the phone's clock and try again",
            )
            .into());
        };
        let codes = self.new_recovery_codes();
        let now = self.now();
        let mut tx = self.begin().await?;
        tx.execute(
            Q::new(
                "UPDATE users SET totp_secret = $1, totp_pending = NULL, totp_last_step = $2, mfa_enabled_at = $3, \
                 updated_at = $3 WHERE org_id = $4 AND id = $5",
            )
            .bind(cipher.encrypt(SECRET_FIELD, &secret.to_base32()))
            .bind(step)
            .bind(now)
            .bind(user.org_id)
            .bind(user.id),
        )
        .await?;
        self.store_recovery_codes(&mut tx, user, &codes).await?;
        let mut entry = AuditEntry::system(
            "user.mfa_enabled",
            &format!("user:{}", user.id),
            serde_json::json!({ "fields": ["totp_secret"], "recovery_codes": codes.len() }),
        );
        entry.actor_id = Some(user.id);
        entry.actor = user.email.clone();
        tx.audit(self, user.org_id, entry).await?;
        tx.commit().await?;
        Ok(codes)
    }

    fn new_recovery_codes(&self) -> Vec<String> {
        (0..RECOVERY_CODES)
            .map(|_| {
                let mut raw = [0u8; 10];
                self.fill_random(&mut raw);
                totp::recovery_code(&raw)
            })
            .collect()
    }

    async fn store_recovery_codes(
        &self,
        tx: &mut crate::Txn,
        user: &User,
        codes: &[String],
    ) -> DbResult<()> {
        tx.execute(Q::new("DELETE FROM recovery_codes WHERE user_id = $1").bind(user.id))
            .await?;
        for c in codes {
            tx.execute(
                Q::new(
                    "INSERT INTO recovery_codes (user_id, org_id, code_hash, used_at) VALUES ($1, $2, $3, NULL)",
                )
                .bind(user.id)
                .bind(user.org_id)
                .bind(sha256_hex(&totp::normalize_recovery_code(c))),
            )
            .await?;
        }
        Ok(())
    }

    /// Unused recovery codes left.
    pub async fn recovery_codes_left(&self, user: &User) -> DbResult<i64> {
        let row = self
            .db
            .fetch_one(
                Q::new(
                    "SELECT COUNT(*) AS n FROM recovery_codes WHERE org_id = $1 AND user_id = $2 AND used_at IS NULL",
                )
                .bind(user.org_id)
                .bind(user.id),
            )
            .await?;
        row.i64("n")
    }

    /// Checks a second factor for the user: a current TOTP code (never one already used) or an
    /// unused recovery code, which is spent. Records what was accepted.
    async fn check_second_factor(&self, user: &User, code: &str) -> DbResult<Option<SecondFactor>> {
        let row = self
            .db
            .fetch_optional(
                Q::new(
                    "SELECT totp_secret, totp_last_step FROM users WHERE org_id = $1 AND id = $2",
                )
                .bind(user.org_id)
                .bind(user.id),
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let Some(enc) = row.opt_string("totp_secret")? else {
            return Ok(None);
        };
        let secret = self
            .decrypt_field(user.org_id, SECRET_FIELD, &enc)
            .await
            .ok()
            .and_then(|b32| TotpSecret::from_base32(&b32))
            .ok_or_else(|| DbError::Corrupt("the stored TOTP secret cannot be read".into()))?;
        let last = row.opt_i64("totp_last_step")?;
        if let Some(step) = totp::verify(&secret, code, self.unix_now(), last) {
            // Only one request may spend a step: the update is conditional on the last step.
            let n = self
                .db
                .execute(
                    Q::new(
                        "UPDATE users SET totp_last_step = $1 WHERE id = $2 \
                         AND (totp_last_step IS NULL OR totp_last_step < $1)",
                    )
                    .bind(step)
                    .bind(user.id),
                )
                .await?;
            return Ok((n == 1).then_some(SecondFactor::Totp));
        }
        let normalized = totp::normalize_recovery_code(code);
        if normalized.len() < 12 {
            return Ok(None);
        }
        let n = self
            .db
            .execute(
                Q::new(
                    "UPDATE recovery_codes SET used_at = $1 \
                     WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
                )
                .bind(self.now())
                .bind(user.id)
                .bind(sha256_hex(&normalized)),
            )
            .await?;
        Ok((n == 1).then_some(SecondFactor::RecoveryCode))
    }

    /// Completes a sign-in that is waiting for its second factor: the pending session is ended
    /// and a new full session (a new token) begins. A wrong code counts as a failed attempt.
    pub async fn complete_mfa(
        &self,
        pending_token: &str,
        code: &str,
        policy: SessionPolicy,
        ip: Option<&str>,
        user_agent: Option<&str>,
    ) -> Result<SignedIn, SignInError> {
        let id = sha256_hex(pending_token);
        let row = self
            .db
            .fetch_optional(
                Q::new(
                    "SELECT s.expires_at, s.revoked_at, s.mfa_pending, u.id, u.org_id, u.email, u.name, \
                     u.phone, u.active, u.password_hash, u.failed_logins, u.locked_until, u.mfa_enabled_at \
                     FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1",
                )
                .bind(id.as_str()),
            )
            .await?;
        let Some(row) = row else {
            return Err(SignInError::Rejected);
        };
        let now = self.now();
        if !row.bool("mfa_pending")?
            || row.opt_i64("revoked_at")?.is_some()
            || now >= row.ts("expires_at")?
        {
            return Err(SignInError::Rejected);
        }
        let (user, _, failed, locked_until) = Self::user_from_row(&row)?;
        let locked = locked_until.is_some_and(|t| t > now);
        let factor = if locked || !user.active {
            None
        } else {
            self.check_second_factor(&user, code).await?
        };
        let Some(factor) = factor else {
            self.record_failed_attempt(&user, failed, locked, ip, "session.mfa_failed")
                .await?;
            return Err(SignInError::Rejected);
        };
        let mut tx = self.begin().await?;
        tx.execute(
            Q::new("UPDATE sessions SET revoked_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id.as_str()),
        )
        .await?;
        let detail = serde_json::json!({ "mfa": factor.code() });
        self.finish_sign_in(
            tx,
            user,
            policy,
            ip,
            user_agent,
            false,
            "session.signed_in",
            detail,
        )
        .await
    }

    /// Turns the second factor off, after checking a current code or a recovery code.
    pub async fn disable_totp(&self, user: &User, code: &str) -> Result<(), WriteError> {
        if self.check_second_factor(user, code).await?.is_none() {
            return Err(DomainError::field(
                "code",
                "is not a current code or an unused recovery code",
            )
            .into());
        }
        let now = self.now();
        let mut tx = self.begin().await?;
        tx.execute(
            Q::new(
                "UPDATE users SET totp_secret = NULL, totp_pending = NULL, totp_last_step = NULL, \
                 mfa_enabled_at = NULL, updated_at = $1 WHERE org_id = $2 AND id = $3",
            )
            .bind(now)
            .bind(user.org_id)
            .bind(user.id),
        )
        .await?;
        tx.execute(Q::new("DELETE FROM recovery_codes WHERE user_id = $1").bind(user.id))
            .await?;
        let mut entry = AuditEntry::system(
            "user.mfa_disabled",
            &format!("user:{}", user.id),
            serde_json::json!({ "fields": ["totp_secret"] }),
        );
        entry.actor_id = Some(user.id);
        entry.actor = user.email.clone();
        tx.audit(self, user.org_id, entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The roles that must use a second factor in the organization.
    pub async fn mfa_required_roles(&self, org: OrgId) -> DbResult<Vec<Role>> {
        Ok(self
            .db
            .fetch_all(
                Q::new("SELECT role FROM mfa_required_roles WHERE org_id = $1 ORDER BY role")
                    .bind(org),
            )
            .await?
            .iter()
            .filter_map(|r| r.string("role").ok()?.parse().ok())
            .collect())
    }

    /// Sets the roles that must use a second factor (an administrator's decision; audited).
    pub async fn set_mfa_required_roles(
        &self,
        scope: &Scope,
        actor: &User,
        roles: &[Role],
    ) -> DbResult<()> {
        let before = self.mfa_required_roles(scope.org()).await?;
        let mut tx = self.begin().await?;
        tx.execute(Q::new("DELETE FROM mfa_required_roles WHERE org_id = $1").bind(scope.org()))
            .await?;
        for r in roles {
            tx.execute(
                Q::new("INSERT INTO mfa_required_roles (org_id, role) VALUES ($1, $2)")
                    .bind(scope.org())
                    .bind(r.code()),
            )
            .await?;
        }
        let mut entry = AuditEntry::system(
            "settings.mfa_roles_changed",
            &format!("org:{}", scope.org()),
            serde_json::json!({
                "before": before.iter().map(|r| r.code()).collect::<Vec<_>>(),
                "after": roles.iter().map(|r| r.code()).collect::<Vec<_>>(),
            }),
        );
        entry.actor_id = Some(actor.id);
        entry.actor = actor.email.clone();
        tx.audit(self, scope.org(), entry).await?;
        tx.commit().await
    }
}
