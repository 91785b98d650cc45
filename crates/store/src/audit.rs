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

use std::sync::Arc;

use crate::db::{DbError, DbResult, Q, Row};
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

/// An event's fields as borrowed values: what the hash covers, read straight from a stored row
/// (verification) or from an [`AuditEvent`].
struct EventRef<'a> {
    org_id: uuid::Uuid,
    seq: i64,
    id: uuid::Uuid,
    at: i64,
    actor_id: Option<uuid::Uuid>,
    actor: &'a [u8],
    action: &'a [u8],
    patient_id: Option<uuid::Uuid>,
    subject: &'a [u8],
    details: &'a [u8],
    ip: Option<&'a [u8]>,
    request_id: Option<&'a [u8]>,
    prev_hash: &'a [u8],
}

impl EventRef<'_> {
    fn canonical_into(&self, b: &mut Vec<u8>) {
        b.clear();
        b.extend_from_slice(b"cuspid-audit-v1");
        put(b, self.org_id.as_bytes());
        put(b, &self.seq.to_be_bytes());
        put(b, self.id.as_bytes());
        put(b, &self.at.to_be_bytes());
        put(
            b,
            self.actor_id
                .map(|u| u.into_bytes())
                .unwrap_or_default()
                .as_slice(),
        );
        put(b, self.actor);
        put(b, self.action);
        put(
            b,
            self.patient_id
                .map(|u| u.into_bytes())
                .unwrap_or_default()
                .as_slice(),
        );
        put(b, self.subject);
        put(b, self.details);
        put(b, self.ip.unwrap_or(b""));
        put(b, self.request_id.unwrap_or(b""));
    }

    /// The hash as 64 lowercase hex digits, `buf` being scratch space.
    fn hash_hex(&self, buf: &mut Vec<u8>) -> [u8; 64] {
        self.canonical_into(buf);
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(self.prev_hash);
        ctx.update(buf);
        let mut out = [0u8; 64];
        // 32 bytes always fit 64 hex digits.
        let _ = hex::encode_to_slice(ctx.finish().as_ref(), &mut out);
        out
    }
}

