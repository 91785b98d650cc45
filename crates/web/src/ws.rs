//! `/ws`: live events for the organization the page belongs to. Each committed domain event
//! of that organization (from this server or, on PostgreSQL, from any other server on the same
//! database) is sent as JSON `{"kind", "payload"}`.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use domain::OrgId;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use crate::AppState;
use crate::error::AppError;

pub async fn upgrade(State(state): State<AppState>, ws: WebSocketUpgrade) -> Result<Response, AppError> {
    let org = state.home_scope().await?.map(|s| s.org());
    Ok(ws.on_upgrade(move |socket| stream(state, socket, org)))
}

async fn stream(state: AppState, mut socket: WebSocket, org: Option<OrgId>) {
    let mut events = state.store.bus.subscribe();
    let mut shutdown = state.shutdown_signal();
    let mut ping = tokio::time::interval(Duration::from_secs(25));
    metrics::gauge!("cuspid_websocket_clients").increment(1.0);
    loop {
        tokio::select! {
            _ = shutdown.changed() => {
                let _ = socket.send(Message::Close(None)).await;
                break;
            }
            _ = ping.tick() => {
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() { break; }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            ev = events.recv() => match ev {
                Ok(e) => {
                    if org.is_none() || e.org_id != org { continue; }
                    let text = json!({ "kind": e.kind, "payload": e.payload }).to_string();
                    if socket.send(Message::Text(text.into())).await.is_err() { break; }
                }
                Err(RecvError::Lagged(n)) => {
                    let text = json!({ "kind": "lagged", "payload": { "missed": n } }).to_string();
                    if socket.send(Message::Text(text.into())).await.is_err() { break; }
                }
                Err(RecvError::Closed) => break,
            }
        }
    }
    metrics::gauge!("cuspid_websocket_clients").decrement(1.0);
}
