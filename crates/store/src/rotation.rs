//! Data-key rotation: a new data key for an organization, then every encrypted value
//! re-encrypted with it in small batches, online (servers keep reading old values with the
//! retired key, and reload keys they have not seen) and resumable (the work left is simply the
//! values not yet under the active key, so a run killed half-way is finished by the next one).
//!
//! Every encrypted column is listed in [`ENCRYPTED_FIELDS`]; SECURITY.md shows the list, and a
//! test checks each listed column exists on both databases.

use domain::OrgId;

use crate::Store;
use crate::audit::AuditEntry;
use crate::crypto::CryptoError;
use crate::db::{DbResult, Q};

/// How a table's rows are identified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pk {
    Uuid,
    Text,
}

/// An encrypted column: table, primary key column and kind, column, and the field name bound
/// into each value's associated data.
#[derive(Clone, Copy, Debug)]
pub struct EncryptedField {
    pub table: &'static str,
    pub pk: &'static str,
    pub pk_kind: Pk,
    pub column: &'static str,
    pub field: &'static str,
    /// A keyed blind index of the value (exact-match lookups), recomputed with the new key.
    pub index: Option<BlindIndex>,
}

/// A blind-index column and how values are normalized before hashing.
#[derive(Clone, Copy, Debug)]
pub struct BlindIndex {
    pub column: &'static str,
    pub normalize: fn(&str) -> String,
}

pub const ENCRYPTED_FIELDS: &[EncryptedField] = &[
    EncryptedField {
        table: "users",
        pk: "id",
        pk_kind: Pk::Uuid,
        column: "totp_secret",
        field: "users.totp_secret",
        index: None,
    },
    EncryptedField {
        table: "users",
        pk: "id",
        pk_kind: Pk::Uuid,
        column: "totp_pending",
        field: "users.totp_pending",
        index: None,
    },
    EncryptedField {
        table: "phone_challenges",
        pk: "id",
        pk_kind: Pk::Text,
        column: "code_enc",
        field: "phone_challenges.code",
        index: None,
    },
    EncryptedField {
        table: "password_resets",
        pk: "id",
        pk_kind: Pk::Text,
        column: "token_enc",
        field: "password_resets.token",
        index: None,
    },
    EncryptedField {
        table: "patients",
        pk: "id",
        pk_kind: Pk::Uuid,
        column: "national_id_enc",
        field: crate::patients::NATIONAL_ID_FIELD,
        index: Some(BlindIndex {
            column: "national_id_bidx",
            normalize: domain::patients::national_id_key,
        }),
    },
    EncryptedField {
        table: "medical_histories",
        pk: "id",
        pk_kind: Pk::Uuid,
        column: "history_enc",
        field: crate::patients::history::HISTORY_FIELD,
        index: None,
    },
    EncryptedField {
        table: "medical_histories",
        pk: "id",
        pk_kind: Pk::Uuid,
        column: "changes_enc",
        field: crate::patients::history::CHANGES_FIELD,
        index: None,
    },
    EncryptedField {
        table: "appointments",
        pk: "id",
        pk_kind: Pk::Uuid,
        column: "notes_enc",
        field: crate::scheduling::appointments::NOTES_FIELD,
        index: None,
    },
    EncryptedField {
        table: "chart_entries",
        pk: "id",
        pk_kind: Pk::Uuid,
        column: "note_enc",
        field: crate::clinical::NOTE_FIELD,
        index: None,
    },
    EncryptedField {
        table: "perio_exams",
        pk: "id",
        pk_kind: Pk::Uuid,
        column: "data_enc",
        field: crate::clinical::PERIO_FIELD,
        index: None,
    },
    EncryptedField {
        table: "visits",
        pk: "id",
        pk_kind: Pk::Uuid,
        column: "record_enc",
        field: crate::visits::NOTES_FIELD,
        index: None,
    },
    EncryptedField {
        table: "visits",
        pk: "id",
        pk_kind: Pk::Uuid,
        column: "snapshot_enc",
        field: crate::visits::SNAPSHOT_FIELD,
        index: None,
    },
    EncryptedField {
        table: "visit_addenda",
        pk: "id",
        pk_kind: Pk::Uuid,
        column: "text_enc",
        field: crate::visits::ADDENDUM_FIELD,
        index: None,
    },
    EncryptedField {
        table: "prescriptions",
        pk: "id",
        pk_kind: Pk::Uuid,
        column: "record_enc",
        field: crate::prescriptions::RECORD_FIELD,
        index: None,
    },
    EncryptedField {
        table: "prescriptions",
        pk: "id",
        pk_kind: Pk::Uuid,
        column: "cancel_reason_enc",
        field: crate::prescriptions::CANCEL_FIELD,
        index: None,
    },
    EncryptedField {
        table: "treatment_cases",
        pk: "id",
        pk_kind: Pk::Uuid,
        column: "record_enc",
        field: crate::cases::RECORD_FIELD,
        index: None,
    },
    EncryptedField {
        table: "treatment_plans",
        pk: "id",
        pk_kind: Pk::Uuid,
        column: "decision_enc",
        field: crate::plans::DECISION_FIELD,
        index: None,
    },
    EncryptedField {
        table: "treatment_plan_items",
        pk: "id",
        pk_kind: Pk::Uuid,
        column: "diagnosis_enc",
        field: crate::plans::DIAGNOSIS_FIELD,
        index: None,
    },
];