impl AuditEvent {
    fn as_ref(&self) -> EventRef<'_> {
        EventRef {
            org_id: self.org_id.as_uuid(),
            seq: self.seq,
            id: self.id.as_uuid(),
            at: self.at.as_microsecond(),
            actor_id: self.actor_id.map(|u| u.as_uuid()),
            actor: self.actor.as_bytes(),
            action: self.action.as_bytes(),
            patient_id: self.patient_id.map(|p| p.as_uuid()),
            subject: self.subject.as_bytes(),
            details: self.details.as_bytes(),
            ip: self.ip.as_deref().map(str::as_bytes),
            request_id: self.request_id.as_deref().map(str::as_bytes),
            prev_hash: self.prev_hash.as_bytes(),
        }
    }

    /// The canonical bytes the hash covers (everything but `hash` itself).
    pub fn canonical(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(256 + self.details.len());
        self.as_ref().canonical_into(&mut b);
        b
    }

    /// The hash this event should carry, given its `prev_hash`.
    pub fn compute_hash(&self) -> String {
        let mut buf = Vec::with_capacity(256 + self.details.len());
        let hex = self.as_ref().hash_hex(&mut buf);
        String::from_utf8_lossy(&hex).into_owned()
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
                // The head row serializes appends per organization until this transaction ends
                // (the SQLite transaction already holds the write lock). It exists after the
                // organization's first event: one statement, except that first time.
                let lock = || {
                    Q::fork(
                        "SELECT seq, hash FROM audit_heads WHERE org_id = $1",
                        "SELECT seq, hash FROM audit_heads WHERE org_id = $1 FOR UPDATE",
                    )
                    .bind(org)
                };
                let head = match self.fetch_optional(lock()).await? {
                    Some(h) => h,
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
                        self.fetch_one(lock()).await?
                    }
                };
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
    ///
    /// The chain is read in [`VERIFY_SEGMENTS`] consecutive ranges of `seq` at once, each
    /// streamed on its own connection and checked on its own (every event's hash, each event
    /// against the one before it, checkpoints), then the ranges are stitched: each range's first
    /// event must follow the previous range's last. The first broken event is the same one a
    /// walk from the start would name.
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
        let checkpoints: Checkpoints = self
            .db
            .fetch_all(
                Q::new("SELECT seq, hash, signature FROM audit_checkpoints WHERE org_id = $1 ORDER BY seq")
                    .bind(org),
            )
            .await?
            .iter()
            .map(|r| Ok((r.i64("seq")?, (r.string("hash")?, r.string("signature")?))))
            .collect::<DbResult<_>>()?;
        let max_seq = self
            .db
            .fetch_one(
                Q::new("SELECT COALESCE(MAX(seq), 0) AS m FROM audit_events WHERE org_id = $1")
                    .bind(org),
            )
            .await?
            .i64("m")?;
        let parts = VERIFY_SEGMENTS.min(max_seq.max(1) as u64 / 10_000 + 1) as i64;
        let step = max_seq / parts + 1;
        // Each range on a task of its own, so hashing runs on every core.
        let ctx = Arc::new(SegmentCheck {
            org,
            public_key: public_key.map(<[u8]>::to_vec),
            checkpoints,
        });
        let tasks: Vec<_> = (0..parts)
            .map(|k| {
                let (store, ctx) = (self.clone(), ctx.clone());
                tokio::spawn(async move {
                    store
                        .verify_segment(ctx, k * step, ((k + 1) * step).min(max_seq))
                        .await
                })
            })
            .collect();
        let mut segments = Vec::with_capacity(tasks.len());
        for t in tasks {
            let seg = t
                .await
                .map_err(|e| DbError::Corrupt(format!("audit verification stopped: {e}")))??;
            segments.push(seg);
        }
        let checkpoints = &ctx.checkpoints;

        // Stitch the ranges in order: the first problem found is the first broken event.
        let mut prev_hash = GENESIS.to_string();
        let mut next_seq = 1i64;
        for (k, seg) in segments.iter().enumerate() {
            let Some(first) = &seg.first else {
                continue;
            };
            if first.seq != next_seq {
                report.broken = Some(Broken {
                    seq: next_seq,
                    id: None,
                    reason: format!(
                        "event {next_seq} is missing (deleted?); the next one is {}",
                        first.seq
                    ),
                });
            } else if let Some(b) = &seg.first_edited {
                report.broken = Some(b.clone());
            } else if first.prev_hash != prev_hash {
                report.broken = Some(Broken {
                    seq: first.seq,
                    id: Some(first.id),
                    reason: NOT_FOLLOWING.into(),
                });
            } else if let Some(b) = &seg.broken {
                report.broken = Some(b.clone());
            }
            if report.broken.is_some() {
                // Events before the break: whole earlier ranges, and the part of this one.
                report.events += segments[..k].iter().map(|s| s.events).sum::<u64>();
                return Ok(report);
            }
            report.events += seg.events;
            report.checkpoints += seg.checkpoints;
            prev_hash = seg.last_hash.clone();
            next_seq = seg.last_seq + 1;
        }
        let last_seq = next_seq - 1;
        let head = self
            .db
            .fetch_optional(Q::new("SELECT seq, hash FROM audit_heads WHERE org_id = $1").bind(org))
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
                return Ok(report);
            }
        }
        if let Some((cp_seq, _)) = checkpoints.range(last_seq + 1..).next() {
            report.broken = Some(Broken {
                seq: *cp_seq,
                id: None,
                reason: format!("a signed checkpoint exists at event {cp_seq}, which is gone"),
            });
        }
        Ok(report)
    }

    /// Checks the events with `lo < seq <= hi` on their own: every hash, each event against the
    /// one before it in the range, and the checkpoints in the range. The first event's link to
    /// the range before is left to the caller.
    async fn verify_segment(&self, c: Arc<SegmentCheck>, lo: i64, hi: i64) -> DbResult<Segment> {
        if hi <= lo {
            return Ok(Segment::default());
        }
        // SQLite through sqlx hands each value of each row across threads (about 90,000 events
        // a second); a read-only connection of our own on a blocking thread reads the same
        // file about ten times faster.
        if let Some(path) = self.db.sqlite_path() {
            let path = path.to_path_buf();
            return tokio::task::spawn_blocking(move || verify_segment_sqlite(&path, &c, lo, hi))
                .await
                .map_err(|e| DbError::Corrupt(format!("audit verification stopped: {e}")))?;
        }
        // PostgreSQL: a binary COPY of the range, parsed here (sqlx's row decoding costs more
        // than hashing).
        let mut walk = SegmentWalk::new(&c, lo, hi);
        let mut tuples = CopyTuples::default();
        let mut failed = None;
        let sql = format!(
            "COPY ({}) TO STDOUT (FORMAT binary)",
            SEGMENT_SQL
                .replace("$1", &format!("'{}'::uuid", c.org.as_uuid()))
                .replace("$2", &lo.to_string())
                .replace("$3", &hi.to_string())
        );
        self.db
            .pg_copy_out(&sql, |chunk| {
                // After a problem the rest is read and dropped: a COPY cannot be stopped early.
                if failed.is_some() || walk.seg.stopped {
                    return Ok(());
                }
                tuples
                    .feed(chunk, |f| {
                        let field = |i: usize| f[i];
                        let uuid = |i: usize| -> DbResult<Option<uuid::Uuid>> {
                            field(i)
                                .map(|b| {
                                    uuid::Uuid::from_slice(b)
                                        .map_err(|e| DbError::Corrupt(e.to_string()))
                                })
                                .transpose()
                        };
                        let int = |i: usize| -> DbResult<i64> {
                            let b: [u8; 8] =
                                field(i).and_then(|b| b.try_into().ok()).ok_or_else(|| {
                                    DbError::Corrupt("a bigint of the wrong size".into())
                                })?;
                            Ok(i64::from_be_bytes(b))
                        };
                        let need = |i: usize| field(i).ok_or_else(not_null);
                        let ev = EventRef {
                            org_id: uuid(0)?.ok_or_else(not_null)?,
                            seq: int(1)?,
                            id: uuid(2)?.ok_or_else(not_null)?,
                            at: int(3)?,
                            actor_id: uuid(4)?,
                            actor: need(5)?,
                            action: need(6)?,
                            patient_id: uuid(7)?,
                            subject: need(8)?,
                            details: need(9)?,
                            ip: field(10),
                            request_id: field(11),
                            prev_hash: need(12)?,
                        };
                        Ok(walk.next(&ev, need(13)?))
                    })
                    .or_else(|e| {
                        failed = Some(e.to_string());
                        Ok(())
                    })
            })
            .await?;
        if let Some(e) = failed {
            return Err(DbError::Corrupt(format!("reading the audit chain: {e}")));
        }
        Ok(walk.finish())
    }
}

