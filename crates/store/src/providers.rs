//! Providers: the staff with an agenda (dentists, hygienists), their professional profile, and
//! their activation. Administrators add, edit, deactivate and reactivate them; each change is
//! audited with the fields it touched and the acting administrator.

use domain::identity::Role;
use domain::identity::provider::ProviderProfile;
use domain::{DomainError, FieldError, Scope, UserId};

use crate::Store;
use crate::audit::AuditEntry;
use crate::db::{DbResult, Q};
use crate::identity::{NewUser, User};
use crate::tenancy::WriteError;

/// A provider as the `/doctors` page shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Provider {
    pub user: User,
    pub profile: ProviderProfile,
}

/// What an administrator enters for a provider.
#[derive(Clone, Debug, Default)]
pub struct ProviderInput {
    pub name: String,
    /// Only on creation (the sign-in identity does not change here).
    pub email: String,
    /// E.164, already normalized by the caller; empty for none.
    pub phone: String,
    pub roles: Vec<Role>,
    pub profile: ProviderProfile,
}

fn check(input: &ProviderInput) -> Result<ProviderProfile, DomainError> {
    let mut errors: Vec<FieldError> = Vec::new();
    if input.name.trim().is_empty() {
        errors.push(FieldError {
            field: "name".into(),
            message: "must not be empty".into(),
        });
    }
    if !input
        .roles
        .iter()
        .any(|r| matches!(r, Role::Dentist | Role::Hygienist))
    {
        errors.push(FieldError {
            field: "roles".into(),
            message: "a provider is a dentist or a hygienist".into(),
        });
    }
    let profile = match input.profile.normalized() {
        Ok(p) => Some(p),
        Err(mut e) => {
            errors.append(&mut e);
            None
        }
    };
    match profile {
        Some(p) if errors.is_empty() => Ok(p),
        _ => Err(DomainError::validation(errors)),
    }
}

fn actor_entry(
    actor: &User,
    action: &str,
    target: UserId,
    detail: serde_json::Value,
) -> AuditEntry {
    let mut e = AuditEntry::system(action, &format!("user:{target}"), detail);
    e.actor_id = Some(actor.id);
    e.actor = actor.email.clone();
    e
}

impl crate::Txn {
    /// Gives an existing user a provider profile (the demo and imports; `/doctors` uses
    /// [`Store::create_provider`]).
    pub async fn add_provider_profile(
        &mut self,
        store: &Store,
        scope: &Scope,
        user: UserId,
        profile: &ProviderProfile,
    ) -> Result<(), WriteError> {
        let p = profile.normalized().map_err(DomainError::validation)?;
        self.execute(
            Q::new(
                "INSERT INTO provider_profiles (user_id, org_id, licence_number, npi, specialty, color, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
            )
            .bind(user)
            .bind(scope.org())
            .bind(p.licence_number.as_str())
            .bind(p.npi.as_str())
            .bind(p.specialty.as_str())
            .bind(p.color.as_str())
            .bind(store.now()),
        )
        .await?;
        Ok(())
    }
}

impl Store {
    /// Phone numbers sign people in, so one number belongs to one account (any organization).
    pub(crate) async fn phone_is_free(
        &self,
        phone: &str,
        except: Option<UserId>,
    ) -> Result<(), WriteError> {
        if phone.is_empty() {
            return Ok(());
        }
        let row = self
            .db
            .fetch_optional(Q::new("SELECT id FROM users WHERE phone = $1").bind(phone))
            .await?;
        match row {
            Some(r) if Some(UserId::from_uuid(r.uuid("id")?)) != except => {
                Err(DomainError::field("phone", "is already used by another account").into())
            }
            _ => Ok(()),
        }
    }

