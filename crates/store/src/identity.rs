//! Users, roles, password sign-in with lockout, and server-side sessions.
//!
//! Passwords are hashed with Argon2id (the crate's defaults: 19 MiB, 2 passes) off the async
//! threads. Failed sign-ins are counted in the database, so a lockout holds across servers.
//! Session tokens are 32 random bytes; only their SHA-256 is stored.

use domain::identity::Role;
use domain::identity::password::{PasswordProblem, check_new_password};
use domain::{
    DomainError, FieldError, LocationAccess, LocationId, OrgId, Principal, Scope, UserId,
};
use jiff::{SignedDuration, Timestamp};

use crate::audit::AuditEntry;
use crate::db::{DbError, DbResult, Q, Row};
use crate::tenancy::WriteError;
use crate::{Store, Txn};

/// Failed attempts before the account locks.
pub const LOCK_AFTER: i64 = 5;

/// A user as sign-in and the chokepoint see them.
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub id: UserId,
    pub org_id: OrgId,
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub active: bool,
    pub roles: Vec<Role>,
    /// Empty: every location of the organization.
    pub locations: Vec<LocationId>,
    /// The user has a confirmed TOTP second factor.
    pub mfa_enabled: bool,
    /// One of the user's roles must use a second factor in this organization.
    pub mfa_required: bool,
    /// The organization's own roles the user holds: (name, permissions).
    pub custom_roles: Vec<(String, domain::identity::PermissionSet)>,
}

impl User {
    /// The scope this user acts in.
    pub fn scope(&self) -> Scope {
        let access = if self.locations.is_empty() {
            LocationAccess::All
        } else {
            LocationAccess::Only(self.locations.clone())
        };
        Scope::new(self.org_id, Principal::User(self.id), access)
    }
}

/// A user to create.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub password: Option<String>,
    pub roles: Vec<Role>,
    pub locations: Vec<LocationId>,
}

/// Lower-cased, trimmed; a plausible address or a field error.
pub fn normalize_email(email: &str) -> Result<String, FieldError> {
    let e = email.trim().to_lowercase();
    let valid = e.len() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !e.chars().any(char::is_whitespace);
    if valid {
        Ok(e)
    } else {
        Err(FieldError {
            field: "email".into(),
            message: "is not an email address".into(),
        })
    }
}

/// Argon2id hash of a password (PHC string), computed off the async threads.
pub async fn hash_password(password: &str) -> Result<String, DbError> {
    let pw = password.to_string();
    tokio::task::spawn_blocking(move || {
        use argon2::PasswordHasher;
        argon2::Argon2::default()
            .hash_password(pw.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| DbError::Corrupt(format!("password hashing: {e}")))
    })
    .await
    .map_err(|e| DbError::Corrupt(format!("password hashing: {e}")))?
}

/// Whether a password matches a stored hash (a malformed hash never matches).
pub async fn verify_password(password: &str, hash: &str) -> bool {
    let (pw, h) = (password.to_string(), hash.to_string());
    tokio::task::spawn_blocking(move || {
        use argon2::PasswordVerifier;
        argon2::Argon2::default()
            .verify_password(pw.as_bytes(), h.as_str())
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

pub(crate) fn sha256_hex(s: &str) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, s.as_bytes()))
}

impl Txn {
    /// Creates a user of the scope's organization with roles and, optionally, a password.
    pub async fn create_user(
        &mut self,
        store: &Store,
        scope: &Scope,
        u: &NewUser,
    ) -> Result<UserId, WriteError> {
        let mut errors = Vec::new();
        let email = match normalize_email(&u.email) {
            Ok(e) => e,
            Err(fe) => {
                errors.push(fe);
                String::new()
            }
        };
        if u.name.trim().is_empty() {
            errors.push(FieldError {
                field: "name".into(),
                message: "must not be empty".into(),
            });
        }
        if u.roles.is_empty() {
            errors.push(FieldError {
                field: "roles".into(),
                message: "at least one role".into(),
            });
        }
        if let Some(pw) = &u.password
            && let Err(p) = check_new_password(pw, &email)
        {
            errors.push(FieldError {
                field: "password".into(),
                message: password_message(p).into(),
            });
        }
        if !errors.is_empty() {
            return Err(DomainError::validation(errors).into());
        }
        let hash = match &u.password {
            Some(pw) => Some(hash_password(pw).await?),
            None => None,
        };
        self.insert_user(store, scope, u, &email, hash).await
    }

