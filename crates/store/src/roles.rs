//! An organization's own roles: a name and a set of permissions, held by users next to the
//! default roles. Creating, changing, assigning and removing them is audited.

use domain::identity::{Permission, PermissionSet};
use domain::{DomainError, FieldError, Scope, UserId};

use crate::Store;
use crate::audit::AuditEntry;
use crate::db::{DbResult, Q};
use crate::identity::User;
use crate::tenancy::WriteError;

/// Permissions a custom role cannot hold (the portal's and the API's own).
pub const NOT_FOR_STAFF_ROLES: &[Permission] = &[Permission::PortalSelf, Permission::ApiAccess];

#[derive(Clone, Debug, PartialEq)]
pub struct CustomRole {
    pub id: uuid::Uuid,
    pub code: String,
    pub name: String,
    pub permissions: PermissionSet,
    /// Its holders: (user id, name, email).
    pub members: Vec<(UserId, String, String)>,
}

pub(crate) fn parse_permissions(text: &str) -> PermissionSet {
    let list: Vec<Permission> = text
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    PermissionSet::of(&list)
}

fn join(perms: &[Permission]) -> String {
    let mut p = perms.to_vec();
    p.sort();
    p.dedup();
    p.iter().map(|p| p.code()).collect::<Vec<_>>().join(",")
}

fn check(name: &str, perms: &[Permission]) -> Result<(), DomainError> {
    let mut errors = Vec::new();
    if name.trim().is_empty() || name.trim().chars().count() > 60 {
        errors.push(FieldError {
            field: "name".into(),
            message: "a name of 1 to 60 characters".into(),
        });
    }
    if perms.is_empty() {
        errors.push(FieldError {
            field: "permissions".into(),
            message: "choose at least one permission".into(),
        });
    }
    if perms.iter().any(|p| NOT_FOR_STAFF_ROLES.contains(p)) {
        errors.push(FieldError {
            field: "permissions".into(),
            message: "the portal and API permissions are not for staff roles".into(),
        });
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::validation(errors))
    }
}

fn entry(actor: &User, action: &str, role: uuid::Uuid, detail: serde_json::Value) -> AuditEntry {
    let mut e = AuditEntry::system(action, &format!("role:{role}"), detail);
    e.actor_id = Some(actor.id);
    e.actor = actor.email.clone();
    e
}

impl Store {
    /// The organization's roles with their holders, by name.
    pub async fn custom_roles(&self, scope: &Scope) -> DbResult<Vec<CustomRole>> {
        let rows = self
            .db
            .fetch_all(
                Q::new(
                    "SELECT id, code, name, permissions FROM custom_roles WHERE org_id = $1 ORDER BY name",
                )
                .bind(scope.org()),
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let code = r.string("code")?;
            let members = self
                .db
                .fetch_all(
                    Q::new(
                        "SELECT u.id, u.name, u.email FROM users u JOIN user_roles r ON r.user_id = u.id \
                         WHERE r.org_id = $1 AND r.role = $2 ORDER BY u.name",
                    )
                    .bind(scope.org())
                    .bind(code.as_str()),
                )
                .await?
                .iter()
                .map(|m| {
                    Ok((
                        UserId::from_uuid(m.uuid("id")?),
                        m.string("name")?,
                        m.string("email")?,
                    ))
                })
                .collect::<DbResult<_>>()?;
            out.push(CustomRole {
                id: r.uuid("id")?,
                code,
                name: r.string("name")?,
                permissions: parse_permissions(&r.string("permissions")?),
                members,
            });
        }
        Ok(out)
    }

    pub async fn create_custom_role(
        &self,
        scope: &Scope,
        actor: &User,
        name: &str,
        perms: &[Permission],
    ) -> Result<uuid::Uuid, WriteError> {
        check(name, perms)?;
        let id = self.new_uuid();
        let now = self.now();
        let mut tx = self.begin().await?;
        let r = tx
            .execute(
                Q::new(
                    "INSERT INTO custom_roles (id, org_id, code, name, permissions, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6)",
                )
                .bind(id)
                .bind(scope.org())
                .bind(format!("custom:{id}"))
                .bind(name.trim())
                .bind(join(perms))
                .bind(now),
            )
            .await;
        match r {
            Err(e) if e.is_unique_violation() => {
                return Err(DomainError::field("name", "another role has this name").into());
            }
            other => {
                other?;
            }
        }
        tx.audit(
            self,
            scope.org(),
            entry(
                actor,
                "role.created",
                id,
                serde_json::json!({ "name": name.trim(), "permissions": join(perms) }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Changes a role's permissions (its holders get them at their next request).
    pub async fn set_custom_role_permissions(
        &self,
        scope: &Scope,
        actor: &User,
        id: uuid::Uuid,
        perms: &[Permission],
    ) -> Result<(), WriteError> {
        let Some(role) = self
            .custom_roles(scope)
            .await?
            .into_iter()
            .find(|r| r.id == id)
        else {
            return Err(DomainError::not_found("role").into());
        };
        check(&role.name, perms)?;
        let before: Vec<Permission> = role.permissions.iter().collect();
        let mut tx = self.begin().await?;
        tx.execute(
            Q::new("UPDATE custom_roles SET permissions = $1, updated_at = $2 WHERE org_id = $3 AND id = $4")
                .bind(join(perms))
                .bind(self.now())
                .bind(scope.org())
                .bind(id),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            entry(
                actor,
                "role.permissions_changed",
                id,
                serde_json::json!({ "before": join(&before), "after": join(perms) }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Gives a user of the organization the role (or takes it away).
    pub async fn set_custom_role_member(
        &self,
        scope: &Scope,
        actor: &User,
        id: uuid::Uuid,
        user: UserId,
        member: bool,
    ) -> Result<(), WriteError> {
        let Some(role) = self
            .custom_roles(scope)
            .await?
            .into_iter()
            .find(|r| r.id == id)
        else {
            return Err(DomainError::not_found("role").into());
        };
        if self.user(scope, user).await?.is_none() {
            return Err(DomainError::not_found("user").into());
        }
        let mut tx = self.begin().await?;
        tx.execute(
            Q::new("DELETE FROM user_roles WHERE org_id = $1 AND user_id = $2 AND role = $3")
                .bind(scope.org())
                .bind(user)
                .bind(role.code.as_str()),
        )
        .await?;
        if member {
            tx.execute(
                Q::new("INSERT INTO user_roles (user_id, org_id, role) VALUES ($1, $2, $3)")
                    .bind(user)
                    .bind(scope.org())
                    .bind(role.code.as_str()),
            )
            .await?;
        }
        tx.audit(
            self,
            scope.org(),
            entry(
                actor,
                if member {
                    "role.assigned"
                } else {
                    "role.unassigned"
                },
                id,
                serde_json::json!({ "user": user.to_string() }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