    /// A user changes their own name and mobile number (`/profile`); audited by field.
    pub async fn update_own_details(
        &self,
        user: &User,
        name: &str,
        phone: &str,
    ) -> Result<(), WriteError> {
        if name.trim().is_empty() || name.trim().chars().count() > 120 {
            return Err(DomainError::field("name", "a name of 1 to 120 characters").into());
        }
        self.phone_is_free(phone, Some(user.id)).await?;
        let phone = (!phone.is_empty()).then(|| phone.to_string());
        let mut changed = Vec::new();
        if user.name != name.trim() {
            changed.push("name");
        }
        if user.phone != phone {
            changed.push("phone");
        }
        if changed.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        tx.execute(
            Q::new("UPDATE users SET name = $1, phone = $2, updated_at = $3 WHERE org_id = $4 AND id = $5")
                .bind(name.trim())
                .bind(phone)
                .bind(self.now())
                .bind(user.org_id)
                .bind(user.id),
        )
        .await?;
        tx.audit(
            self,
            user.org_id,
            actor_entry(
                user,
                "user.details_changed",
                user.id,
                serde_json::json!({ "fields": changed }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The organization's providers (inactive ones last), by name.
    pub async fn providers(&self, scope: &Scope) -> DbResult<Vec<Provider>> {
        let rows = self
            .db
            .fetch_all(
                Q::new(
                    "SELECT u.id, p.licence_number, p.npi, p.specialty, p.color FROM provider_profiles p \
                     JOIN users u ON u.id = p.user_id WHERE p.org_id = $1 ORDER BY u.active DESC, u.name",
                )
                .bind(scope.org()),
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let id = UserId::from_uuid(r.uuid("id")?);
            if let Some(user) = self.user(scope, id).await? {
                out.push(Provider {
                    user,
                    profile: ProviderProfile {
                        licence_number: r.string("licence_number")?,
                        npi: r.string("npi")?,
                        specialty: r.string("specialty")?,
                        color: r.string("color")?,
                    },
                });
            }
        }
        Ok(out)
    }

    /// One provider of the scope's organization.
    pub async fn provider(&self, scope: &Scope, id: UserId) -> DbResult<Option<Provider>> {
        let row = self
            .db
            .fetch_optional(
                Q::new(
                    "SELECT licence_number, npi, specialty, color FROM provider_profiles \
                     WHERE org_id = $1 AND user_id = $2",
                )
                .bind(scope.org())
                .bind(id),
            )
            .await?;
        let Some(r) = row else { return Ok(None) };
        let Some(user) = self.user(scope, id).await? else {
            return Ok(None);
        };
        Ok(Some(Provider {
            user,
            profile: ProviderProfile {
                licence_number: r.string("licence_number")?,
                npi: r.string("npi")?,
                specialty: r.string("specialty")?,
                color: r.string("color")?,
            },
        }))
    }

    /// Adds a provider: a user without a password (they set one through the emailed reset
    /// link or sign in by phone) and their profile.
    pub async fn create_provider(
        &self,
        scope: &Scope,
        actor: &User,
        input: &ProviderInput,
    ) -> Result<UserId, WriteError> {
        let profile = check(input)?;
        self.phone_is_free(&input.phone, None).await?;
        let now = self.now();
        let mut tx = self.begin().await?;
        let id = tx
            .create_user(
                self,
                scope,
                &NewUser {
                    email: input.email.clone(),
                    name: input.name.clone(),
                    phone: (!input.phone.is_empty()).then(|| input.phone.clone()),
                    password: None,
                    roles: input.roles.clone(),
                    locations: Vec::new(),
                },
            )
            .await?;
        tx.execute(
            Q::new(
                "INSERT INTO provider_profiles (user_id, org_id, licence_number, npi, specialty, color, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
            )
            .bind(id)
            .bind(scope.org())
            .bind(profile.licence_number.as_str())
            .bind(profile.npi.as_str())
            .bind(profile.specialty.as_str())
            .bind(profile.color.as_str())
            .bind(now),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor_entry(
                actor,
                "provider.created",
                id,
                serde_json::json!({
                    "fields": ["name", "email", "phone", "licence_number", "npi", "specialty", "color"],
                    "roles": input.roles.iter().map(|r| r.code()).collect::<Vec<_>>(),
                }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Edits a provider; the audit names the fields that changed (not their values) and the
    /// roles before and after when they changed.
    pub async fn update_provider(
        &self,
        scope: &Scope,
        actor: &User,
        id: UserId,
        input: &ProviderInput,
    ) -> Result<(), WriteError> {
        let Some(before) = self.provider(scope, id).await? else {
            return Err(DomainError::not_found("provider").into());
        };
        let profile = check(input)?;
        self.phone_is_free(&input.phone, Some(id)).await?;
        let phone = (!input.phone.is_empty()).then(|| input.phone.clone());
        let mut changed = Vec::new();
        if before.user.name != input.name.trim() {
            changed.push("name");
        }
        if before.user.phone != phone {
            changed.push("phone");
        }
        for (field, a, b) in [
            (
                "licence_number",
                &before.profile.licence_number,
                &profile.licence_number,
            ),
            ("npi", &before.profile.npi, &profile.npi),
            ("specialty", &before.profile.specialty, &profile.specialty),
            ("color", &before.profile.color, &profile.color),
        ] {
            if a != b {
                changed.push(field);
            }
        }
        let mut roles = input.roles.clone();
        roles.sort_by_key(|r| r.code());
        roles.dedup();
        let mut old_roles = before.user.roles.clone();
        old_roles.sort_by_key(|r| r.code());
        let roles_changed = roles != old_roles;
        if changed.is_empty() && !roles_changed {
            return Ok(());
        }
        let now = self.now();
        let mut tx = self.begin().await?;
        let r = tx
            .execute(
                Q::new("UPDATE users SET name = $1, phone = $2, updated_at = $3 WHERE org_id = $4 AND id = $5")
                    .bind(input.name.trim())
                    .bind(phone)
                    .bind(now)
                    .bind(scope.org())
                    .bind(id),
            )
            .await;
        match r {
            Err(e) if e.is_unique_violation() => {
                return Err(
                    DomainError::field("phone", "is already used by another account").into(),
                );
            }
            other => {
                other?;
            }
        }
        tx.execute(
            Q::new(
                "UPDATE provider_profiles SET licence_number = $1, npi = $2, specialty = $3, color = $4, updated_at = $5 \
                 WHERE org_id = $6 AND user_id = $7",
            )
            .bind(profile.licence_number.as_str())
            .bind(profile.npi.as_str())
            .bind(profile.specialty.as_str())
            .bind(profile.color.as_str())
            .bind(now)
            .bind(scope.org())
            .bind(id),
        )
        .await?;
        if roles_changed {
            tx.execute(
                Q::new("DELETE FROM user_roles WHERE org_id = $1 AND user_id = $2 AND role NOT LIKE 'custom:%'")
                    .bind(scope.org())
                    .bind(id),
            )
            .await?;
            for role in &roles {
                tx.execute(
                    Q::new("INSERT INTO user_roles (user_id, org_id, role) VALUES ($1, $2, $3)")
                        .bind(id)
                        .bind(scope.org())
                        .bind(role.code()),
                )
                .await?;
            }
        }
        let mut detail = serde_json::json!({ "fields": changed });
        if roles_changed {
            detail["roles_before"] = old_roles.iter().map(|r| r.code()).collect();
            detail["roles_after"] = roles.iter().map(|r| r.code()).collect();
        }
        tx.audit(
            self,
            scope.org(),
            actor_entry(actor, "provider.updated", id, detail),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deactivates (signing every session out) or reactivates a user of the organization. Nobody
    /// deactivates themselves.
    pub async fn set_user_active(
        &self,
        scope: &Scope,
        actor: &User,
        id: UserId,
        active: bool,
    ) -> Result<(), WriteError> {
        if !active && id == actor.id {
            return Err(DomainError::field("active", "you cannot deactivate yourself").into());
        }
        let now = self.now();
        let mut tx = self.begin().await?;
        let n = tx
            .execute(
                Q::new(
                    "UPDATE users SET active = $1, updated_at = $2 WHERE org_id = $3 AND id = $4",
                )
                .bind(active)
                .bind(now)
                .bind(scope.org())
                .bind(id),
            )
            .await?;
        if n != 1 {
            return Err(DomainError::not_found("user").into());
        }
        if !active {
            tx.execute(
                Q::new(
                    "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
                )
                .bind(now)
                .bind(id),
            )
            .await?;
        }
        tx.audit(
            self,
            scope.org(),
            actor_entry(
                actor,
                if active {
                    "user.reactivated"
                } else {
                    "user.deactivated"
                },
                id,
                serde_json::json!({ "fields": ["active"] }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
