//! Field encryption: AES-256-GCM with a data key per organization, wrapped by a master key that
//! comes from configuration, the environment or a key file, never from the database.
//!
//! A ciphertext is `enc:v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`; its associated data
//! binds it to its organization and field, so a value copied into another row, field or tenant
//! does not decrypt. Exact-match search on an encrypted field goes through a keyed blind index
//! (HMAC-SHA256 with a key derived from the organization's data key).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use domain::OrgId;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::SecureRandom;

use crate::Store;
use crate::db::{DbError, Q};

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("no master key is configured")]
    NoMasterKey,
    #[error("the configured master key is not the one these data keys were wrapped with (key {0})")]
    WrongMasterKey(String),
    #[error("the value cannot be decrypted (tampered with, or not this field's)")]
    Undecryptable,
    #[error("unknown data key {0}")]
    UnknownKey(String),
}

/// Where a database result is expected, a key problem is stored data that cannot be read.
impl From<CryptoError> for DbError {
    fn from(e: CryptoError) -> DbError {
        match e {
            CryptoError::Db(e) => e,
            other => DbError::Corrupt(other.to_string()),
        }
    }
}

/// The installation's master key (32 bytes). Its id is a hash prefix, to recognise it.
pub struct MasterKey {
    key: LessSafeKey,
    id: String,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey").field("id", &self.id).finish()
    }
}

impl MasterKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<MasterKey, String> {
        if bytes.len() != 32 {
            return Err("the master key must be 32 bytes (64 hex characters)".into());
        }
        let key = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| "bad master key".to_string())?;
        let id = hex::encode(&ring::digest::digest(&ring::digest::SHA256, bytes).as_ref()[..6]);
        Ok(MasterKey {
            key: LessSafeKey::new(key),
            id,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

/// An organization's data key, unwrapped, with its blind-index key, and its retired keys (to
/// read values not yet re-encrypted by a rotation).
pub struct FieldCipher {
    org: OrgId,
    key_id: String,
    key: LessSafeKey,
    index: ring::hmac::Key,
    retired: Vec<(String, LessSafeKey)>,
    loaded_at: std::time::Instant,
}

fn seal(key: &LessSafeKey, aad: &[u8], plain: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    let _ = ring::rand::SystemRandom::new().fill(&mut nonce);
    let mut buf = plain.to_vec();
    // Sealing only fails for inputs larger than the algorithm allows (about 64 GiB).
    let _ = key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad),
        &mut buf,
    );
    let mut out = nonce.to_vec();
    out.extend_from_slice(&buf);
    out
}

fn open(key: &LessSafeKey, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < NONCE_LEN + AES_256_GCM.tag_len() {
        return None;
    }
    let (nonce, rest) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut buf = rest.to_vec();
    let plain = key.open_in_place(nonce, Aad::from(aad), &mut buf).ok()?;
    Some(plain.to_vec())
}

impl FieldCipher {
    fn aad(&self, field: &str) -> Vec<u8> {
        format!("cuspid-field-v1|{}|{field}", self.org).into_bytes()
    }

    /// Encrypts one field's value.
    pub fn encrypt(&self, field: &str, plain: &str) -> String {
        let sealed = seal(&self.key, &self.aad(field), plain.as_bytes());
        format!("enc:v1:{}:{}", self.key_id, B64.encode(sealed))
    }

    /// Decrypts a value this organization encrypted for this field.
    pub fn decrypt(&self, field: &str, value: &str) -> Result<String, CryptoError> {
        let mut parts = value.splitn(4, ':');
        let (Some("enc"), Some("v1"), Some(key_id), Some(body)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(CryptoError::Undecryptable);
        };
        let key = if key_id == self.key_id {
            &self.key
        } else {
            match self.retired.iter().find(|(id, _)| id == key_id) {
                Some((_, k)) => k,
                None => return Err(CryptoError::UnknownKey(key_id.to_string())),
            }
        };
        let sealed = B64.decode(body).map_err(|_| CryptoError::Undecryptable)?;
        let plain = open(key, &self.aad(field), &sealed).ok_or(CryptoError::Undecryptable)?;
        String::from_utf8(plain).map_err(|_| CryptoError::Undecryptable)
    }

    /// The id of the key new values are encrypted with.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Whether this cipher can read a value (its key is known here).
    pub fn knows(&self, value: &str) -> bool {
        match value.split(':').nth(2) {
            Some(id) => id == self.key_id || self.retired.iter().any(|(k, _)| k == id),
            None => true,
        }
    }