/// The events of one range, in order; columns by position (the readers below rely on it).
const SEGMENT_SQL: &str = "SELECT org_id, seq, id, at, actor_id, actor, action, patient_id, subject, details, \
     ip, request_id, prev_hash, hash FROM audit_events \
     WHERE org_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq";

/// [`Store::verify_segment`] on a SQLite file, read through a read-only connection of its own.
fn verify_segment_sqlite(
    path: &std::path::Path,
    c: &SegmentCheck,
    lo: i64,
    hi: i64,
) -> DbResult<Segment> {
    use rusqlite::OpenFlags;
    let corrupt = |e: rusqlite::Error| DbError::Corrupt(format!("reading the audit chain: {e}"));
    // This connection stays on this thread: SQLite's per-connection mutex is not needed.
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(corrupt)?;
    conn.pragma_update(None, "mmap_size", 1_073_741_824i64)
        .map_err(corrupt)?;
    let mut stmt = conn
        .prepare(&SEGMENT_SQL.replace('$', "?"))
        .map_err(corrupt)?;
    let mut rows = stmt
        .query(rusqlite::params![
            c.org.as_uuid().as_bytes().as_slice(),
            lo,
            hi
        ])
        .map_err(corrupt)?;
    let mut walk = SegmentWalk::new(c, lo, hi);
    let uuid = |v: rusqlite::types::ValueRef<'_>| -> DbResult<Option<uuid::Uuid>> {
        match v {
            rusqlite::types::ValueRef::Null => Ok(None),
            v => {
                let b = v.as_blob().map_err(|e| DbError::Corrupt(e.to_string()))?;
                uuid::Uuid::from_slice(b)
                    .map(Some)
                    .map_err(|e| DbError::Corrupt(e.to_string()))
            }
        }
    };
    fn text(v: rusqlite::types::ValueRef<'_>) -> DbResult<Option<&[u8]>> {
        match v {
            rusqlite::types::ValueRef::Null => Ok(None),
            v => v
                .as_bytes()
                .map(Some)
                .map_err(|e| DbError::Corrupt(e.to_string())),
        }
    }
    let missing = not_null;
    while let Some(r) = rows.next().map_err(corrupt)? {
        let v = |i: usize| r.get_ref(i).map_err(corrupt);
        let int = |i: usize| -> DbResult<i64> {
            v(i)?.as_i64().map_err(|e| DbError::Corrupt(e.to_string()))
        };
        let ev = EventRef {
            org_id: uuid(v(0)?)?.ok_or_else(missing)?,
            seq: int(1)?,
            id: uuid(v(2)?)?.ok_or_else(missing)?,
            at: int(3)?,
            actor_id: uuid(v(4)?)?,
            actor: text(v(5)?)?.ok_or_else(missing)?,
            action: text(v(6)?)?.ok_or_else(missing)?,
            patient_id: uuid(v(7)?)?,
            subject: text(v(8)?)?.ok_or_else(missing)?,
            details: text(v(9)?)?.ok_or_else(missing)?,
            ip: text(v(10)?)?,
            request_id: text(v(11)?)?,
            prev_hash: text(v(12)?)?.ok_or_else(missing)?,
        };
        if !walk.next(&ev, text(v(13)?)?.ok_or_else(missing)?) {
            break;
        }
    }
    Ok(walk.finish())
}