    /// Creates a user whose password was already checked and hashed (several demo users
    /// sharing one password cost one Argon2 run instead of one each).
    pub async fn create_user_prehashed(
        &mut self,
        store: &Store,
        scope: &Scope,
        u: &NewUser,
        hash: String,
    ) -> Result<UserId, WriteError> {
        let email = normalize_email(&u.email).map_err(|fe| DomainError::validation(vec![fe]))?;
        self.insert_user(store, scope, u, &email, Some(hash)).await
    }

    async fn insert_user(
        &mut self,
        store: &Store,
        scope: &Scope,
        u: &NewUser,
        email: &str,
        hash: Option<String>,
    ) -> Result<UserId, WriteError> {
        let id = UserId::from_uuid(store.new_uuid());
        let now = store.now();
        let r = self
            .execute(
                Q::new(
                    "INSERT INTO users (id, org_id, email, name, phone, password_hash, active, failed_logins, \
                     locked_until, password_changed_at, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 0, NULL, $8, $8, $8)",
                )
                .bind(id)
                .bind(scope.org())
                .bind(email)
                .bind(u.name.trim())
                .bind(u.phone.clone())
                .bind(hash)
                .bind(true)
                .bind(now),
            )
            .await;
        match r {
            Err(e) if e.is_unique_violation() => {
                return Err(
                    DomainError::field("email", "is already used by another account").into(),
                );
            }
            other => {
                other?;
            }
        }
        for role in &u.roles {
            self.execute(
                Q::new("INSERT INTO user_roles (user_id, org_id, role) VALUES ($1, $2, $3)")
                    .bind(id)
                    .bind(scope.org())
                    .bind(role.code()),
            )
            .await?;
        }
        for loc in &u.locations {
            self.execute(
                Q::new(
                    "INSERT INTO user_locations (user_id, org_id, location_id) VALUES ($1, $2, $3)",
                )
                .bind(id)
                .bind(scope.org())
                .bind(*loc),
            )
            .await?;
        }
        self.audit(
            store,
            scope.org(),
            AuditEntry::system(
                "user.created",
                &format!("user:{id}"),
                serde_json::json!({
                    "fields": ["email", "name", "phone", "password"],
                    "roles": u.roles.iter().map(|r| r.code()).collect::<Vec<_>>(),
                }),
            ),
        )
        .await?;
        Ok(id)
    }
}

pub(crate) fn password_message(p: PasswordProblem) -> &'static str {
    match p {
        PasswordProblem::TooShort => "must be at least 12 characters",
        PasswordProblem::TooLong => "must be at most 128 characters",
        PasswordProblem::Common => "is too common; choose a longer, less guessable one",
        PasswordProblem::ContainsIdentity => "must not contain your email or the product's name",
    }
}

/// Why sign-in failed. `Rejected` is all a caller may tell the person: it does not say whether
/// the account exists, the password was wrong or the account is locked.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("the email or password is not correct")]
    Rejected,
    #[error(transparent)]
    Db(#[from] DbError),
}

/// A successful sign-in: the user and the session token for the cookie (shown once).
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub user: User,
    pub token: String,
    /// The password was right but the second factor is still owed: the token names a pending
    /// session that only [`Store::complete_mfa`] accepts, for five minutes.
    pub mfa_pending: bool,
}

/// Session lifetimes.
#[derive(Clone, Copy, Debug)]
pub struct SessionPolicy {
    pub idle: SignedDuration,
    pub absolute: SignedDuration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            idle: SignedDuration::from_mins(30),
            absolute: SignedDuration::from_hours(12),
        }
    }
}

/// A real Argon2 hash (of a random string) to verify against when the email is unknown or the
/// account has no password, so that answering takes as long as for a real account.
async fn dummy_hash() -> &'static str {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_init(|| async {
            hash_password("cuspid-timing-equalizer-not-a-password")
                .await
                .unwrap_or_default()
        })
        .await
}