    /// A keyed, deterministic token for exact-match search: equal (normalized) values of the
    /// same field give the same token; nothing about the value can be read from it.
    pub fn blind_index(&self, field: &str, normalized: &str) -> String {
        let tag = ring::hmac::sign(&self.index, format!("{field}\u{0}{normalized}").as_bytes());
        hex::encode(&tag.as_ref()[..16])
    }
}

/// Unwrapped data keys, cached per organization.
#[derive(Default)]
pub struct Keyring {
    master: Option<MasterKey>,
    cache: Mutex<HashMap<OrgId, Arc<FieldCipher>>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("master", &self.master)
            .finish()
    }
}

impl Keyring {
    pub fn new(master: MasterKey) -> Keyring {
        Keyring {
            master: Some(master),
            cache: Mutex::new(HashMap::new()),
        }
    }
}

fn wrap_aad(org: OrgId, key_id: &str) -> Vec<u8> {
    format!("cuspid-dek-v1|{org}|{key_id}").into_bytes()
}

fn cipher_from(org: OrgId, key_id: String, dek: &[u8]) -> Result<FieldCipher, CryptoError> {
    let key = UnboundKey::new(&AES_256_GCM, dek).map_err(|_| CryptoError::Undecryptable)?;
    let index_key = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, dek),
        b"cuspid-blind-index-v1",
    );
    Ok(FieldCipher {
        org,
        key_id,
        key: LessSafeKey::new(key),
        index: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, index_key.as_ref()),
        retired: Vec::new(),
        loaded_at: std::time::Instant::now(),
    })
}

/// How long a server trusts its cached keys before reading them again (another server may have
/// rotated them).
const CIPHER_TTL: std::time::Duration = std::time::Duration::from_secs(300);

impl Store {
    /// The organization's field cipher, creating its data key on first use.
    pub async fn field_cipher(&self, org: OrgId) -> Result<Arc<FieldCipher>, CryptoError> {
        if let Ok(cache) = self.keyring.cache.lock()
            && let Some(c) = cache.get(&org)
            && c.loaded_at.elapsed() < CIPHER_TTL
        {
            return Ok(c.clone());
        }
        self.load_field_cipher(org).await
    }

    /// The organization's cipher able to read `value`: reloads the keys when the value was
    /// written with a key this server has not seen yet (another server rotated).
    pub async fn field_cipher_for(
        &self,
        org: OrgId,
        value: &str,
    ) -> Result<Arc<FieldCipher>, CryptoError> {
        let c = self.field_cipher(org).await?;
        if c.knows(value) {
            return Ok(c);
        }
        self.load_field_cipher(org).await
    }

    /// Decrypts one stored value of the organization, whichever of its keys wrote it.
    pub async fn decrypt_field(
        &self,
        org: OrgId,
        field: &str,
        value: &str,
    ) -> Result<String, CryptoError> {
        self.field_cipher_for(org, value)
            .await?
            .decrypt(field, value)
    }

    /// Re-wraps every data key of every organization (active and retired) from the configured
    /// master key to `new`, in one transaction. Keys already under `new` are left alone, so a
    /// repeated run is harmless. Returns how many keys were re-wrapped.
    pub async fn rewrap_data_keys(&self, new: &MasterKey) -> Result<u64, CryptoError> {
        let master = self
            .keyring
            .master
            .as_ref()
            .ok_or(CryptoError::NoMasterKey)?;
        let mut tx = self.begin().await?;
        let rows = tx
            .fetch_all(Q::new(
                "SELECT org_id, key_id, master_key_id, wrapped FROM org_keys ORDER BY org_id, created_at",
            ))
            .await?;
        let mut n = 0;
        for r in &rows {
            let master_id = r.string("master_key_id")?;
            if master_id == new.id() {
                continue;
            }
            if master_id != master.id() {
                return Err(CryptoError::WrongMasterKey(master_id));
            }
            let org = OrgId::from_uuid(r.uuid("org_id")?);
            let key_id = r.string("key_id")?;
            let sealed = B64
                .decode(r.string("wrapped")?)
                .map_err(|_| CryptoError::Undecryptable)?;
            let dek = open(&master.key, &wrap_aad(org, &key_id), &sealed)
                .ok_or(CryptoError::Undecryptable)?;
            let wrapped = B64.encode(seal(&new.key, &wrap_aad(org, &key_id), &dek));
            tx.execute(
                Q::new(
                    "UPDATE org_keys SET master_key_id = $1, wrapped = $2 WHERE org_id = $3 AND key_id = $4",
                )
                .bind(new.id())
                .bind(wrapped)
                .bind(org)
                .bind(key_id.as_str()),
            )
            .await?;
            n += 1;
        }
        tx.commit().await?;
        if let Ok(mut cache) = self.keyring.cache.lock() {
            cache.clear();
        }
        Ok(n)
    }

