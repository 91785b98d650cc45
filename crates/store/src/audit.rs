//! The audit log: append-only and hash-chained per organization, written in the same
//! transaction as the action it records.
//!
//! Each event's `hash` is SHA-256 over the previous event's hash and the event's canonical form
//! (length-prefixed fields, so no two different events encode alike). `verify` walks a chain and
//! names the first event that does not fit: edited (its hash no longer matches its fields),
//! deleted (a gap in `seq`), inserted or reordered (its `prev_hash` is not its predecessor's
//! hash), or truncated (the head says the chain is longer). An attacker with write access to the
//! database could recompute a whole chain; signed checkpoints (Ed25519, key from configuration,
//! never from the database) catch that. PostgreSQL and SQLite both refuse UPDATE and DELETE on
//! the log (triggers in migration 0002).

use domain::{EventId, OrgId, PatientId, UserId};
use jiff::Timestamp;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::Serialize;

use crate::db::{DbResult, Q, Row};
use crate::{Store, Txn};

/// The hash before the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, by whom, to what. Field *names* go in `details`, never sensitive values.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEntry {
    pub actor_id: Option<UserId>,
    /// Who, for people reading the log: a user's email, "system", "demo".
    pub actor: String,
    /// A stable verb: "org.created", "patient.read", "session.signed_in", ...
    pub action: String,
    pub patient_id: Option<PatientId>,
    /// The record or part concerned: "location:01J…", "chart", "ledger".
    pub subject: String,
    pub details: serde_json::Value,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

impl AuditEntry {
    pub fn system(action: &str, subject: &str, details: serde_json::Value) -> AuditEntry {
        AuditEntry {
            actor_id: None,
            actor: "system".into(),
            action: action.into(),
            patient_id: None,
            subject: subject.into(),
            details,
            ip: None,
            request_id: None,
        }
    }
}

/// A stored event.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEvent {
    pub org_id: OrgId,
    pub seq: i64,
    pub id: EventId,
    pub at: Timestamp,
    pub actor_id: Option<UserId>,
    pub actor: String,
    pub action: String,
    pub patient_id: Option<PatientId>,
    pub subject: String,
    /// The JSON text exactly as stored (hashing needs the stored bytes).
    pub details: String,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

fn put(buf: &mut Vec<u8>, field: &[u8]) {
    buf.extend_from_slice(&(field.len() as u64).to_be_bytes());
    buf.extend_from_slice(field);
}

impl AuditEvent {
    /// The canonical bytes the hash covers (everything but `hash` itself).
    pub fn canonical(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(256 + self.details.len());
        b.extend_from_slice(b"cuspid-audit-v1");
        put(&mut b, self.org_id.as_uuid().as_bytes());
        put(&mut b, &self.seq.to_be_bytes());
        put(&mut b, self.id.as_uuid().as_bytes());
        put(&mut b, &self.at.as_microsecond().to_be_bytes());
        put(
            &mut b,
            self.actor_id
                .map(|u| u.as_uuid().into_bytes())
                .unwrap_or_default()
                .as_slice(),
        );
        put(&mut b, self.actor.as_bytes());
        put(&mut b, self.action.as_bytes());
        put(
            &mut b,
            self.patient_id
                .map(|p| p.as_uuid().into_bytes())
                .unwrap_or_default()
                .as_slice(),
        );
        put(&mut b, self.subject.as_bytes());
        put(&mut b, self.details.as_bytes());
        put(&mut b, self.ip.as_deref().unwrap_or("").as_bytes());
        put(&mut b, self.request_id.as_deref().unwrap_or("").as_bytes());
        b
    }

    /// The hash this event should carry, given its `prev_hash`.
    pub fn compute_hash(&self) -> String {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(self.prev_hash.as_bytes());
        ctx.update(&self.canonical());
        hex::encode(ctx.finish())
    }

    fn from_row(r: &Row) -> DbResult<AuditEvent> {
        Ok(AuditEvent {
            org_id: OrgId::from_uuid(r.uuid("org_id")?),
            seq: r.i64("seq")?,
            id: EventId::from_uuid(r.uuid("id")?),
            at: r.ts("at")?,
            actor_id: r.opt_uuid("actor_id")?.map(UserId::from_uuid),
            actor: r.string("actor")?,
            action: r.string("action")?,
            patient_id: r.opt_uuid("patient_id")?.map(PatientId::from_uuid),
            subject: r.string("subject")?,
            details: r.string("details")?,
            ip: r.opt_string("ip")?,
            request_id: r.opt_string("request_id")?,
            prev_hash: r.string("prev_hash")?,
            hash: r.string("hash")?,
        })
    }
}

