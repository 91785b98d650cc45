//! Password reset by an emailed single-use link.
//!
//! Asking never says whether the address has an account. For a real, active account a token is
//! made (32 random bytes), stored by hash and encrypted, and emailed by the job
//! [`EMAIL_PASSWORD_RESET`]. It lives [`RESET_TTL_MINUTES`] minutes and works once; using it
//! sets the new password (NIST rules), lifts any lockout and signs every session out. At most
//! [`PER_ACCOUNT`] links per hour per account.

use domain::identity::password::check_new_password;
use domain::{DomainError, OrgId, UserId};
use jiff::SignedDuration;

use crate::Store;
use crate::audit::AuditEntry;
use crate::db::{DbError, DbResult, Q};
use crate::identity::{hash_password, sha256_hex};
use crate::jobs::NewJob;
use crate::tenancy::WriteError;

pub const RESET_TTL_MINUTES: i64 = 60;
pub const PER_ACCOUNT: i64 = 3;
/// The job that emails a reset link.
pub const EMAIL_PASSWORD_RESET: &str = "email.password_reset";

const TOKEN_FIELD: &str = "password_resets.token";

/// A reset link ready to email (for the sending job).
#[derive(Clone, Debug)]
pub struct ResetToSend {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub token: String,
}

impl Store {
    /// Asks for a reset link. Returns nothing the caller may show: the answer is the same
    /// whether the address has an account or not.
    pub async fn request_password_reset(&self, email: &str, ip: Option<&str>) -> DbResult<()> {
        let Some(user) = self.user_by_email(email).await? else {
            return Ok(());
        };
        if !user.active {
            return Ok(());
        }
        let now = self.now();
        let hour_ago = now
            .checked_sub(SignedDuration::from_hours(1))
            .unwrap_or(now);
        let recent = self
            .db
            .fetch_one(
                Q::new("SELECT COUNT(*) AS n FROM password_resets WHERE user_id = $1 AND created_at > $2")
                    .bind(user.id)
                    .bind(hour_ago),
            )
            .await?
            .i64("n")?;
        if recent >= PER_ACCOUNT {
            return Ok(());
        }
        let cipher = self
            .field_cipher(user.org_id)
            .await
            .map_err(DbError::from)?;
        let mut raw = [0u8; 32];
        self.fill_random(&mut raw);
        let token = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw);
        let id = sha256_hex(&token);
        let mut tx = self.begin().await?;
        tx.execute(
            Q::new(
                "INSERT INTO password_resets (id, org_id, user_id, token_enc, ip, created_at, expires_at, used_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
            )
            .bind(id.as_str())
            .bind(user.org_id)
            .bind(user.id)
            .bind(cipher.encrypt(TOKEN_FIELD, &token))
            .bind(ip.map(str::to_string))
            .bind(now)
            .bind(
                now.checked_add(SignedDuration::from_mins(RESET_TTL_MINUTES))
                    .unwrap_or(now),
            ),
        )
        .await?;
        tx.enqueue(
            self,
            NewJob::new(EMAIL_PASSWORD_RESET, serde_json::json!({ "reset": id }))
                .org(user.org_id)
                .attempts(5),
        )
        .await?;
        let mut entry = AuditEntry::system(
            "user.password_reset_requested",
            &format!("user:{}", user.id),
            serde_json::json!({}),
        );
        entry.actor_id = Some(user.id);
        entry.actor = user.email.clone();
        entry.ip = ip.map(str::to_string);
        tx.audit(self, user.org_id, entry).await?;
        tx.commit().await
    }

    /// The link a reset should email, while it can still be used.
    pub async fn reset_to_send(&self, id: &str) -> DbResult<Option<ResetToSend>> {
        let row = self
            .db
            .fetch_optional(
                Q::new(
                    "SELECT r.org_id, r.user_id, r.token_enc, r.expires_at, r.used_at, u.email, u.name \
                     FROM password_resets r JOIN users u ON u.id = r.user_id WHERE r.id = $1",
                )
                .bind(id),
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        if row.opt_i64("used_at")?.is_some() || self.now() >= row.ts("expires_at")? {
            return Ok(None);
        }
        let org = OrgId::from_uuid(row.uuid("org_id")?);
        let token = self
            .decrypt_field(org, TOKEN_FIELD, &row.string("token_enc")?)
            .await
            .map_err(DbError::from)?;
        Ok(Some(ResetToSend {
            org_id: org,
            user_id: UserId::from_uuid(row.uuid("user_id")?),
            email: row.string("email")?,
            name: row.string("name")?,
            token,
        }))
    }

    /// Whether a token can still be used (to show the form or say the link is dead).
    pub async fn reset_is_usable(&self, token: &str) -> DbResult<bool> {
        let row = self
            .db
            .fetch_optional(
                Q::new("SELECT expires_at, used_at FROM password_resets WHERE id = $1")
                    .bind(sha256_hex(token)),
            )
            .await?;
        Ok(match row {
            Some(r) => r.opt_i64("used_at")?.is_none() && self.now() < r.ts("expires_at")?,
            None => false,
        })
    }

    /// Sets a new password with a reset token: the token is spent, the lockout lifted and every
    /// session signed out. An unknown, used or expired token is refused with one message.
    pub async fn complete_password_reset(
        &self,
        token: &str,
        new_password: &str,
    ) -> Result<(), WriteError> {
        let id = sha256_hex(token);
        let dead = || -> WriteError {
            DomainError::field(
                "token",
                "this link has expired or was already used; ask for a new one",
            )
            .into()
        };
        let row = self
            .db
            .fetch_optional(
                Q::new(
                    "SELECT r.user_id, r.org_id, r.expires_at, r.used_at, u.email FROM password_resets r \
                     JOIN users u ON u.id = r.user_id WHERE r.id = $1",
                )
                .bind(id.as_str()),
            )
            .await?;
        let Some(row) = row else { return Err(dead()) };
        let now = self.now();
        if row.opt_i64("used_at")?.is_some() || now >= row.ts("expires_at")? {
            return Err(dead());
        }
        let email = row.string("email")?;
        if let Err(p) = check_new_password(new_password, &email) {
            return Err(
                DomainError::field("new_password", crate::identity::password_message(p)).into(),
            );
        }
        let user_id = UserId::from_uuid(row.uuid("user_id")?);
        let org = OrgId::from_uuid(row.uuid("org_id")?);
        let hash = hash_password(new_password).await?;
        let mut tx = self.begin().await?;
        let spent = tx
            .execute(
                Q::new("UPDATE password_resets SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
                    .bind(now)
                    .bind(id.as_str()),
            )
            .await?;
        if spent != 1 {
            return Err(dead());
        }
        // Any other link still out is void too.
        tx.execute(
            Q::new(
                "UPDATE password_resets SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL",
            )
            .bind(now)
            .bind(user_id),
        )
        .await?;
        tx.execute(
            Q::new(
                "UPDATE users SET password_hash = $1, password_changed_at = $2, failed_logins = 0, \
                 locked_until = NULL, updated_at = $2 WHERE id = $3",
            )
            .bind(hash)
            .bind(now)
            .bind(user_id),
        )
        .await?;
        tx.execute(
            Q::new("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(user_id),
        )
        .await?;
        let mut entry = AuditEntry::system(
            "user.password_reset",
            &format!("user:{user_id}"),
            serde_json::json!({ "fields": ["password"], "sessions_revoked": true }),
        );
        entry.actor_id = Some(user_id);
        entry.actor = email;
        tx.audit(self, org, entry).await?;
        tx.commit().await?;
        Ok(())
    }
}
