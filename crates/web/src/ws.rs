//! `/ws`: live events for the organization the page belongs to. Each committed domain event
//! of that organization (from this server or, on PostgreSQL, from any other server on the same
//! database) is sent as JSON `{"kind", "payload"}`.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use domain::OrgId;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use crate::AppState;
use crate::error::AppError;

/// Browsers send `Origin` on websocket handshakes and do not apply CORS to them: a page on
/// another site must not open this socket with the user's cookies (cross-site websocket
/// hijacking). Clients that send no `Origin` (not a browser) are allowed.
fn same_origin(headers: &HeaderMap, trusted: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split("://").nth(1).unwrap_or("");
    (!host.is_empty() && origin_host == host) || trusted.iter().any(|t| t == origin)
}

pub async fn upgrade(
    State(state): State<AppState>,
    auth: crate::access::Auth,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, AppError> {
    if !same_origin(&headers, &state.config.trusted_origins) {
        return Err(AppError::Domain(domain::DomainError::new(
            domain::ErrorCode::Forbidden,
            "cross-site websocket refused",
        )));
    }
    let org = Some(auth.user.org_id);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_site_handshakes_are_refused() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        assert!(same_origin(&h, &[]), "no Origin: not a browser");
        h.insert(header::ORIGIN, "http://127.0.0.1:8080".parse().unwrap());
        assert!(same_origin(&h, &[]));
        h.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert!(!same_origin(&h, &[]));
        assert!(same_origin(&h, &["https://evil.example".to_string()]));
    }
}