impl Store {
    pub(crate) fn user_from_row(
        r: &Row,
    ) -> DbResult<(User, Option<String>, i64, Option<Timestamp>)> {
        Ok((
            User {
                id: UserId::from_uuid(r.uuid("id")?),
                org_id: OrgId::from_uuid(r.uuid("org_id")?),
                email: r.string("email")?,
                name: r.string("name")?,
                phone: r.opt_string("phone")?,
                active: r.bool("active")?,
                roles: Vec::new(),
                locations: Vec::new(),
                mfa_enabled: r.opt_i64("mfa_enabled_at")?.is_some(),
                mfa_required: false,
                custom_roles: Vec::new(),
            },
            r.opt_string("password_hash")?,
            r.i64("failed_logins")?,
            r.opt_ts("locked_until")?,
        ))
    }

    pub(crate) async fn load_roles_and_locations(&self, user: &mut User) -> DbResult<()> {
        user.roles = self
            .db
            .fetch_all(
                Q::new("SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role")
                    .bind(user.id),
            )
            .await?
            .iter()
            .filter_map(|r| r.string("role").ok()?.parse().ok())
            .collect();
        user.locations = self
            .db
            .fetch_all(
                Q::new("SELECT location_id FROM user_locations WHERE user_id = $1").bind(user.id),
            )
            .await?
            .iter()
            .map(|r| Ok(LocationId::from_uuid(r.uuid("location_id")?)))
            .collect::<DbResult<_>>()?;
        user.custom_roles = self
            .db
            .fetch_all(
                Q::new(
                    "SELECT c.name, c.permissions FROM custom_roles c JOIN user_roles r ON r.role = c.code \
                     WHERE r.user_id = $1 AND c.org_id = $2 ORDER BY c.name",
                )
                .bind(user.id)
                .bind(user.org_id),
            )
            .await?
            .iter()
            .map(|r| {
                Ok((
                    r.string("name")?,
                    crate::roles::parse_permissions(&r.string("permissions")?),
                ))
            })
            .collect::<DbResult<_>>()?;
        let required = self.mfa_required_roles(user.org_id).await?;
        user.mfa_required = user.roles.iter().any(|r| required.contains(r));
        Ok(())
    }

