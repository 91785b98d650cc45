//! Object storage: X-rays, documents, exports. The local filesystem under the data directory by
//! default; S3-compatible and Azure Blob by configuration. Storage *profiles* (with their
//! credentials) live in the installation's configuration, never in the database; an
//! organization, and optionally a location, names the profile and prefix its files go to (a
//! Quebec clinic can keep its files in a Canadian region). Every object's SHA-256 and size are
//! recorded in the `objects` table, with the profile it was written to.
//!
//! Download links are signed and expire: presigned URLs on S3/Azure, our own HMAC links
//! (`/files/{id}?exp=…&sig=…`) on the local store.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use domain::{LocationId, ObjectId, OrgId, Scope};
use jiff::Timestamp;
use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjPath;
use object_store::signer::{Method, Signer};
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};

use crate::Store;
use crate::db::{DbError, Q, Row};

/// Where objects go. Secrets are redacted in `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Profile {
    /// A directory; relative paths are under the data directory.
    Local {
        #[serde(default = "default_local_root")]
        root: String,
    },
    S3 {
        bucket: String,
        #[serde(default = "default_region")]
        region: String,
        /// For S3-compatible servers; empty means AWS.
        #[serde(default)]
        endpoint: String,
        #[serde(default)]
        access_key_id: String,
        #[serde(default)]
        secret_access_key: String,
        /// Plain HTTP to the endpoint (a server on the same host).
        #[serde(default)]
        allow_http: bool,
    },
    Azure {
        account: String,
        container: String,
        #[serde(default)]
        access_key: String,
        #[serde(default)]
        endpoint: String,
    },
}

fn default_local_root() -> String {
    "objects".to_string()
}

fn default_region() -> String {
    "us-east-1".to_string()
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Profile::Local { root } => f.debug_struct("Local").field("root", root).finish(),
            Profile::S3 {
                bucket,
                region,
                endpoint,
                access_key_id,
                allow_http,
                ..
            } => f
                .debug_struct("S3")
                .field("bucket", bucket)
                .field("region", region)
                .field("endpoint", endpoint)
                .field("access_key_id", access_key_id)
                .field("secret_access_key", &"[redacted]")
                .field("allow_http", allow_http)
                .finish(),
            Profile::Azure {
                account,
                container,
                endpoint,
                ..
            } => f
                .debug_struct("Azure")
                .field("account", account)
                .field("container", container)
                .field("access_key", &"[redacted]")
                .field("endpoint", endpoint)
                .finish(),
        }
    }
}

/// What an organization or location row says about its storage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Placement {
    /// A profile name from the configuration; empty means the default profile.
    #[serde(default)]
    pub profile: String,
    #[serde(default)]
    pub prefix: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("object storage: {0}")]
    Store(#[from] object_store::Error),
    #[error("unknown storage profile {0:?}")]
    UnknownProfile(String),
    #[error("object not found")]
    NotFound,
    #[error("the link has expired")]
    Expired,
    #[error("the link is not valid")]
    BadSignature,
    #[error("storage configuration: {0}")]
    Config(String),
    #[error("stored object {0} does not match its recorded SHA-256")]
    Corrupt(ObjectId),
}

/// A stored object's record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredObject {
    pub id: ObjectId,
    pub org_id: OrgId,
    pub location_id: Option<LocationId>,
    pub profile: String,
    pub key: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: Timestamp,
}

impl StoredObject {
    fn from_row(r: &Row) -> Result<StoredObject, DbError> {
        Ok(StoredObject {
            id: ObjectId::from_uuid(r.uuid("id")?),
            org_id: OrgId::from_uuid(r.uuid("org_id")?),
            location_id: r.opt_uuid("location_id")?.map(LocationId::from_uuid),
            profile: r.string("profile")?,
            key: r.string("object_key")?,
            content_type: r.string("content_type")?,
            size: r.i64("size")?,
            sha256: r.string("sha256")?,
            created_at: r.ts("created_at")?,
        })
    }
}

enum Opened {
    Local(Arc<dyn ObjectStore>),
    Signing(Arc<dyn ObjectStore>, Arc<dyn Signer>),
}

impl Opened {
    fn store(&self) -> &Arc<dyn ObjectStore> {
        match self {
            Opened::Local(s) | Opened::Signing(s, _) => s,
        }
    }
}

/// The name of the default profile.
pub const DEFAULT_PROFILE: &str = "default";

/// Object storage for the whole installation.
pub struct ObjectStorage {
    data_dir: PathBuf,
    profiles: HashMap<String, Profile>,
    link_key: ring::hmac::Key,
    opened: Mutex<HashMap<String, Arc<Opened>>>,
}