impl Store {
    /// Values of the organization not yet under its active key.
    pub async fn values_to_reencrypt(&self, org: OrgId) -> Result<i64, CryptoError> {
        let active = self.field_cipher(org).await?;
        let prefix = format!("enc:v1:{}:%", active.key_id());
        let mut n = 0;
        for f in ENCRYPTED_FIELDS {
            n += self
                .db
                .fetch_one(
                    Q::generated(format!(
                        "SELECT COUNT(*) AS n FROM {} WHERE org_id = $1 AND {c} IS NOT NULL AND {c} NOT LIKE $2",
                        f.table,
                        c = f.column
                    ))
                    .bind(org)
                    .bind(prefix.as_str()),
                )
                .await?
                .i64("n")?;
        }
        Ok(n)
    }

    /// Starts a rotation: a new active data key; the old one is retired (kept to read what is
    /// not re-encrypted yet). Audited.
    pub async fn rotate_data_key(&self, org: OrgId) -> Result<String, CryptoError> {
        let before = self.field_cipher(org).await?.key_id().to_string();
        self.create_data_key(org, true).await?;
        self.forget_cipher(org);
        let after = self.field_cipher(org).await?.key_id().to_string();
        let mut tx = self.begin().await?;
        tx.audit(
            self,
            org,
            AuditEntry::system(
                "keys.rotated",
                &format!("org:{org}"),
                serde_json::json!({ "retired_key": before, "active_key": after }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Re-encrypts up to `batch` values (per encrypted column) with the active key; returns how
    /// many were rewritten. A value changed meanwhile by someone else is left for the next
    /// batch (the update is conditional on the old value).
    pub async fn reencrypt_batch(&self, org: OrgId, batch: i64) -> Result<u64, CryptoError> {
        let active = self.field_cipher(org).await?;
        let prefix = format!("enc:v1:{}:%", active.key_id());
        let mut done = 0;
        for f in ENCRYPTED_FIELDS {
            let rows = self
                .db
                .fetch_all(
                    Q::generated(format!(
                        "SELECT {pk} AS pk, {c} AS v FROM {t} WHERE org_id = $1 AND {c} IS NOT NULL AND {c} NOT LIKE $2 LIMIT $3",
                        pk = f.pk,
                        c = f.column,
                        t = f.table
                    ))
                    .bind(org)
                    .bind(prefix.as_str())
                    .bind(batch),
                )
                .await?;
            for r in &rows {
                let old = r.string("v")?;
                let plain = self.decrypt_field(org, f.field, &old).await?;
                let new = active.encrypt(f.field, &plain);
                // The blind index follows the key (it is derived from it).
                let q = match f.index {
                    Some(ix) => Q::generated(format!(
                        "UPDATE {t} SET {c} = $1, {ix} = $4 WHERE {pk} = $2 AND {c} = $3",
                        t = f.table,
                        c = f.column,
                        pk = f.pk,
                        ix = ix.column
                    )),
                    None => Q::generated(format!(
                        "UPDATE {t} SET {c} = $1 WHERE {pk} = $2 AND {c} = $3",
                        t = f.table,
                        c = f.column,
                        pk = f.pk
                    )),
                }
                .bind(new);
                let q = match f.pk_kind {
                    Pk::Uuid => q.bind(r.uuid("pk")?),
                    Pk::Text => q.bind(r.string("pk")?),
                };
                let q = q.bind(old);
                let q = match f.index {
                    Some(ix) => q.bind(active.blind_index(f.field, &(ix.normalize)(&plain))),
                    None => q,
                };
                done += self.db.execute(q).await?;
            }
        }
        Ok(done)
    }

    /// The organizations a rotation covers (every one not retired).
    pub async fn orgs_to_rotate(&self) -> DbResult<Vec<OrgId>> {
        self.db
            .fetch_all(Q::new(
                "SELECT id AS org_id FROM organizations WHERE archived_at IS NULL ORDER BY id",
            ))
            .await?
            .iter()
            .map(|r| Ok(OrgId::from_uuid(r.uuid("org_id")?)))
            .collect()
    }
}