/// Signs checkpoints every `every` events. The key comes from configuration.
pub struct AuditSigner {
    pub key_id: String,
    key: Ed25519KeyPair,
    pub every: i64,
}

impl std::fmt::Debug for AuditSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditSigner")
            .field("key_id", &self.key_id)
            .field("every", &self.every)
            .finish()
    }
}

impl AuditSigner {
    /// From a 32-byte Ed25519 seed.
    pub fn from_seed(seed: &[u8], every: i64) -> Result<AuditSigner, String> {
        let key = Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|_| "the audit signing key must be a 32-byte Ed25519 seed".to_string())?;
        let key_id = hex::encode(&key.public_key().as_ref()[..8]);
        Ok(AuditSigner {
            key_id,
            key,
            every: every.max(1),
        })
    }

    pub fn public_key(&self) -> Vec<u8> {
        self.key.public_key().as_ref().to_vec()
    }

    fn message(org: OrgId, seq: i64, hash: &str) -> Vec<u8> {
        format!("cuspid-audit-checkpoint-v1\n{org}\n{seq}\n{hash}").into_bytes()
    }

    fn sign(&self, org: OrgId, seq: i64, hash: &str) -> String {
        hex::encode(self.key.sign(&Self::message(org, seq, hash)).as_ref())
    }
}

/// The audit work of one transaction: the chain heads it has locked and the events and
/// checkpoints it will write. The first append for an organization locks its head row; later
/// ones only hash in memory. Everything is written with multi-row inserts just before the
/// transaction commits (`Txn::commit`), so a rollback or a drop leaves no trace.
#[derive(Default)]
pub struct PendingAudit {
    heads: std::collections::HashMap<OrgId, (i64, String)>,
    events: Vec<AuditEvent>,
    checkpoints: Vec<(OrgId, i64, String, String, String, Timestamp)>,
}

impl PendingAudit {
    pub(crate) async fn flush(self, tx: &mut crate::db::Tx) -> DbResult<()> {
        if self.events.is_empty() {
            return Ok(());
        }
        let mut batch = crate::batch::BatchInsert::new(
            "audit_events",
            &[
                "org_id",
                "seq",
                "id",
                "at",
                "actor_id",
                "actor",
                "action",
                "patient_id",
                "subject",
                "details",
                "ip",
                "request_id",
                "prev_hash",
                "hash",
            ],
        );
        let now = self.events.last().map(|e| e.at);
        for e in self.events {
            batch
                .push(
                    tx,
                    vec![
                        e.org_id.into(),
                        e.seq.into(),
                        e.id.into(),
                        e.at.into(),
                        e.actor_id.into(),
                        e.actor.into(),
                        e.action.into(),
                        e.patient_id.into(),
                        e.subject.into(),
                        e.details.into(),
                        e.ip.into(),
                        e.request_id.into(),
                        e.prev_hash.into(),
                        e.hash.into(),
                    ],
                )
                .await?;
        }
        batch.flush(tx).await?;
        for (org, (seq, hash)) in &self.heads {
            tx.execute(
                Q::new(
                    "UPDATE audit_heads SET seq = $1, hash = $2, updated_at = $3 WHERE org_id = $4",
                )
                .bind(*seq)
                .bind(hash.as_str())
                .bind(now)
                .bind(*org),
            )
            .await?;
        }
        for (org, seq, hash, key_id, signature, at) in self.checkpoints {
            tx.execute(
                Q::new(
                    "INSERT INTO audit_checkpoints (org_id, seq, hash, key_id, signature, signed_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(org)
                .bind(seq)
                .bind(hash)
                .bind(key_id)
                .bind(signature)
                .bind(at),
            )
            .await?;
        }
        Ok(())
    }
}

impl Txn {
    /// Appends an event to the organization's chain, in this transaction (written at commit).
    pub async fn audit(&mut self, store: &Store, org: OrgId, e: AuditEntry) -> DbResult<i64> {
        let now = store.now();
        let (seq, prev_hash) = match self.audit.heads.get(&org) {
            Some((seq, hash)) => (*seq, hash.clone()),
            None => {
                self.execute(
                    Q::new(
                        "INSERT INTO audit_heads (org_id, seq, hash, updated_at) VALUES ($1, 0, $2, $3) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(org)
                    .bind(GENESIS)
                    .bind(now),
                )
                .await?;
                // The head row serializes appends per organization until this transaction ends
                // (the SQLite transaction already holds the write lock).
                let head = self
                    .fetch_one(
                        Q::fork(
                            "SELECT seq, hash FROM audit_heads WHERE org_id = $1",
                            "SELECT seq, hash FROM audit_heads WHERE org_id = $1 FOR UPDATE",
                        )
                        .bind(org),
                    )
                    .await?;
                (head.i64("seq")?, head.string("hash")?)
            }
        };
        let mut ev = AuditEvent {
            org_id: org,
            seq: seq + 1,
            id: EventId::from_uuid(store.new_uuid()),
            at: now,
            actor_id: e.actor_id,
            actor: e.actor,
            action: e.action,
            patient_id: e.patient_id,
            subject: e.subject,
            details: e.details.to_string(),
            ip: e.ip,
            request_id: e.request_id,
            prev_hash,
            hash: String::new(),
        };
        ev.hash = ev.compute_hash();
        let seq = ev.seq;
        self.audit.heads.insert(org, (seq, ev.hash.clone()));
        if let Some(signer) = &store.audit_signer
            && seq % signer.every == 0
        {
            self.audit.checkpoints.push((
                org,
                seq,
                ev.hash.clone(),
                signer.key_id.clone(),
                signer.sign(org, seq, &ev.hash),
                now,
            ));
        }
        self.audit.events.push(ev);
        Ok(seq)
    }
}

/// The first thing wrong with a chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Broken {
    pub seq: i64,
    pub id: Option<EventId>,
    pub reason: String,
}

/// What the `/audit` page filters on (all optional).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditFilter {
    pub actor: Option<UserId>,
    pub patient: Option<PatientId>,
    /// An action or a prefix of one (`session.` for every sign-in event).
    pub action: Option<String>,
    pub from: Option<Timestamp>,
    /// Exclusive.
    pub to: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub org_id: OrgId,
    pub events: u64,
    pub checkpoints: u64,
    pub broken: Option<Broken>,
}