    /// Writes a new data key for the organization, wrapped by the master key; with `retire`,
    /// the active one is retired in the same transaction (a rotation).
    pub(crate) async fn create_data_key(
        &self,
        org: OrgId,
        retire: bool,
    ) -> Result<(), CryptoError> {
        let master = self
            .keyring
            .master
            .as_ref()
            .ok_or(CryptoError::NoMasterKey)?;
        let mut dek = [0u8; 32];
        self.fill_random(&mut dek);
        let mut id = [0u8; 6];
        self.fill_random(&mut id);
        let key_id = hex::encode(id);
        let wrapped = B64.encode(seal(&master.key, &wrap_aad(org, &key_id), &dek));
        let now = self.now();
        let mut tx = self.begin().await?;
        if retire {
            tx.execute(
                Q::new(
                    "UPDATE org_keys SET retired_at = $1 WHERE org_id = $2 AND retired_at IS NULL",
                )
                .bind(now)
                .bind(org),
            )
            .await?;
        }
        tx.execute(
            Q::new(
                "INSERT INTO org_keys (org_id, key_id, master_key_id, wrapped, created_at, retired_at) \
                 VALUES ($1, $2, $3, $4, $5, NULL)",
            )
            .bind(org)
            .bind(key_id.as_str())
            .bind(master.id())
            .bind(wrapped)
            .bind(now),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) fn forget_cipher(&self, org: OrgId) {
        if let Ok(mut cache) = self.keyring.cache.lock() {
            cache.remove(&org);
        }
    }

    async fn load_field_cipher(&self, org: OrgId) -> Result<Arc<FieldCipher>, CryptoError> {
        let master = self
            .keyring
            .master
            .as_ref()
            .ok_or(CryptoError::NoMasterKey)?;
        let load = || async {
            self.db
                .fetch_optional(
                    Q::new(
                        "SELECT key_id, master_key_id, wrapped FROM org_keys \
                         WHERE org_id = $1 AND retired_at IS NULL ORDER BY created_at DESC LIMIT 1",
                    )
                    .bind(org),
                )
                .await
        };
        let row = match load().await? {
            Some(r) => r,
            None => {
                // Two servers racing: the second insert loses on the unique index or finds the
                // first one's key; either way, reload.
                let _ = self.create_data_key(org, false).await;
                load()
                    .await?
                    .ok_or_else(|| CryptoError::UnknownKey("new".into()))?
            }
        };
        let key_id = row.string("key_id")?;
        let master_id = row.string("master_key_id")?;
        if master_id != master.id() {
            return Err(CryptoError::WrongMasterKey(master_id));
        }
        let sealed = B64
            .decode(row.string("wrapped")?)
            .map_err(|_| CryptoError::Undecryptable)?;
        let dek = open(&master.key, &wrap_aad(org, &key_id), &sealed)
            .ok_or(CryptoError::Undecryptable)?;
        let mut cipher = cipher_from(org, key_id, &dek)?;
        let retired = self
            .db
            .fetch_all(
                Q::new(
                    "SELECT key_id, master_key_id, wrapped FROM org_keys \
                     WHERE org_id = $1 AND retired_at IS NOT NULL ORDER BY created_at DESC",
                )
                .bind(org),
            )
            .await?;
        for r in &retired {
            let id = r.string("key_id")?;
            if r.string("master_key_id")? != master.id() {
                return Err(CryptoError::WrongMasterKey(r.string("master_key_id")?));
            }
            let sealed = B64
                .decode(r.string("wrapped")?)
                .map_err(|_| CryptoError::Undecryptable)?;
            let dek = open(&master.key, &wrap_aad(org, &id), &sealed)
                .ok_or(CryptoError::Undecryptable)?;
            let key =
                UnboundKey::new(&AES_256_GCM, &dek).map_err(|_| CryptoError::Undecryptable)?;
            cipher.retired.push((id, LessSafeKey::new(key)));
        }
        let cipher = Arc::new(cipher);
        if let Ok(mut cache) = self.keyring.cache.lock() {
            cache.insert(org, cipher.clone());
        }
        Ok(cipher)
    }
}