    /// A user of the scope's organization.
    pub async fn user(&self, scope: &Scope, id: UserId) -> DbResult<Option<User>> {
        let row = self
            .db
            .fetch_optional(
                Q::new(
                    "SELECT id, org_id, email, name, phone, active, password_hash, failed_logins, locked_until, mfa_enabled_at \
                     FROM users WHERE org_id = $1 AND id = $2",
                )
                .bind(scope.org())
                .bind(id),
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let (mut user, ..) = Self::user_from_row(&row)?;
        self.load_roles_and_locations(&mut user).await?;
        Ok(Some(user))
    }

    /// Every user of the scope's organization, by name (roles and locations not loaded).
    pub async fn users_of(&self, scope: &Scope) -> DbResult<Vec<User>> {
        self.db
            .fetch_all(
                Q::new(
                    "SELECT id, org_id, email, name, phone, active, password_hash, failed_logins, locked_until, mfa_enabled_at \
                     FROM users WHERE org_id = $1 ORDER BY name",
                )
                .bind(scope.org()),
            )
            .await?
            .iter()
            .map(|r| Ok(Self::user_from_row(r)?.0))
            .collect()
    }

    /// The user with this email, in any organization (emails are unique installation-wide):
    /// for sign-in flows that start from an address, never for showing data.
    pub async fn user_by_email(&self, email: &str) -> DbResult<Option<User>> {
        let row = self
            .db
            .fetch_optional(
                Q::new(
                    "SELECT id, org_id, email, name, phone, active, password_hash, failed_logins, locked_until, mfa_enabled_at \
                     FROM users WHERE email = $1",
                )
                .bind(email.trim().to_lowercase()),
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let (mut user, ..) = Self::user_from_row(&row)?;
        self.load_roles_and_locations(&mut user).await?;
        Ok(Some(user))
    }

    /// Email and password sign-in with lockout: after `LOCK_AFTER` failures the account is
    /// locked for 1, 2, 4 … minutes (at most an hour), counted in the database.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        policy: SessionPolicy,
        ip: Option<&str>,
        user_agent: Option<&str>,
    ) -> Result<SignedIn, SignInError> {
        let email = email.trim().to_lowercase();
        let row = self
            .db
            .fetch_optional(
                Q::new(
                    "SELECT id, org_id, email, name, phone, active, password_hash, failed_logins, locked_until, mfa_enabled_at \
                     FROM users WHERE email = $1",
                )
                .bind(email.as_str()),
            )
            .await?;
        let Some(row) = row else {
            let _ = verify_password(password, dummy_hash().await).await;
            return Err(SignInError::Rejected);
        };
        let (user, hash, failed, locked_until) = Self::user_from_row(&row)?;
        let now = self.now();
        let locked = locked_until.is_some_and(|t| t > now);
        let ok = verify_password(password, hash.as_deref().unwrap_or(dummy_hash().await)).await
            && hash.is_some()
            && user.active
            && !locked;
        if !ok {
            self.record_failed_attempt(&user, failed, locked, ip, "session.sign_in_failed")
                .await?;
            return Err(SignInError::Rejected);
        }
        let tx = self.begin().await?;
        let mfa_pending = user.mfa_enabled;
        let action = if mfa_pending {
            "session.password_accepted"
        } else {
            "session.signed_in"
        };
        let detail = serde_json::json!({ "mfa_pending": mfa_pending });
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

    /// The end of every accepted factor: the lockout cleared (unless a second factor is still
    /// owed: failures keep counting until it passes), a new session, the audit entry, commit,
    /// and the user's roles loaded. `tx` may already hold the caller's own changes.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn finish_sign_in(
        &self,
        mut tx: Txn,
        mut user: User,
        policy: SessionPolicy,
        ip: Option<&str>,
        user_agent: Option<&str>,
        mfa_pending: bool,
        action: &str,
        detail: serde_json::Value,
    ) -> Result<SignedIn, SignInError> {
        if !mfa_pending {
            tx.execute(
                Q::new("UPDATE users SET failed_logins = 0, locked_until = NULL, updated_at = $1 WHERE id = $2")
                    .bind(self.now())
                    .bind(user.id),
            )
            .await?;
        }
        let token = self
            .insert_session(&mut tx, &user, policy, ip, user_agent, mfa_pending)
            .await?;
        let mut entry = AuditEntry::system(action, &format!("user:{}", user.id), detail);
        entry.actor_id = Some(user.id);
        entry.actor = user.email.clone();
        entry.ip = ip.map(str::to_string);
        tx.audit(self, user.org_id, entry).await?;
        tx.commit().await?;
        self.load_roles_and_locations(&mut user).await?;
        Ok(SignedIn {
            user,
            token,
            mfa_pending,
        })
    }

    /// Counts a failed attempt (password or second factor) in the database and locks the account
    /// for 1, 2, 4 … minutes (at most an hour) from the `LOCK_AFTER`th; audited.
    pub(crate) async fn record_failed_attempt(
        &self,
        user: &User,
        failed_before: i64,
        already_locked: bool,
        ip: Option<&str>,
        action: &str,
    ) -> DbResult<()> {
        let now = self.now();
        let failed = failed_before + 1;
        let lock = (failed >= LOCK_AFTER).then(|| {
            let minutes = 1i64 << (failed - LOCK_AFTER).clamp(0, 6);
            now.checked_add(SignedDuration::from_mins(minutes.min(60)))
                .unwrap_or(now)
        });
        let mut tx = self.begin().await?;
        tx.execute(
            Q::new("UPDATE users SET failed_logins = $1, locked_until = COALESCE($2, locked_until), updated_at = $3 WHERE id = $4")
                .bind(failed)
                .bind(lock)
                .bind(now)
                .bind(user.id),
        )
        .await?;
        let mut entry = AuditEntry::system(
            action,
            &format!("user:{}", user.id),
            serde_json::json!({ "failed_logins": failed, "locked": already_locked || lock.is_some() }),
        );
        entry.actor_id = Some(user.id);
        entry.actor = user.email.clone();
        entry.ip = ip.map(str::to_string);
        tx.audit(self, user.org_id, entry).await?;
        tx.commit().await
    }

    async fn org_security_row_absolute(&self, org: OrgId) -> DbResult<Option<i64>> {
        self.db
            .fetch_optional(
                Q::new("SELECT session_absolute_hours FROM org_security WHERE org_id = $1")
                    .bind(org),
            )
            .await?
            .map(|r| r.i64("session_absolute_hours"))
            .transpose()
    }

    /// A new session (a fresh random token; only its SHA-256 is stored). A session waiting for
    /// the second factor lives five minutes and is refused by [`Store::session_user`].
    pub(crate) async fn insert_session(
        &self,
        tx: &mut Txn,
        user: &User,
        policy: SessionPolicy,
        ip: Option<&str>,
        user_agent: Option<&str>,
        mfa_pending: bool,
    ) -> DbResult<String> {
        let now = self.now();
        let mut raw = [0u8; 32];
        self.fill_random(&mut raw);
        let token = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw);
        let lifetime = if mfa_pending {
            SignedDuration::from_mins(5)
        } else {
            // The organization's absolute lifetime, when it set one.
            match self.org_security_row_absolute(user.org_id).await? {
                Some(h) => SignedDuration::from_hours(h),
                None => policy.absolute,
            }
        };
        tx.execute(
            Q::new(
                "INSERT INTO sessions (id, user_id, org_id, created_at, last_seen_at, expires_at, revoked_at, ip, user_agent, mfa_pending) \
                 VALUES ($1, $2, $3, $4, $4, $5, NULL, $6, $7, $8)",
            )
            .bind(sha256_hex(&token))
            .bind(user.id)
            .bind(user.org_id)
            .bind(now)
            .bind(now.checked_add(lifetime).unwrap_or(now))
            .bind(ip.map(str::to_string))
            .bind(user_agent.map(|s| s.chars().take(300).collect::<String>()))
            .bind(mfa_pending),
        )
        .await?;
        Ok(token)
    }