impl Store {
    /// Organizations that have an audit chain.
    pub async fn audited_orgs(&self) -> DbResult<Vec<OrgId>> {
        self.db
            .fetch_all(Q::new("SELECT org_id FROM audit_heads ORDER BY org_id"))
            .await?
            .iter()
            .map(|r| Ok(OrgId::from_uuid(r.uuid("org_id")?)))
            .collect()
    }

    /// Events of an organization from `after_seq` on, in order (for the audit page and exports).
    pub async fn audit_events(
        &self,
        org: OrgId,
        after_seq: i64,
        limit: i64,
    ) -> DbResult<Vec<AuditEvent>> {
        self.db
            .fetch_all(
                Q::new(
                    "SELECT org_id, seq, id, at, actor_id, actor, action, patient_id, subject, details, \
                     ip, request_id, prev_hash, hash FROM audit_events \
                     WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                )
                .bind(org)
                .bind(after_seq)
                .bind(limit),
            )
            .await?
            .iter()
            .map(AuditEvent::from_row)
            .collect()
    }

    /// Events of an organization matching a filter, newest first, older than `before_seq` when
    /// given (the `/audit` page, its CSV export and the per-patient access report).
    pub async fn audit_search(
        &self,
        org: OrgId,
        f: &AuditFilter,
        before_seq: Option<i64>,
        limit: i64,
    ) -> DbResult<Vec<AuditEvent>> {
        let action = f
            .action
            .as_ref()
            .filter(|a| !a.is_empty())
            .map(|a| format!("{}%", a.replace(['%', '_'], "")));
        self.db
            .fetch_all(
                Q::new(
                    "SELECT org_id, seq, id, at, actor_id, actor, action, patient_id, subject, details, \
                     ip, request_id, prev_hash, hash FROM audit_events \
                     WHERE org_id = $1 AND (actor_id = $2 OR $2 IS NULL) AND (patient_id = $3 OR $3 IS NULL) \
                     AND (action LIKE $4 OR $4 IS NULL) AND (at >= $5 OR $5 IS NULL) AND (at < $6 OR $6 IS NULL) \
                     AND (seq < $7 OR $7 IS NULL) ORDER BY seq DESC LIMIT $8",
                )
                .bind(org)
                .bind(f.actor)
                .bind(f.patient)
                .bind(action)
                .bind(f.from)
                .bind(f.to)
                .bind(before_seq)
                .bind(limit),
            )
            .await?
            .iter()
            .map(AuditEvent::from_row)
            .collect()
    }

    /// Walks an organization's chain and its checkpoints; reports the first broken event.
    /// `public_key` (Ed25519) checks checkpoint signatures; without it only their hashes are
    /// compared with the chain.
    pub async fn verify_audit(
        &self,
        org: OrgId,
        public_key: Option<&[u8]>,
    ) -> DbResult<VerifyReport> {
        let mut report = VerifyReport {
            org_id: org,
            events: 0,
            checkpoints: 0,
            broken: None,
        };
        let checkpoints: Vec<(i64, String, String)> = self
            .db
            .fetch_all(
                Q::new("SELECT seq, hash, signature FROM audit_checkpoints WHERE org_id = $1 ORDER BY seq")
                    .bind(org),
            )
            .await?
            .iter()
            .map(|r| Ok((r.i64("seq")?, r.string("hash")?, r.string("signature")?)))
            .collect::<DbResult<_>>()?;
        let mut next_cp = checkpoints.iter().peekable();
        let mut prev_hash = GENESIS.to_string();
        let mut last_seq = 0i64;
        let page = 10_000;
        'pages: loop {
            let events = self.audit_events(org, last_seq, page).await?;
            if events.is_empty() {
                break;
            }
            for ev in &events {
                let broken = |reason: &str| Broken {
                    seq: ev.seq,
                    id: Some(ev.id),
                    reason: reason.to_string(),
                };
                if ev.seq != last_seq + 1 {
                    report.broken = Some(Broken {
                        seq: last_seq + 1,
                        id: None,
                        reason: format!(
                            "event {} is missing (deleted?); the next one is {}",
                            last_seq + 1,
                            ev.seq
                        ),
                    });
                    break 'pages;
                }
                if ev.compute_hash() != ev.hash {
                    report.broken = Some(broken("its content does not match its hash (edited)"));
                    break 'pages;
                }
                if ev.prev_hash != prev_hash {
                    report.broken = Some(broken(
                        "it does not follow the event before it (inserted, reordered or rewritten)",
                    ));
                    break 'pages;
                }
                while let Some((cp_seq, cp_hash, sig)) = next_cp.peek() {
                    if *cp_seq > ev.seq {
                        break;
                    }
                    if *cp_seq == ev.seq {
                        if *cp_hash != ev.hash {
                            report.broken = Some(broken(
                                "it differs from the signed checkpoint at this point (chain rewritten)",
                            ));
                            break 'pages;
                        }
                        if let Some(pk) = public_key {
                            let msg = AuditSigner::message(org, *cp_seq, cp_hash);
                            let ok = hex::decode(sig).ok().is_some_and(|s| {
                                UnparsedPublicKey::new(&ED25519, pk)
                                    .verify(&msg, &s)
                                    .is_ok()
                            });
                            if !ok {
                                report.broken =
                                    Some(broken("the checkpoint's signature is not valid"));
                                break 'pages;
                            }
                        }
                        report.checkpoints += 1;
                    }
                    next_cp.next();
                }
                prev_hash = ev.hash.clone();
                last_seq = ev.seq;
                report.events += 1;
            }
        }
        if report.broken.is_none() {
            let head = self
                .db
                .fetch_optional(
                    Q::new("SELECT seq, hash FROM audit_heads WHERE org_id = $1").bind(org),
                )
                .await?;
            if let Some(h) = head {
                let (hseq, hhash) = (h.i64("seq")?, h.string("hash")?);
                if hseq != last_seq || hhash != prev_hash {
                    report.broken = Some(Broken {
                        seq: last_seq + 1,
                        id: None,
                        reason: format!(
                            "the chain ends at event {last_seq} but its head says {hseq} (events removed from the end?)"
                        ),
                    });
                }
            }
            if report.broken.is_none()
                && let Some((cp_seq, _, _)) = next_cp.next()
            {
                report.broken = Some(Broken {
                    seq: *cp_seq,
                    id: None,
                    reason: format!("a signed checkpoint exists at event {cp_seq}, which is gone"),
                });
            }
        }
        Ok(report)
    }
}
