//! Automatic installments: the daily job that charges what payment plans with a card on file
//! owe, through the card gateway, and posts each payment to its plan. A charge and its posting
//! share one key per plan and day, so running the job twice the same day charges once; a
//! declined card keeps its reason on the plan and gives billing a task.

use std::sync::Arc;

use domain::Scope;
use domain::billing::{Entry, Method};
use futures::future::BoxFuture;
use messaging::{CardCharge, CardGateway};
use store::Store;
use store::jobs::{Job, JobHandler, NewJob};
use store::ledger::{Claim, NewPosting};
use store::patients::Actor;

/// The job's kind; it schedules its next run a day later.
pub const PLAN_AUTOPAY: &str = "plans.autopay";

pub struct PlanAutopay {
    pub cards: Arc<dyn CardGateway>,
}

impl JobHandler for PlanAutopay {
    fn run<'a>(&'a self, store: &'a Store, _job: &'a Job) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let due = store.autopay_due().await.map_err(|e| e.to_string())?;
            let actor = Actor::system("automatic installments");
            for d in due {
                let scope = Scope::system(d.org);
                let key = format!("autopay:{}:{}", d.plan.id, d.today);
                let hash = format!("{}|{}", d.plan.id, d.plan.due_now);
                match store
                    .claim_idempotent(d.org, &key, &hash)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    Claim::New => {}
                    // Charged today already (or being charged by another server).
                    Claim::Replay { .. } | Claim::InFlight | Claim::Mismatch => continue,
                }
                let charge = CardCharge {
                    amount_minor: d.plan.due_now,
                    currency: d.plan.currency.clone(),
                    payment_method: d.token.clone(),
                    description: format!("{} installment", d.plan.reference()),
                    idempotency_key: format!("cuspid-{key}"),
                    metadata: vec![
                        ("payment_plan".into(), d.plan.reference()),
                        ("patient_id".into(), d.plan.patient_id.to_string()),
                    ],
                };
                match self.cards.charge(&charge).await {
                    Ok(r) => {
                        let reference = match (&r.brand, &r.last4) {
                            (Some(b), Some(l)) => {
                                format!("{} · {b} ····{l} · {}", d.plan.reference(), r.gateway_id)
                            }
                            _ => format!("{} · {}", d.plan.reference(), r.gateway_id),
                        };
                        let new = NewPosting {
                            payment_plan: Some(d.plan.id),
                            reference,
                            idempotency_key: Some(key.clone()),
                            rest_to_credit: true,
                            ..NewPosting::new(
                                d.plan.patient_id,
                                Entry::Payment {
                                    amount: d.plan.due_now,
                                    method: Method::Card,
                                },
                                "automatic installment",
                            )
                        };
                        match store.post(&scope, &actor, &new).await {
                            Ok(_) => store
                                .autopay_succeeded(d.plan.id)
                                .await
                                .map_err(|e| e.to_string())?,
                            Err(e) => {
                                // Charged but not posted: give it back and say so.
                                let refunded = self
                                    .cards
                                    .refund(
                                        &r.gateway_id,
                                        d.plan.due_now,
                                        &format!("cuspid-{key}-refund"),
                                    )
                                    .await;
                                let why = format!(
                                    "the books refused the payment ({e}); the charge was {}",
                                    if refunded.is_ok() {
                                        "refunded"
                                    } else {
                                        "NOT refunded: refund it from the gateway"
                                    }
                                );
                                store
                                    .autopay_failed(&d, &why)
                                    .await
                                    .map_err(|e| e.to_string())?;
                            }
                        }
                    }
                    Err(e) => {
                        store
                            .release_idempotent(d.org, &key)
                            .await
                            .map_err(|e| e.to_string())?;
                        if e.is_retryable() {
                            // The gateway did not answer: the job tries again.
                            return Err(e.to_string());
                        }
                        store
                            .autopay_failed(&d, &e.to_string())
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                }
            }
            let next = store
                .now()
                .checked_add(jiff::SignedDuration::from_hours(24))
                .map_err(|e| e.to_string())?;
            store
                .ensure_scheduled(NewJob::new(PLAN_AUTOPAY, serde_json::json!({})).at(next))
                .await
                .map_err(|e| e.to_string())?;
            Ok(())
        })
    }
}
