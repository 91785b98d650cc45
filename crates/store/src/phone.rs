//! Sign-in by a one-time code sent by SMS (seed 004), and the communication log.
//!
//! `start_phone_sign_in` always creates a challenge and answers the same way, whether the number
//! belongs to an account or not; only for a real account is a code sent, through the jobs
//! outbox (job kind [`SMS_SIGN_IN_CODE`]). A code is 6 digits, valid [`CODE_TTL_MINUTES`]
//! minutes, allows [`MAX_ATTEMPTS`] tries and works once. Requests are limited per number and
//! per client address, counted in the database so the limits hold across servers.

use domain::{OrgId, Scope, UserId};
use jiff::{SignedDuration, Timestamp};

use crate::Store;
use crate::audit::AuditEntry;
use crate::db::{DbError, DbResult, Q};
use crate::identity::{SessionPolicy, SignInError, SignedIn, sha256_hex};
use crate::jobs::NewJob;

pub const CODE_TTL_MINUTES: i64 = 5;
pub const MAX_ATTEMPTS: i64 = 5;
/// Codes one number may ask for in [`WINDOW_MINUTES`].
pub const PER_PHONE: i64 = 3;
/// Codes one client address may ask for in [`WINDOW_MINUTES`].
pub const PER_IP: i64 = 10;
pub const WINDOW_MINUTES: i64 = 15;
/// The job that sends a sign-in code.
pub const SMS_SIGN_IN_CODE: &str = "sms.sign_in_code";

const CODE_FIELD: &str = "phone_challenges.code";

/// The outcome of asking for a code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PhoneStart {
    /// A challenge to answer (a code was sent if the number has an account).
    Challenge(String),
    /// Too many codes asked for this number or from this address: wait.
    RateLimited,
}

/// A sign-in code ready to send (for the job that sends it).
#[derive(Clone, Debug)]
pub struct CodeToSend {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub phone: String,
    pub code: String,
}

/// A message to record in the communication log.
#[derive(Clone, Debug)]
pub struct NewCommunication {
    pub org_id: OrgId,
    pub user_id: Option<UserId>,
    pub channel: &'static str,
    pub kind: String,
    /// Masked: never the full number or address of a secret's recipient.
    pub recipient: String,
    pub provider: String,
    pub provider_id: Option<String>,
    pub status: &'static str,
    pub error: Option<String>,
}

/// A logged message.
#[derive(Clone, Debug)]
pub struct Communication {
    pub channel: String,
    pub kind: String,
    pub recipient: String,
    pub provider: String,
    pub status: String,
    pub error: Option<String>,
    pub created_at: Timestamp,
}

fn phone_hash(phone: &str) -> String {
    sha256_hex(&format!("phone:{phone}"))
}

fn code_hash(challenge: &str, code: &str) -> String {
    sha256_hex(&format!("{challenge}:{}", code.trim()))
}

impl Store {
    /// A uniformly random 6-digit code.
    fn six_digits(&self) -> String {
        loop {
            let mut b = [0u8; 4];
            self.fill_random(&mut b);
            let n = u32::from_le_bytes(b);
            // Reject the top sliver so every code is equally likely.
            if n < 4_294_000_000 {
                return format!("{:06}", n % 1_000_000);
            }
        }
    }

