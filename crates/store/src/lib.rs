//! Cuspid's persistence. One SQL text for SQLite and PostgreSQL ([`db`]), our own migrator
//! ([`migrate`]), tenancy, the durable jobs/outbox table ([`jobs`]), domain events ([`events`])
//! and object storage ([`objects`]).
//!
//! Architecture Invariant: every function over tenant-owned rows takes a [`domain::Scope`] and
//! filters on its organization.

pub mod audit;
pub mod batch;
pub mod cases;
pub mod clinical;
pub mod crypto;
pub mod daysheet;
pub mod db;
mod durable;
pub mod events;
pub mod fees;
pub mod identity;
pub mod invoices;
pub mod jobs;
pub mod ledger;
pub mod mfa;
pub mod migrate;
pub mod objects;
pub mod patients;
pub mod payment_plans;
pub mod phone;
pub mod plans;
pub mod prescriptions;
pub mod providers;
pub mod reset;
pub mod roles;
pub mod rotation;
pub mod scheduling;
pub mod schema;
pub mod security;
pub mod tenancy;
pub mod tokens;
pub mod visits;

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use domain::Clock;
use jiff::Timestamp;
use ring::rand::SecureRandom;

pub use db::{Backend, Db, DbError, DbResult, PoolSettings, Q, Row, Tx, Val};
pub use events::{Event, EventBus};

/// The database plus what every write needs: the clock, a source of ids and the event bus.
#[derive(Clone)]
pub struct Store {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub bus: EventBus,
    /// Signs audit checkpoints when configured.
    pub audit_signer: Option<Arc<audit::AuditSigner>>,
    /// The master key and the unwrapped data keys (field encryption).
    pub keyring: Arc<crypto::Keyring>,
    rng: Arc<ring::rand::SystemRandom>,
    /// What the open-slot search last read about each location, with the organization's
    /// schedule version it was read at.
    pub(crate) slot_configs: Arc<scheduling::slots::SlotConfigs>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.db.backend())
            .field("origin", &self.bus.origin())
            .finish()
    }
}

impl Store {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Store {
        let rng = Arc::new(ring::rand::SystemRandom::new());
        let mut origin = [0u8; 8];
        let _ = rng.fill(&mut origin);
        Store {
            db,
            clock,
            bus: EventBus::new(hex::encode(origin)),
            audit_signer: None,
            keyring: Arc::new(crypto::Keyring::default()),
            rng,
            slot_configs: Arc::default(),
        }
    }

    /// Encrypts sensitive fields with data keys wrapped by this master key.
    pub fn with_master_key(mut self, master: crypto::MasterKey) -> Store {
        self.keyring = Arc::new(crypto::Keyring::new(master));
        self
    }

    /// Signs audit checkpoints with this key from now on.
    pub fn with_audit_signer(mut self, signer: audit::AuditSigner) -> Store {
        self.audit_signer = Some(Arc::new(signer));
        self
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Ten random bytes for a UUIDv7.
    pub fn random10(&self) -> [u8; 10] {
        let mut b = [0u8; 10];
        // SystemRandom only fails when the OS has no entropy source at all.
        let _ = self.rng.fill(&mut b);
        b
    }

    /// A fresh UUIDv7 from the store's clock.
    pub fn new_uuid(&self) -> uuid::Uuid {
        domain::kernel::ids::uuid_v7(self.now(), self.random10())
    }

    /// Fills a buffer with secure random bytes (tokens, keys).
    pub fn fill_random(&self, buf: &mut [u8]) {
        let _ = self.rng.fill(buf);
    }

    /// Begins a unit of work: a transaction that can also enqueue jobs and publish events,
    /// which other parts see only if it commits.
    pub async fn begin(&self) -> DbResult<Txn> {
        Ok(Txn {
            tx: self.db.begin().await?,
            pending: Vec::new(),
            bus: self.bus.clone(),
            audit: audit::PendingAudit::default(),
            started: self.now(),
        })
    }

    pub async fn migrate(&self) -> DbResult<migrate::MigrationReport> {
        migrate::migrate(&self.db, self.now().as_microsecond()).await
    }
}

/// A transaction with an outbox: events published in it reach subscribers after commit.
pub struct Txn {
    tx: Tx,
    pending: Vec<Event>,
    bus: EventBus,
    /// Audit events of this transaction, written just before it commits.
    audit: audit::PendingAudit,
    /// The store's clock when the transaction began.
    started: Timestamp,
}

impl Txn {
    /// The store's clock when the transaction began (for checks made inside it).
    pub fn started_at(&self) -> Timestamp {
        self.started
    }
}

impl Deref for Txn {
    type Target = Tx;
    fn deref(&self) -> &Tx {
        &self.tx
    }
}

impl DerefMut for Txn {
    fn deref_mut(&mut self) -> &mut Tx {
        &mut self.tx
    }
}

impl Txn {
    pub async fn commit(mut self) -> DbResult<()> {
        let pending = std::mem::take(&mut self.audit);
        pending.flush(&mut self.tx).await?;
        self.tx.commit().await?;
        for e in self.pending {
            self.bus.deliver_local(Arc::new(e));
        }
        Ok(())
    }

    pub async fn rollback(self) -> DbResult<()> {
        self.tx.rollback().await
    }
}