    /// The user behind a session token, if the session is live (not revoked, not idle longer
    /// than `policy.idle`, not past its absolute expiry). Touches the session's last use.
    pub async fn session_user(&self, token: &str, policy: SessionPolicy) -> DbResult<Option<User>> {
        let id = sha256_hex(token);
        let row = self
            .db
            .fetch_optional(
                Q::new(
                    "SELECT s.created_at, s.last_seen_at, s.expires_at, s.revoked_at, s.mfa_pending, u.id, u.org_id, u.email, \
                     u.name, u.phone, u.active, u.password_hash, u.failed_logins, u.locked_until, u.mfa_enabled_at, \
                     o.session_idle_minutes, o.session_absolute_hours \
                     FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN org_security o ON o.org_id = s.org_id \
                     WHERE s.id = $1",
                )
                .bind(id.as_str()),
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let now = self.now();
        let last_seen = row.ts("last_seen_at")?;
        // The organization's lifetimes when it set them (they apply to live sessions at once).
        let idle = row
            .opt_i64("session_idle_minutes")?
            .map_or(policy.idle, SignedDuration::from_mins);
        let absolute = row
            .opt_i64("session_absolute_hours")?
            .map_or(policy.absolute, SignedDuration::from_hours);
        let created = row.ts("created_at")?;
        let idle_until = last_seen.checked_add(idle).unwrap_or(last_seen);
        let absolute_until = created.checked_add(absolute).unwrap_or(created);
        if row.opt_i64("revoked_at")?.is_some()
            || row.bool("mfa_pending")?
            || now >= row.ts("expires_at")?
            || now >= idle_until
            || now >= absolute_until
        {
            return Ok(None);
        }
        let (mut user, ..) = Self::user_from_row(&row)?;
        if !user.active {
            return Ok(None);
        }
        // One write a minute at most per session, not one per request.
        if now.duration_since(last_seen) >= SignedDuration::from_mins(1) {
            self.db
                .execute(
                    Q::new("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
                        .bind(now)
                        .bind(id.as_str()),
                )
                .await?;
        }
        self.load_roles_and_locations(&mut user).await?;
        Ok(Some(user))
    }

    /// Ends one session (sign-out).
    pub async fn revoke_session(&self, token: &str) -> DbResult<bool> {
        let n = self
            .db
            .execute(
                Q::new("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                    .bind(self.now())
                    .bind(sha256_hex(token)),
            )
            .await?;
        Ok(n == 1)
    }

    /// Ends every session of a user (password change, deactivation).
    pub async fn revoke_user_sessions(&self, scope: &Scope, user: UserId) -> DbResult<u64> {
        self.db
            .execute(
                Q::new("UPDATE sessions SET revoked_at = $1 WHERE org_id = $2 AND user_id = $3 AND revoked_at IS NULL")
                    .bind(self.now())
                    .bind(scope.org())
                    .bind(user),
            )
            .await
    }
}

/// A session as its owner sees it on `/profile`.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionInfo {
    /// The stored hash of the token (not the token): safe to show and to revoke by.
    pub id: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The session of the request asking.
    pub current: bool,
}

impl Store {
    /// The live sessions of a user, newest first; `current_token` marks the asking one.
    pub async fn sessions_of(
        &self,
        scope: &Scope,
        user: UserId,
        current_token: Option<&str>,
    ) -> DbResult<Vec<SessionInfo>> {
        let now = self.now();
        let current = current_token.map(sha256_hex);
        let rows = self
            .db
            .fetch_all(
                Q::new(
                    "SELECT id, created_at, last_seen_at, ip, user_agent FROM sessions \
                     WHERE org_id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3 \
                     ORDER BY created_at DESC",
                )
                .bind(scope.org())
                .bind(user)
                .bind(now),
            )
            .await?;
        rows.iter()
            .map(|r| {
                let id = r.string("id")?;
                Ok(SessionInfo {
                    current: current.as_deref() == Some(id.as_str()),
                    id,
                    created_at: r.ts("created_at")?,
                    last_seen_at: r.ts("last_seen_at")?,
                    ip: r.opt_string("ip")?,
                    user_agent: r.opt_string("user_agent")?,
                })
            })
            .collect()
    }

    /// Ends one of a user's own sessions by its id (as listed by `sessions_of`).
    pub async fn revoke_session_id(&self, scope: &Scope, user: UserId, id: &str) -> DbResult<bool> {
        let n = self
            .db
            .execute(
                Q::new(
                    "UPDATE sessions SET revoked_at = $1 \
                     WHERE id = $2 AND org_id = $3 AND user_id = $4 AND revoked_at IS NULL",
                )
                .bind(self.now())
                .bind(id)
                .bind(scope.org())
                .bind(user),
            )
            .await?;
        Ok(n == 1)
    }

    /// Changes a user's password after checking the current one. Every session of the user is
    /// revoked (the caller signs the person in again on the device they are using).
    pub async fn change_password(
        &self,
        scope: &Scope,
        user: &User,
        current: &str,
        new: &str,
    ) -> Result<(), WriteError> {
        let row = self
            .db
            .fetch_optional(
                Q::new("SELECT password_hash FROM users WHERE org_id = $1 AND id = $2")
                    .bind(scope.org())
                    .bind(user.id),
            )
            .await?
            .ok_or_else(|| DomainError::not_found("user"))?;
        let hash = row.opt_string("password_hash")?;
        if !verify_password(current, hash.as_deref().unwrap_or(dummy_hash().await)).await
            || hash.is_none()
        {
            return Err(DomainError::field("current_password", "is not correct").into());
        }
        if let Err(p) = check_new_password(new, &user.email) {
            return Err(DomainError::field("new_password", password_message(p)).into());
        }
        let new_hash = hash_password(new).await?;
        let now = self.now();
        let mut tx = self.begin().await?;
        tx.execute(
            Q::new(
                "UPDATE users SET password_hash = $1, password_changed_at = $2, updated_at = $2 \
                 WHERE org_id = $3 AND id = $4",
            )
            .bind(new_hash)
            .bind(now)
            .bind(scope.org())
            .bind(user.id),
        )
        .await?;
        tx.execute(
            Q::new("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(user.id),
        )
        .await?;
        let mut entry = AuditEntry::system(
            "user.password_changed",
            &format!("user:{}", user.id),
            serde_json::json!({ "fields": ["password"], "sessions_revoked": true }),
        );
        entry.actor_id = Some(user.id);
        entry.actor = user.email.clone();
        tx.audit(self, scope.org(), entry).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized() {
        assert_eq!(
            normalize_email("  Dr.Smith@Clinic.Example ").unwrap(),
            "dr.smith@clinic.example"
        );
        for bad in [
            "",
            "no-at-sign",
            "@clinic.example",
            "a@b",
            "a@.b.c",
            "a b@c.d",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn passwords_hash_and_verify() {
        let h = hash_password("correct horse battery staple").await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery staple", &h).await);
        assert!(!verify_password("correct horse battery stapler", &h).await);
        assert!(!verify_password("x", "not a hash").await);
        // The dummy hash is a real one (so unknown emails cost a real verification).
        assert!(dummy_hash().await.starts_with("$argon2id$"));
        assert!(
            verify_password("cuspid-timing-equalizer-not-a-password", dummy_hash().await).await
        );
    }
}