    /// Asks for a sign-in code for a number in E.164 form.
    pub async fn start_phone_sign_in(&self, phone: &str, ip: Option<&str>) -> DbResult<PhoneStart> {
        let now = self.now();
        let since = now
            .checked_sub(SignedDuration::from_mins(WINDOW_MINUTES))
            .unwrap_or(now);
        let ph = phone_hash(phone);
        let by_phone = self
            .db
            .fetch_one(
                Q::new("SELECT COUNT(*) AS n FROM phone_challenges WHERE phone_hash = $1 AND created_at > $2")
                    .bind(ph.as_str())
                    .bind(since),
            )
            .await?
            .i64("n")?;
        let by_ip = match ip {
            Some(ip) => self
                .db
                .fetch_one(
                    Q::new("SELECT COUNT(*) AS n FROM phone_challenges WHERE ip = $1 AND created_at > $2")
                        .bind(ip)
                        .bind(since),
                )
                .await?
                .i64("n")?,
            None => 0,
        };
        if by_phone >= PER_PHONE || by_ip >= PER_IP {
            return Ok(PhoneStart::RateLimited);
        }
        let user = self
            .db
            .fetch_optional(
                Q::new("SELECT id, org_id, email FROM users WHERE phone = $1 AND active = $2")
                    .bind(phone)
                    .bind(true),
            )
            .await?;
        let mut raw = [0u8; 24];
        self.fill_random(&mut raw);
        let challenge =
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw);
        let code = self.six_digits();
        let expires = now
            .checked_add(SignedDuration::from_mins(CODE_TTL_MINUTES))
            .unwrap_or(now);
        // The cipher before the transaction: creating an organization's first data key writes,
        // and SQLite has one writer.
        let (org, user_id, enc) = match &user {
            Some(r) => {
                let org = OrgId::from_uuid(r.uuid("org_id")?);
                let cipher = self.field_cipher(org).await.map_err(DbError::from)?;
                (
                    Some(org),
                    Some(UserId::from_uuid(r.uuid("id")?)),
                    Some(cipher.encrypt(CODE_FIELD, &code)),
                )
            }
            None => (None, None, None),
        };
        let mut tx = self.begin().await?;
        tx.execute(
            Q::new(
                "INSERT INTO phone_challenges (id, org_id, user_id, phone_hash, ip, code_hash, code_enc, attempts, \
                 created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, NULL)",
            )
            .bind(challenge.as_str())
            .bind(org)
            .bind(user_id)
            .bind(ph.as_str())
            .bind(ip.map(str::to_string))
            .bind(code_hash(&challenge, &code))
            .bind(enc)
            .bind(now)
            .bind(expires),
        )
        .await?;
        if let (Some(org), Some(uid), Some(r)) = (org, user_id, &user) {
            tx.enqueue(
                self,
                NewJob::new(
                    SMS_SIGN_IN_CODE,
                    serde_json::json!({ "challenge": challenge }),
                )
                .org(org)
                .attempts(3),
            )
            .await?;
            let mut entry = AuditEntry::system(
                "session.phone_code_requested",
                &format!("user:{uid}"),
                serde_json::json!({}),
            );
            entry.actor_id = Some(uid);
            entry.actor = r.string("email")?;
            entry.ip = ip.map(str::to_string);
            tx.audit(self, org, entry).await?;
        }
        tx.commit().await?;
        Ok(PhoneStart::Challenge(challenge))
    }

    /// The code a challenge should send, while it can still be used (for the sending job).
    pub async fn code_to_send(&self, challenge: &str) -> DbResult<Option<CodeToSend>> {
        let row = self
            .db
            .fetch_optional(
                Q::new(
                    "SELECT c.org_id, c.user_id, c.code_enc, c.expires_at, c.used_at, u.phone \
                     FROM phone_challenges c JOIN users u ON u.id = c.user_id WHERE c.id = $1",
                )
                .bind(challenge),
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        if row.opt_i64("used_at")?.is_some() || self.now() >= row.ts("expires_at")? {
            return Ok(None);
        }
        let (Some(enc), Some(phone)) = (row.opt_string("code_enc")?, row.opt_string("phone")?)
        else {
            return Ok(None);
        };
        let org = OrgId::from_uuid(row.uuid("org_id")?);
        let code = self
            .decrypt_field(org, CODE_FIELD, &enc)
            .await
            .map_err(DbError::from)?;
        Ok(Some(CodeToSend {
            org_id: org,
            user_id: UserId::from_uuid(row.uuid("user_id")?),
            phone,
            code,
        }))
    }

    /// Answers a challenge with its code. Every answer spends an attempt; a wrong code also
    /// counts towards the account's lockout.
    pub async fn complete_phone_sign_in(
        &self,
        challenge: &str,
        code: &str,
        policy: SessionPolicy,
        ip: Option<&str>,
        user_agent: Option<&str>,
    ) -> Result<SignedIn, SignInError> {
        let now = self.now();
        // Spend an attempt first, conditionally: concurrent guesses cannot exceed the limit.
        let spent = self
            .db
            .execute(
                Q::new(
                    "UPDATE phone_challenges SET attempts = attempts + 1 \
                     WHERE id = $1 AND attempts < $2 AND used_at IS NULL AND expires_at > $3",
                )
                .bind(challenge)
                .bind(MAX_ATTEMPTS)
                .bind(now),
            )
            .await?;
        if spent != 1 {
            return Err(SignInError::Rejected);
        }
        let row = self
            .db
            .fetch_optional(
                Q::new(
                    "SELECT c.code_hash, u.id, u.org_id, u.email, u.name, u.phone, u.active, u.password_hash, \
                     u.failed_logins, u.locked_until, u.mfa_enabled_at \
                     FROM phone_challenges c JOIN users u ON u.id = c.user_id WHERE c.id = $1",
                )
                .bind(challenge),
            )
            .await?;
        let Some(row) = row else {
            // A challenge for a number without an account: nothing can match.
            return Err(SignInError::Rejected);
        };
        let (user, _, failed, locked_until) = Self::user_from_row(&row)?;
        let locked = locked_until.is_some_and(|t| t > now);
        let right = row.string("code_hash")? == code_hash(challenge, code);
        if !right || locked || !user.active {
            self.record_failed_attempt(&user, failed, locked, ip, "session.phone_code_failed")
                .await?;
            return Err(SignInError::Rejected);
        }
        let mut tx = self.begin().await?;
        let used = tx
            .execute(
                Q::new(
                    "UPDATE phone_challenges SET used_at = $1 WHERE id = $2 AND used_at IS NULL",
                )
                .bind(now)
                .bind(challenge),
            )
            .await?;
        if used != 1 {
            return Err(SignInError::Rejected);
        }
        let mfa_pending = user.mfa_enabled;
        let action = if mfa_pending {
            "session.phone_code_accepted"
        } else {
            "session.signed_in"
        };
        let detail = serde_json::json!({ "method": "phone", "mfa_pending": mfa_pending });
        self.finish_sign_in(
            tx,
            user,
            policy,
            ip,
            user_agent,
            mfa_pending,
            action,
            detail,
        )
        .await
    }

    /// Records a message in the communication log.
    pub async fn log_communication(&self, c: &NewCommunication) -> DbResult<()> {
        self.db
            .execute(
                Q::new(
                    "INSERT INTO communications (id, org_id, user_id, patient_id, channel, kind, recipient, provider, \
                     provider_id, status, error, created_at) VALUES ($1, $2, $3, NULL, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(self.new_uuid())
                .bind(c.org_id)
                .bind(c.user_id)
                .bind(c.channel)
                .bind(c.kind.as_str())
                .bind(c.recipient.as_str())
                .bind(c.provider.as_str())
                .bind(c.provider_id.clone())
                .bind(c.status)
                .bind(c.error.clone())
                .bind(self.now()),
            )
            .await?;
        Ok(())
    }

    /// The messages sent to a user, newest first.
    pub async fn communications_of_user(
        &self,
        scope: &Scope,
        user: UserId,
    ) -> DbResult<Vec<Communication>> {
        self.db
            .fetch_all(
                Q::new(
                    "SELECT channel, kind, recipient, provider, status, error, created_at FROM communications \
                     WHERE org_id = $1 AND user_id = $2 ORDER BY created_at DESC LIMIT 200",
                )
                .bind(scope.org())
                .bind(user),
            )
            .await?
            .iter()
            .map(|r| {
                Ok(Communication {
                    channel: r.string("channel")?,
                    kind: r.string("kind")?,
                    recipient: r.string("recipient")?,
                    provider: r.string("provider")?,
                    status: r.string("status")?,
                    error: r.opt_string("error")?,
                    created_at: r.ts("created_at")?,
                })
            })
            .collect()
    }
}
