//! Domain events. Each is written to the `events` table (the outbox) in the business
//! transaction and delivered after commit to in-process subscribers (websocket clients of the
//! same organization, caches). On PostgreSQL a `NOTIFY` in the same transaction wakes every
//! other `cuspid serve` on the database, which reads the event back and delivers it to its own
//! subscribers, so several stateless servers behave as one. Where LISTEN is not available the
//! listener falls back to polling the table.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use domain::{EventId, OrgId};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::db::{Db, DbResult, Q, Row};
use crate::{Store, Txn};

pub const CHANNEL: &str = "cuspid_events";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: EventId,
    pub org_id: Option<OrgId>,
    pub kind: String,
    pub payload: serde_json::Value,
    /// The server instance that published it.
    pub origin: String,
    pub created_at: Timestamp,
}

impl Event {
    fn from_row(r: &Row) -> DbResult<Event> {
        Ok(Event {
            id: EventId::from_uuid(r.uuid("id")?),
            org_id: r.opt_uuid("org_id")?.map(OrgId::from_uuid),
            kind: r.string("kind")?,
            payload: r.json("payload")?,
            origin: r.string("origin")?,
            created_at: r.ts("created_at")?,
        })
    }
}

/// In-process fan-out of committed events.
#[derive(Clone, Debug)]
pub struct EventBus {
    tx: broadcast::Sender<Arc<Event>>,
    origin: Arc<str>,
}

impl EventBus {
    pub fn new(origin: String) -> EventBus {
        let (tx, _) = broadcast::channel(1024);
        EventBus {
            tx,
            origin: origin.into(),
        }
    }

    /// This server instance's id.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    pub(crate) fn deliver_local(&self, e: Arc<Event>) {
        // No subscriber is not an error.
        let _ = self.tx.send(e);
    }
}

impl Txn {
    /// Writes an event to the outbox; subscribers get it once the transaction commits.
    pub async fn publish(
        &mut self,
        store: &Store,
        org_id: Option<OrgId>,
        kind: &str,
        payload: serde_json::Value,
    ) -> DbResult<EventId> {
        let e = Event {
            id: EventId::from_uuid(store.new_uuid()),
            org_id,
            kind: kind.to_string(),
            payload,
            origin: self.bus.origin().to_string(),
            created_at: store.now(),
        };
        self.execute(
            Q::new(
                "INSERT INTO events (id, org_id, kind, payload, origin, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(e.id)
            .bind(e.org_id)
            .bind(e.kind.as_str())
            .bind(e.payload.to_string())
            .bind(e.origin.as_str())
            .bind(e.created_at),
        )
        .await?;
        if self.backend() == crate::Backend::Postgres {
            // Delivered by PostgreSQL only if and when the transaction commits. (The SQLite
            // text exists so every statement prepares on both; it is never run.)
            self.execute(
                Q::fork(
                    "SELECT $1 AS channel, $2 AS payload",
                    "SELECT pg_notify($1, $2)",
                )
                .bind(CHANNEL)
                .bind(format!("{} {}", e.origin, e.id)),
            )
            .await?;
        }
        let id = e.id;
        self.pending.push(e);
        Ok(id)
    }
}

impl Store {
    /// Publishes an event in a transaction of its own.
    pub async fn publish(
        &self,
        org_id: Option<OrgId>,
        kind: &str,
        payload: serde_json::Value,
    ) -> DbResult<EventId> {
        let mut t = self.begin().await?;
        let id = t.publish(self, org_id, kind, payload).await?;
        t.commit().await?;
        Ok(id)
    }

    pub async fn event(&self, id: EventId) -> DbResult<Option<Event>> {
        let row = self
            .db
            .fetch_optional(
                Q::new("SELECT id, org_id, kind, payload, origin, created_at FROM events WHERE id = $1")
                    .bind(id),
            )
            .await?;
        row.as_ref().map(Event::from_row).transpose()
    }