/// Walks one range of a chain as its events stream in.
struct SegmentWalk<'a> {
    c: &'a SegmentCheck,
    cps: std::iter::Peekable<std::collections::btree_map::Range<'a, i64, (String, String)>>,
    buf: Vec<u8>,
    last_hash: [u8; 64],
    seg: Segment,
}

impl<'a> SegmentWalk<'a> {
    fn new(c: &'a SegmentCheck, lo: i64, hi: i64) -> SegmentWalk<'a> {
        SegmentWalk {
            c,
            cps: c.checkpoints.range(lo + 1..=hi).peekable(),
            buf: Vec::with_capacity(512),
            last_hash: [0; 64],
            seg: Segment::default(),
        }
    }

    /// Checks the next event (`stored`: its stored hash); `false` once a problem is found.
    fn next(&mut self, ev: &EventRef<'_>, stored: &[u8]) -> bool {
        let go = self.check(ev, stored);
        self.seg.stopped = !go;
        go
    }

    fn check(&mut self, ev: &EventRef<'_>, stored: &[u8]) -> bool {
        let seg = &mut self.seg;
        let id = EventId::from_uuid(ev.id);
        let broken = |reason: &str| Broken {
            seq: ev.seq,
            id: Some(id),
            reason: reason.to_string(),
        };
        let is_first = seg.first.is_none();
        if is_first {
            seg.first = Some(FirstEvent {
                seq: ev.seq,
                id,
                prev_hash: String::from_utf8_lossy(ev.prev_hash).into_owned(),
            });
        } else if ev.seq != seg.last_seq + 1 {
            seg.broken = Some(Broken {
                seq: seg.last_seq + 1,
                id: None,
                reason: format!(
                    "event {} is missing (deleted?); the next one is {}",
                    seg.last_seq + 1,
                    ev.seq
                ),
            });
            return false;
        }
        if ev.hash_hex(&mut self.buf).as_slice() != stored {
            let b = broken("its content does not match its hash (edited)");
            if is_first {
                seg.first_edited = Some(b);
            } else {
                seg.broken = Some(b);
            }
            return false;
        }
        if !is_first && ev.prev_hash != self.last_hash.as_slice() {
            seg.broken = Some(broken(NOT_FOLLOWING));
            return false;
        }
        while let Some((cp_seq, (cp_hash, sig))) = self.cps.peek() {
            if **cp_seq > ev.seq {
                break;
            }
            if **cp_seq == ev.seq {
                if cp_hash.as_bytes() != stored {
                    seg.broken = Some(broken(
                        "it differs from the signed checkpoint at this point (chain rewritten)",
                    ));
                    return false;
                }
                if let Some(pk) = &self.c.public_key {
                    let msg = AuditSigner::message(self.c.org, **cp_seq, cp_hash);
                    let ok = hex::decode(sig).ok().is_some_and(|s| {
                        UnparsedPublicKey::new(&ED25519, pk.as_slice())
                            .verify(&msg, &s)
                            .is_ok()
                    });
                    if !ok {
                        seg.broken = Some(broken("the checkpoint's signature is not valid"));
                        return false;
                    }
                }
                seg.checkpoints += 1;
            }
            self.cps.next();
        }
        // A stored hash that is not 64 hex digits never matched the computed one above.
        self.last_hash.copy_from_slice(stored);
        seg.last_seq = ev.seq;
        seg.events += 1;
        true
    }

    fn finish(mut self) -> Segment {
        self.seg.last_hash = String::from_utf8_lossy(&self.last_hash).into_owned();
        self.seg
    }
}

/// How many ranges of a chain `verify_audit` reads at once.
pub const VERIFY_SEGMENTS: u64 = 4;

const NOT_FOLLOWING: &str =
    "it does not follow the event before it (inserted, reordered or rewritten)";

/// Signed checkpoints by `seq`: their hash and signature.
type Checkpoints = std::collections::BTreeMap<i64, (String, String)>;

struct SegmentCheck {
    org: OrgId,
    public_key: Option<Vec<u8>>,
    checkpoints: Checkpoints,
}

struct FirstEvent {
    seq: i64,
    id: EventId,
    prev_hash: String,
}

/// What one range of a chain holds, and its first problem.
#[derive(Default)]
struct Segment {
    first: Option<FirstEvent>,
    /// The first event's content does not match its hash.
    first_edited: Option<Broken>,
    /// The first problem after the first event's own hash check.
    broken: Option<Broken>,
    last_seq: i64,
    last_hash: String,
    events: u64,
    checkpoints: u64,
    /// A problem was found: the rest of the range is not looked at.
    stopped: bool,
}

fn not_null() -> DbError {
    DbError::Corrupt("a NOT NULL audit column is NULL".into())
}

/// Tuples of a binary `COPY … TO STDOUT`, from chunks cut anywhere.
#[derive(Default)]
struct CopyTuples {
    buf: Vec<u8>,
    header_read: bool,
}

impl CopyTuples {
    const SIGNATURE: &'static [u8] = b"PGCOPY\n\xff\r\n\0";

