//! API tokens for External clients: scoped to permissions (and, through their user, to
//! locations), with an expiry and the time of last use. A token is `cuspid_` and 43 random
//! characters, shown once; only its SHA-256 is stored. Each token acts as its own user (role
//! `external`, no password, no phone) so everything it does is audited under its name.

use domain::identity::{Permission, PermissionSet, Role};
use domain::{DomainError, Scope, UserId};
use jiff::{SignedDuration, Timestamp};

use crate::Store;
use crate::audit::AuditEntry;
use crate::db::{DbResult, Q};
use crate::identity::{NewUser, User, sha256_hex};
use crate::tenancy::WriteError;

/// Permissions a token may never hold: managing people, settings and the audit trail stays
/// with signed-in administrators.
pub const NEVER_FOR_TOKENS: &[Permission] = &[
    Permission::UsersManage,
    Permission::SettingsManage,
    Permission::AuditView,
    Permission::PortalSelf,
];

/// A token as the settings page lists it (never the token itself).
#[derive(Clone, Debug)]
pub struct ApiToken {
    pub id: uuid::Uuid,
    pub name: String,
    pub permissions: PermissionSet,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked: bool,
}

fn parse_perms(text: &str) -> PermissionSet {
    let list: Vec<Permission> = text
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    PermissionSet::of(&list)
}

impl Store {
    /// Creates a token; returns it (shown once).
    pub async fn create_api_token(
        &self,
        scope: &Scope,
        actor: &User,
        name: &str,
        permissions: &[Permission],
        valid_days: i64,
    ) -> Result<String, WriteError> {
        let name = name.trim();
        let mut errors = Vec::new();
        if name.is_empty() || name.chars().count() > 80 {
            errors.push(domain::FieldError {
                field: "name".into(),
                message: "give the token a name of at most 80 characters (what uses it)".into(),
            });
        }
        if permissions.is_empty() {
            errors.push(domain::FieldError {
                field: "permissions".into(),
                message: "choose at least one permission".into(),
            });
        }
        if permissions.iter().any(|p| NEVER_FOR_TOKENS.contains(p)) {
            errors.push(domain::FieldError {
                field: "permissions".into(),
                message: "users, settings and the audit trail are not for tokens".into(),
            });
        }
        if !(1..=730).contains(&valid_days) {
            errors.push(domain::FieldError {
                field: "valid_days".into(),
                message: "between 1 and 730 days".into(),
            });
        }
        if !errors.is_empty() {
            return Err(DomainError::validation(errors).into());
        }
        let id = self.new_uuid();
        let mut raw = [0u8; 32];
        self.fill_random(&mut raw);
        let token = format!(
            "cuspid_{}",
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw)
        );
        let now = self.now();
        let mut perms: Vec<Permission> = permissions.to_vec();
        perms.push(Permission::ApiAccess);
        perms.sort();
        perms.dedup();
        let mut tx = self.begin().await?;
        let user = tx
            .create_user(
                self,
                scope,
                &NewUser {
                    email: format!("token-{}@api.cuspid.invalid", id.simple()),
                    name: format!("API: {name}"),
                    phone: None,
                    password: None,
                    roles: vec![Role::External],
                    locations: Vec::new(),
                },
            )
            .await?;
        tx.execute(
            Q::new(
                "INSERT INTO api_tokens (id, org_id, user_id, name, token_hash, permissions, created_by, created_at, \
                 expires_at, last_used_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL)",
            )
            .bind(id)
            .bind(scope.org())
            .bind(user)
            .bind(name)
            .bind(sha256_hex(&token))
            .bind(perms.iter().map(|p| p.code()).collect::<Vec<_>>().join(","))
            .bind(actor.id)
            .bind(now)
            .bind(
                now.checked_add(SignedDuration::from_hours(24 * valid_days))
                    .unwrap_or(now),
            ),
        )
        .await?;
        let mut entry = AuditEntry::system(
            "api_token.created",
            &format!("api_token:{id}"),
            serde_json::json!({
                "name": name,
                "permissions": perms.iter().map(|p| p.code()).collect::<Vec<_>>(),
                "valid_days": valid_days,
            }),
        );
        entry.actor_id = Some(actor.id);
        entry.actor = actor.email.clone();
        tx.audit(self, scope.org(), entry).await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The organization's tokens, newest first.
    pub async fn api_tokens(&self, scope: &Scope) -> DbResult<Vec<ApiToken>> {
        self.db
            .fetch_all(
                Q::new(
                    "SELECT id, name, permissions, created_at, expires_at, last_used_at, revoked_at FROM api_tokens \
                     WHERE org_id = $1 ORDER BY created_at DESC",
                )
                .bind(scope.org()),
            )
            .await?
            .iter()
            .map(|r| {
                Ok(ApiToken {
                    id: r.uuid("id")?,
                    name: r.string("name")?,
                    permissions: parse_perms(&r.string("permissions")?),
                    created_at: r.ts("created_at")?,
                    expires_at: r.ts("expires_at")?,
                    last_used_at: r.opt_ts("last_used_at")?,
                    revoked: r.opt_i64("revoked_at")?.is_some(),
                })
            })
            .collect()
    }

    /// Revokes a token of the organization (its user is deactivated too).
    pub async fn revoke_api_token(
        &self,
        scope: &Scope,
        actor: &User,
        id: uuid::Uuid,
    ) -> DbResult<bool> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let n = tx
            .execute(
                Q::new(
                    "UPDATE api_tokens SET revoked_at = $1 WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL",
                )
                .bind(now)
                .bind(scope.org())
                .bind(id),
            )
            .await?;
        if n != 1 {
            return Ok(false);
        }
        tx.execute(
            Q::new(
                "UPDATE users SET active = $1, updated_at = $2 WHERE id = (SELECT user_id FROM api_tokens WHERE id = $3)",
            )
            .bind(false)
            .bind(now)
            .bind(id),
        )
        .await?;
        let mut entry = AuditEntry::system(
            "api_token.revoked",
            &format!("api_token:{id}"),
            serde_json::json!({}),
        );
        entry.actor_id = Some(actor.id);
        entry.actor = actor.email.clone();
        tx.audit(self, scope.org(), entry).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The user and permissions behind a bearer token, if it is live. Records its last use
    /// (at most once a minute).
    pub async fn token_user(&self, token: &str) -> DbResult<Option<(User, PermissionSet)>> {
        let row = self
            .db
            .fetch_optional(
                Q::new(
                    "SELECT id, org_id, user_id, permissions, expires_at, last_used_at, revoked_at FROM api_tokens \
                     WHERE token_hash = $1",
                )
                .bind(sha256_hex(token)),
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let now = self.now();
        if row.opt_i64("revoked_at")?.is_some() || now >= row.ts("expires_at")? {
            return Ok(None);
        }
        let org = domain::OrgId::from_uuid(row.uuid("org_id")?);
        let user_id = UserId::from_uuid(row.uuid("user_id")?);
        let Some(user) = self.user(&Scope::system(org), user_id).await? else {
            return Ok(None);
        };
        if !user.active {
            return Ok(None);
        }
        let stale = row
            .opt_ts("last_used_at")?
            .is_none_or(|t| now.duration_since(t) >= SignedDuration::from_mins(1));
        if stale {
            self.db
                .execute(
                    Q::new("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                        .bind(now)
                        .bind(row.uuid("id")?),
                )
                .await?;
        }
        Ok(Some((user, parse_perms(&row.string("permissions")?))))
    }
}