    /// Deletes delivered events older than `before` (they are not an archive; the audit log is).
    pub async fn prune_events(&self, before: Timestamp) -> DbResult<u64> {
        self.db
            .execute(Q::new("DELETE FROM events WHERE created_at < $1").bind(before))
            .await
    }
}

/// Relays events published by other servers on the same PostgreSQL database to this server's
/// bus. Runs until `shutdown` fires. On SQLite there is one server, so there is nothing to do.
///
/// A NOTIFY sent while the listener's connection is down is lost, so after every (re)connect
/// the relay reads back the events committed meanwhile (with a look-back window, ids
/// de-duplicated).
pub async fn relay_remote_events(store: Store, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let Db::Pg(pool) = &store.db else {
        return;
    };
    let mut seen = Seen::default();
    let mut last_connected: Option<Timestamp> = None;
    loop {
        match sqlx::postgres::PgListener::connect_with(pool).await {
            Ok(mut listener) => {
                if listener.listen(CHANNEL).await.is_ok() {
                    tracing::info!("listening for events from other servers");
                    if let Some(since) = last_connected {
                        catch_up(&store, &mut seen, since).await;
                    }
                    loop {
                        tokio::select! {
                            _ = shutdown.changed() => return,
                            n = listener.recv() => match n {
                                Ok(n) => {
                                    last_connected = Some(store.now());
                                    relay_one(&store, &mut seen, n.payload()).await;
                                }
                                Err(e) => {
                                    tracing::warn!(error = %e, "event listener lost its connection");
                                    last_connected = Some(last_connected.unwrap_or_else(|| store.now()));
                                    break;
                                }
                            }
                        }
                    }
                } else {
                    tracing::warn!("LISTEN unavailable; polling the events table instead");
                    poll_events(&store, &mut shutdown).await;
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot connect the event listener");
                last_connected.get_or_insert_with(|| store.now());
            }
        }
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// Ids already delivered, bounded.
#[derive(Default)]
struct Seen {
    set: HashSet<EventId>,
    order: VecDeque<EventId>,
}

impl Seen {
    /// True the first time an id is offered.
    fn first(&mut self, id: EventId) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        self.order.push_back(id);
        while self.order.len() > 100_000 {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }
}

/// How far back a catch-up or a poll looks: transactions can commit a while after the
/// timestamp they stamped on their events.
const LOOK_BACK: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

async fn catch_up(store: &Store, seen: &mut Seen, since: Timestamp) {
    let from = since
        .checked_sub(LOOK_BACK)
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let rows = store
        .db
        .fetch_all(
            Q::new("SELECT id, org_id, kind, payload, origin, created_at FROM events WHERE created_at >= $1 ORDER BY created_at")
                .bind(from),
        )
        .await;
    match rows {
        Ok(rows) => {
            for r in &rows {
                if let Ok(e) = Event::from_row(r)
                    && e.origin != store.bus.origin()
                    && seen.first(e.id)
                {
                    store.bus.deliver_local(Arc::new(e));
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot catch up on events"),
    }
}

async fn relay_one(store: &Store, seen: &mut Seen, payload: &str) {
    let Some((origin, id)) = payload.split_once(' ') else {
        return;
    };
    if origin == store.bus.origin() {
        return; // already delivered locally at commit
    }
    let Ok(id) = id.parse::<EventId>() else {
        return;
    };
    if !seen.first(id) {
        return;
    }
    match store.event(id).await {
        Ok(Some(e)) => store.bus.deliver_local(Arc::new(e)),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "cannot read a relayed event"),
    }
}

/// Polling fallback: reads recent events with a look-back window (transactions may commit out
/// of order) and remembers which ids it has delivered.
async fn poll_events(store: &Store, shutdown: &mut tokio::sync::watch::Receiver<bool>) {
    let mut seen = Seen::default();
    loop {
        catch_up(store, &mut seen, store.now()).await;
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
}