    /// Feeds a chunk; calls `f` with each whole tuple's fields (`None` for NULL) until it
    /// returns `false`. A partial tuple waits for the next chunk.
    fn feed(
        &mut self,
        chunk: &[u8],
        mut f: impl FnMut(&[Option<&[u8]>]) -> DbResult<bool>,
    ) -> DbResult<()> {
        self.buf.extend_from_slice(chunk);
        let mut at = 0;
        let bad = |what: &str| DbError::Corrupt(format!("binary COPY: {what}"));
        if !self.header_read {
            // Signature, flags (4 bytes), header extension length (4 bytes) and extension.
            if self.buf.len() < Self::SIGNATURE.len() + 8 {
                return Ok(());
            }
            if !self.buf.starts_with(Self::SIGNATURE) {
                return Err(bad("no signature"));
            }
            let ext_at = Self::SIGNATURE.len() + 4;
            let ext = u32::from_be_bytes(read4(&self.buf, ext_at)) as usize;
            if self.buf.len() < ext_at + 4 + ext {
                return Ok(());
            }
            at = ext_at + 4 + ext;
            self.header_read = true;
        }
        let mut fields: Vec<Option<&[u8]>> = Vec::with_capacity(16);
        let mut go = true;
        'tuples: while go && self.buf.len() >= at + 2 {
            let n = i16::from_be_bytes([self.buf[at], self.buf[at + 1]]);
            if n == -1 {
                // The trailer.
                at += 2;
                break;
            }
            let mut p = at + 2;
            fields.clear();
            for _ in 0..n.max(0) {
                if self.buf.len() < p + 4 {
                    break 'tuples;
                }
                let len = i32::from_be_bytes(read4(&self.buf, p));
                p += 4;
                if len < 0 {
                    fields.push(None);
                    continue;
                }
                let len = len as usize;
                if self.buf.len() < p + len {
                    break 'tuples;
                }
                fields.push(Some(&self.buf[p..p + len]));
                p += len;
            }
            if fields.len() != 14 {
                return Err(bad("a tuple without 14 fields"));
            }
            go = f(&fields)?;
            at = p;
        }
        drop(fields);
        self.buf.drain(..at);
        Ok(())
    }
}

