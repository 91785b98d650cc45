//! What the sending jobs share: each attempt goes into the communication log with what came of
//! it, and the job's result says whether the outbox should try again.

use messaging::SendError;
use store::Store;
use store::phone::NewCommunication;

/// Logs one send attempt (`entry` with its status, provider id and error filled in from `sent`)
/// and returns the job's result. A permanent refusal will not get better, so it is not retried;
/// a temporary failure is retried when `retry` is set, and logged as failed otherwise.
pub async fn record_send(
    store: &Store,
    mut entry: NewCommunication,
    sent: Result<String, SendError>,
    retry: bool,
) -> Result<(), String> {
    match &sent {
        Ok(id) => {
            entry.status = "sent";
            entry.provider_id = Some(id.clone());
        }
        Err(e) => {
            entry.status = if retry && !e.is_permanent() {
                "retrying"
            } else {
                "failed"
            };
            entry.error = Some(e.to_string());
        }
    }
    store
        .log_communication(&entry)
        .await
        .map_err(|e| e.to_string())?;
    match sent {
        Ok(_) => Ok(()),
        Err(e) if retry && !e.is_permanent() => Err(e.to_string()),
        Err(e) => {
            tracing::warn!(error = %e, kind = %entry.kind, "message not sent");
            Ok(())
        }
    }
}
