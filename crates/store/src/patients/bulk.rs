//! Writes for the binary's demo data: a new patient's first medical history inside the caller's
//! transaction, so a demo family and its histories are written (and audited) together.

use domain::patients::history::MedicalHistory;
use domain::{DomainError, PatientId, Scope};

use super::Actor;
use crate::crypto::FieldCipher;
use crate::tenancy::WriteError;
use crate::{Store, Txn};

impl Txn {
    /// Records the first version of a patient's medical history in this transaction (the
    /// patient has none yet), audited as `patient.history_changed`; `reviewed` marks it reviewed
    /// with the patient today.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_first_history(
        &mut self,
        store: &Store,
        scope: &Scope,
        actor: &Actor,
        cipher: &FieldCipher,
        patient: PatientId,
        history: &MedicalHistory,
        reviewed: bool,
    ) -> Result<(), WriteError> {
        let history = history
            .normalized()
            .map_err(|e| WriteError::Invalid(DomainError::validation(e)))?;
        self.record_history(
            store, scope, actor, cipher, patient, &history, None, reviewed,
        )
        .await?;
        Ok(())
    }
}