fn read4(b: &[u8], at: usize) -> [u8; 4] {
    [b[at], b[at + 1], b[at + 2], b[at + 3]]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A binary COPY stream of `rows` tuples of 14 fields (field 3 NULL, the others short).
    fn copy_stream(rows: usize) -> Vec<u8> {
        let mut b = CopyTuples::SIGNATURE.to_vec();
        b.extend_from_slice(&0u32.to_be_bytes());
        b.extend_from_slice(&3u32.to_be_bytes());
        b.extend_from_slice(b"ext");
        for r in 0..rows {
            b.extend_from_slice(&14i16.to_be_bytes());
            for f in 0..14 {
                if f == 3 {
                    b.extend_from_slice(&(-1i32).to_be_bytes());
                } else {
                    let v = format!("r{r}f{f}");
                    b.extend_from_slice(&(v.len() as i32).to_be_bytes());
                    b.extend_from_slice(v.as_bytes());
                }
            }
        }
        b.extend_from_slice(&(-1i16).to_be_bytes());
        b
    }

    #[test]
    fn copy_tuples_are_read_whole_wherever_the_chunks_are_cut() {
        let stream = copy_stream(3);
        for cut in 1..stream.len() {
            let mut t = CopyTuples::default();
            let mut seen = Vec::new();
            for chunk in [&stream[..cut], &stream[cut..]] {
                t.feed(chunk, |f| {
                    assert_eq!(f.len(), 14);
                    assert_eq!(f[3], None);
                    seen.push(String::from_utf8(f[13].unwrap().to_vec()).unwrap());
                    Ok(true)
                })
                .unwrap();
            }
            assert_eq!(seen, ["r0f13", "r1f13", "r2f13"], "cut at {cut}");
        }
        // A stream that is not a binary COPY is refused.
        let err = CopyTuples::default().feed(b"PGCOPY-not-really-a-copy", |_| Ok(true));
        assert!(err.is_err());
    }
}