impl fmt::Debug for ObjectStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStorage")
            .field("data_dir", &self.data_dir)
            .field("profiles", &self.profiles)
            .finish()
    }
}

impl ObjectStorage {
    /// `profiles` must hold a profile named `default`; `link_secret` signs local links.
    pub fn new(
        data_dir: PathBuf,
        mut profiles: HashMap<String, Profile>,
        link_secret: &[u8],
    ) -> Result<ObjectStorage, ObjectError> {
        // S3 and Azure clients speak TLS through rustls; one crypto provider for the process:
        // ring. (Already installed is fine.)
        let _ = rustls::crypto::ring::default_provider().install_default();
        profiles
            .entry(DEFAULT_PROFILE.to_string())
            .or_insert_with(|| Profile::Local {
                root: default_local_root(),
            });
        if link_secret.len() < 32 {
            return Err(ObjectError::Config(
                "the link secret must be at least 32 bytes".into(),
            ));
        }
        let s = ObjectStorage {
            data_dir,
            profiles,
            link_key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, link_secret),
            opened: Mutex::new(HashMap::new()),
        };
        // Fail at start-up, not at the first upload, on a profile that cannot be built.
        let names: Vec<String> = s.profiles.keys().cloned().collect();
        for name in names {
            s.open(&name)?;
        }
        Ok(s)
    }

    pub fn profile_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.profiles.keys().cloned().collect();
        v.sort();
        v
    }

    fn open(&self, name: &str) -> Result<Arc<Opened>, ObjectError> {
        if let Ok(map) = self.opened.lock()
            && let Some(o) = map.get(name)
        {
            return Ok(o.clone());
        }
        let profile = self
            .profiles
            .get(name)
            .ok_or_else(|| ObjectError::UnknownProfile(name.to_string()))?;
        let opened = Arc::new(match profile {
            Profile::Local { root } => {
                let path = if std::path::Path::new(root).is_absolute() {
                    PathBuf::from(root)
                } else {
                    self.data_dir.join(root)
                };
                std::fs::create_dir_all(&path).map_err(|e| {
                    ObjectError::Config(format!("cannot create {}: {e}", path.display()))
                })?;
                Opened::Local(Arc::new(LocalFileSystem::new_with_prefix(&path)?))
            }
            Profile::S3 {
                bucket,
                region,
                endpoint,
                access_key_id,
                secret_access_key,
                allow_http,
            } => {
                let mut b = AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(region)
                    .with_allow_http(*allow_http);
                if !endpoint.is_empty() {
                    b = b.with_endpoint(endpoint);
                }
                if !access_key_id.is_empty() {
                    b = b
                        .with_access_key_id(access_key_id)
                        .with_secret_access_key(secret_access_key);
                }
                let s3 = Arc::new(b.build()?);
                Opened::Signing(s3.clone(), s3)
            }
            Profile::Azure {
                account,
                container,
                access_key,
                endpoint,
            } => {
                let mut b = MicrosoftAzureBuilder::new()
                    .with_account(account)
                    .with_container_name(container);
                if !access_key.is_empty() {
                    b = b.with_access_key(access_key);
                }
                if !endpoint.is_empty() {
                    b = b.with_endpoint(endpoint.clone());
                }
                let az = Arc::new(b.build()?);
                Opened::Signing(az.clone(), az)
            }
        });
        if let Ok(mut map) = self.opened.lock() {
            map.insert(name.to_string(), opened.clone());
        }
        Ok(opened)
    }

    /// The placement for new objects of an organization / location: the location's own if it
    /// has one, else the organization's, else the default profile.
    async fn placement(
        &self,
        store: &Store,
        scope: &Scope,
        location: Option<LocationId>,
    ) -> Result<Placement, ObjectError> {
        if let Some(loc) = location {
            let row = store
                .db
                .fetch_optional(
                    Q::new("SELECT storage FROM locations WHERE org_id = $1 AND id = $2")
                        .bind(scope.org())
                        .bind(loc),
                )
                .await?
                .ok_or(ObjectError::NotFound)?;
            if let Some(json) = row.opt_string("storage")? {
                return parse_placement(&json);
            }
        }
        let row = store
            .db
            .fetch_optional(
                Q::new("SELECT storage FROM organizations WHERE id = $1").bind(scope.org()),
            )
            .await?
            .ok_or(ObjectError::NotFound)?;
        match row.opt_string("storage")? {
            Some(json) => parse_placement(&json),
            None => Ok(Placement::default()),
        }
    }

    /// Stores bytes and records them. The key is `{prefix}/{org}/{object id}`.
    pub async fn put(
        &self,
        store: &Store,
        scope: &Scope,
        location: Option<LocationId>,
        content_type: &str,
        data: Bytes,
    ) -> Result<StoredObject, ObjectError> {
        if let Some(l) = location
            && !scope.allows_location(l)
        {
            return Err(ObjectError::NotFound);
        }
        let placement = self.placement(store, scope, location).await?;
        let profile = if placement.profile.is_empty() {
            DEFAULT_PROFILE.to_string()
        } else {
            placement.profile.clone()
        };
        let opened = self.open(&profile)?;
        let id = ObjectId::from_uuid(store.new_uuid());
        let prefix = placement.prefix.trim_matches('/');
        let key = if prefix.is_empty() {
            format!("{}/{}", scope.org(), id)
        } else {
            format!("{prefix}/{}/{}", scope.org(), id)
        };
        let sha256 = hex::encode(ring::digest::digest(&ring::digest::SHA256, &data));
        let size = i64::try_from(data.len()).unwrap_or(i64::MAX);
        let obj = StoredObject {
            id,
            org_id: scope.org(),
            location_id: location,
            profile,
            key,
            content_type: content_type.to_string(),
            size,
            sha256,
            created_at: store.now(),
        };
        store
            .db
            .execute(
                Q::new(
                    "INSERT INTO objects (id, org_id, location_id, profile, object_key, content_type, size, sha256, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(obj.id)
                .bind(obj.org_id)
                .bind(obj.location_id)
                .bind(obj.profile.as_str())
                .bind(obj.key.as_str())
                .bind(obj.content_type.as_str())
                .bind(obj.size)
                .bind(obj.sha256.as_str())
                .bind(obj.created_at),
            )
            .await?;
        // The record first: a file is never stored without one. If the write fails, the record
        // goes again.
        if let Err(e) = opened
            .store()
            .put(
                &ObjPath::from(obj.key.as_str()),
                PutPayload::from_bytes(data),
            )
            .await
        {
            let _ = store
                .db
                .execute(Q::new("DELETE FROM objects WHERE id = $1").bind(obj.id))
                .await;
            return Err(e.into());
        }
        Ok(obj)
    }

    /// The record of an object of the scope's organization.
    pub async fn record(
        &self,
        store: &Store,
        scope: &Scope,
        id: ObjectId,
    ) -> Result<StoredObject, ObjectError> {
        let obj = record_unscoped(store, id).await?;
        if obj.org_id != scope.org() || obj.location_id.is_some_and(|l| !scope.allows_location(l)) {
            return Err(ObjectError::NotFound);
        }
        Ok(obj)
    }

    /// Reads an object and checks it against its recorded SHA-256.
    pub async fn get(
        &self,
        store: &Store,
        scope: &Scope,
        id: ObjectId,
    ) -> Result<(StoredObject, Bytes), ObjectError> {
        let obj = self.record(store, scope, id).await?;
        let data = self.read(&obj).await?;
        Ok((obj, data))
    }

    async fn read(&self, obj: &StoredObject) -> Result<Bytes, ObjectError> {
        let opened = self.open(&obj.profile)?;
        let data = opened
            .store()
            .get(&ObjPath::from(obj.key.as_str()))
            .await
            .map_err(|e| match e {
                object_store::Error::NotFound { .. } => ObjectError::NotFound,
                e => ObjectError::Store(e),
            })?
            .bytes()
            .await?;
        let sum = hex::encode(ring::digest::digest(&ring::digest::SHA256, &data));
        if sum != obj.sha256 {
            return Err(ObjectError::Corrupt(obj.id));
        }
        Ok(data)
    }

    /// A download link valid for `ttl`: presigned on S3/Azure, HMAC-signed on the local store.
    pub async fn signed_url(
        &self,
        store: &Store,
        scope: &Scope,
        id: ObjectId,
        ttl: Duration,
    ) -> Result<String, ObjectError> {
        let obj = self.record(store, scope, id).await?;
        match &*self.open(&obj.profile)? {
            Opened::Signing(_, signer) => Ok(signer
                .signed_url(Method::GET, &ObjPath::from(obj.key.as_str()), ttl)
                .await?
                .to_string()),
            Opened::Local(_) => {
                let exp =
                    store.now().as_second() + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
                Ok(format!(
                    "/files/{id}?exp={exp}&sig={}",
                    self.link_sig(id, exp)
                ))
            }
        }
    }

    fn link_sig(&self, id: ObjectId, exp: i64) -> String {
        let tag = ring::hmac::sign(&self.link_key, format!("{id}\n{exp}").as_bytes());
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            tag.as_ref(),
        )
    }

    /// Serves a local signed link: checks signature and expiry, then returns the object.
    pub async fn open_link(
        &self,
        store: &Store,
        id: ObjectId,
        exp: i64,
        sig: &str,
    ) -> Result<(StoredObject, Bytes), ObjectError> {
        let tag = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, sig)
            .map_err(|_| ObjectError::BadSignature)?;
        ring::hmac::verify(&self.link_key, format!("{id}\n{exp}").as_bytes(), &tag)
            .map_err(|_| ObjectError::BadSignature)?;
        if store.now().as_second() > exp {
            return Err(ObjectError::Expired);
        }
        let obj = record_unscoped(store, id).await?;
        let data = self.read(&obj).await?;
        Ok((obj, data))
    }

    /// Removes an object nothing refers to yet (an upload whose record could not be written):
    /// the bytes, then the record.
    pub async fn discard(&self, store: &Store, obj: &StoredObject) -> Result<(), ObjectError> {
        let opened = self.open(&obj.profile)?;
        match opened
            .store()
            .delete(&ObjPath::from(obj.key.as_str()))
            .await
        {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        store
            .db
            .execute(
                Q::new("DELETE FROM objects WHERE id = $1 AND org_id = $2")
                    .bind(obj.id)
                    .bind(obj.org_id),
            )
            .await?;
        Ok(())
    }

    /// Deletes every stored file of an organization (before the organization itself is
    /// deleted). Files already gone are fine; the records go with `Store::retire_org`.
    pub async fn purge_org(&self, store: &Store, org: OrgId) -> Result<u64, ObjectError> {
        let rows = store
            .db
            .fetch_all(
                Q::new("SELECT profile, object_key FROM objects WHERE org_id = $1").bind(org),
            )
            .await?;
        let mut n = 0;
        for r in &rows {
            let opened = self.open(&r.string("profile")?)?;
            match opened
                .store()
                .delete(&ObjPath::from(r.string("object_key")?.as_str()))
                .await
            {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => n += 1,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(n)
    }

    /// Checks that the default profile answers (for /readyz and `cuspid check`).
    pub async fn ping(&self) -> Result<(), ObjectError> {
        let opened = self.open(DEFAULT_PROFILE)?;
        match opened
            .store()
            .head(&ObjPath::from("cuspid-readiness-probe"))
            .await
        {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

fn parse_placement(json: &str) -> Result<Placement, ObjectError> {
    serde_json::from_str(json).map_err(|e| ObjectError::Config(format!("storage placement: {e}")))
}

async fn record_unscoped(store: &Store, id: ObjectId) -> Result<StoredObject, ObjectError> {
    let row = store
        .db
        .fetch_optional(
            Q::new(
                "SELECT id, org_id, location_id, profile, object_key, content_type, size, sha256, created_at \
                 FROM objects WHERE id = $1",
            )
            .bind(id),
        )
        .await?
        .ok_or(ObjectError::NotFound)?;
    Ok(StoredObject::from_row(&row)?)
}

impl Store {
    /// Sets where an organization's (or one location's) new files go. Returns false when the
    /// location is not one the scope may touch.
    pub async fn set_placement(
        &self,
        scope: &Scope,
        location: Option<LocationId>,
        placement: &Placement,
    ) -> Result<bool, DbError> {
        if location.is_some_and(|l| !scope.allows_location(l)) {
            return Ok(false);
        }
        let json = serde_json::to_string(placement)
            .map_err(|e| DbError::Corrupt(format!("placement: {e}")))?;
        let n = match location {
            Some(l) => {
                self.db
                    .execute(
                        Q::new("UPDATE locations SET storage = $1, updated_at = $2 WHERE org_id = $3 AND id = $4")
                            .bind(json)
                            .bind(self.now())
                            .bind(scope.org())
                            .bind(l),
                    )
                    .await?
            }
            None => {
                self.db
                    .execute(
                        Q::new("UPDATE organizations SET storage = $1, updated_at = $2 WHERE id = $3")
                            .bind(json)
                            .bind(self.now())
                            .bind(scope.org()),
                    )
                    .await?
            }
        };
        Ok(n == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        let p = Profile::S3 {
            bucket: "b".into(),
            region: "ca-central-1".into(),
            endpoint: String::new(),
            access_key_id: "AKIA".into(),
            secret_access_key: "very-secret".into(),
            allow_http: false,
        };
        let s = format!("{p:?}");
        assert!(!s.contains("very-secret"));
        assert!(s.contains("[redacted]"));
        let toml_like: Profile =
            serde_json::from_str(r#"{"kind":"local","root":"/tmp/x"}"#).unwrap();
        assert_eq!(
            toml_like,
            Profile::Local {
                root: "/tmp/x".into()
            }
        );
        assert!(serde_json::from_str::<Profile>(r#"{"kind":"ftp"}"#).is_err());
    }
}
