//! The demo's books: the completed work of the first patients charged at the catalog's fees,
//! spread over the last five months so the aging has something to show, and paid in every way
//! a front desk sees (in full, in part, by card, cash or cheque, with credit left over, not
//! at all); the first dozen patients' work on invoices. Deterministic like the rest of the
//! demo.

use domain::PatientId;
use domain::billing::{Entry, Method};
use futures::future::BoxFuture;
use store::db::Q;
use store::invoices::{DraftLine, InvoiceDraft, InvoiceSettings, LineKind};
use store::ledger::NewPosting;
use store::patients::Actor;

use super::DemoCtx;

/// A completed procedure: its chart entry, code and fee.
type Done = (uuid::Uuid, String, i64);

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

pub fn create<'a>(ctx: &'a mut DemoCtx<'_>) -> BoxFuture<'a, Result<(), String>> {
    Box::pin(async move {
        let store = ctx.store;
        let scope = ctx.scope.clone();
        let desk = Actor::system("receptionist@demo");
        let rows = store
            .db
            .fetch_all(
                Q::new(
                    "SELECT e.id, e.patient_id, e.code, c.fee_minor, p.chart_number FROM chart_entries e \
                     JOIN procedure_codes c ON c.id = e.code_id JOIN patients p ON p.id = e.patient_id \
                     WHERE e.org_id = $1 AND e.status = 'completed' AND e.kind = 'procedure' AND e.voided_at IS NULL \
                     AND c.fee_minor > 0 ORDER BY p.chart_number, e.recorded_at, e.id LIMIT 600",
                )
                .bind(scope.org()),
            )
            .await
            .map_err(err)?;
        let Some(location) = ctx.locations.first() else {
            return Err("no demo location".into());
        };
        let today = store.now().to_zoned(location.tz().map_err(err)?).date();
        // Patient by patient, in chart order.
        let mut by_patient: Vec<(PatientId, Vec<Done>)> = Vec::new();
        for r in &rows {
            let p = PatientId::from_uuid(r.uuid("patient_id").map_err(err)?);
            let item = (
                r.uuid("id").map_err(err)?,
                r.string("code").map_err(err)?,
                r.i64("fee_minor").map_err(err)?,
            );
            match by_patient.last_mut() {
                Some((last, items)) if *last == p => items.push(item),
                _ => by_patient.push((p, vec![item])),
            }
        }
        for (i, (p, items)) in by_patient.iter().take(80).enumerate() {
            let days_ago = (i as i64 * 11) % 150;
            let on = today
                .checked_sub(jiff::Span::new().days(days_ago))
                .map_err(err)?;
            let mut owed = 0;
            for (entry, code, fee) in items {
                store
                    .post(
                        &scope,
                        &desk,
                        &NewPosting {
                            on: Some(on),
                            procedure_id: Some(domain::ChartEntryId::from_uuid(*entry)),
                            reference: code.clone(),
                            ..NewPosting::new(
                                *p,
                                Entry::Charge { amount: *fee },
                                &format!("{code} completed"),
                            )
                        },
                    )
                    .await
                    .map_err(|e| format!("charge: {e}"))?;
                owed += fee;
            }
            let method = [Method::Card, Method::Cash, Method::Cheque, Method::Card][i % 4];
            // Paid three days later, in full, in part, or with a little over left as credit; one
            // in five has not paid yet.
            let (amount, rest_to_credit) = match i % 5 {
                0 | 1 => (owed, false),
                2 => (owed / 2, false),
                3 => (owed + 2_500, true),
                _ => (0, false),
            };
            if amount > 0 {
                let paid_on = today
                    .checked_sub(jiff::Span::new().days((days_ago - 3).max(0)))
                    .map_err(err)?;
                store
                    .post(
                        &scope,
                        &desk,
                        &NewPosting {
                            on: Some(paid_on),
                            rest_to_credit,
                            reference: if method == Method::Cheque {
                                format!("cheque {}", 1000 + i)
                            } else {
                                String::new()
                            },
                            ..NewPosting::new(*p, Entry::Payment { amount, method }, "payment")
                        },
                    )
                    .await
                    .map_err(|e| format!("payment: {e}"))?;
            }
        }
        // Invoices: the first dozen patients' work, issued (paid, partly paid or open as their
        // payments left them); one with a toothbrush and its sales tax; one draft.
        store
            .set_invoice_settings(
                &scope,
                &desk,
                location.id,
                &InvoiceSettings {
                    prefix: "INV-".into(),
                    tax_label: "Sales tax".into(),
                    tax_rate_bp: 800,
                },
            )
            .await
            .map_err(|e| format!("invoice settings: {e}"))?;
        for (i, (p, _)) in by_patient.iter().take(12).enumerate() {
            let mut lines: Vec<DraftLine> = store
                .uninvoiced_charges(&scope, *p)
                .await
                .map_err(err)?
                .iter()
                .map(|c| DraftLine::procedure(c.id))
                .collect();
            if lines.is_empty() {
                continue;
            }
            if i % 4 == 1 {
                let mut brush = DraftLine::item(LineKind::Product, "Electric toothbrush", 1, 8_900);
                brush.tax_bp = 800;
                lines.push(brush);
            }
            let inv = store
                .create_invoice(
                    &scope,
                    &desk,
                    *p,
                    &InvoiceDraft {
                        lines,
                        ..InvoiceDraft::default()
                    },
                    false,
                )
                .await
                .map_err(|e| format!("invoice: {e}"))?;
            if i != 11 {
                store
                    .issue_invoice(&scope, &desk, inv.id, false)
                    .await
                    .map_err(|e| format!("issue: {e}"))?;
            }
        }
        Ok(())
    })
}
