//! Patient search: a bounded set of candidates through b-tree indexes (name prefixes as
//! ranges, phonetic keys, reversed phone digits, birth date, chart number, email), ranked by
//! [`domain::patients::search::score`]. The same SQL on both databases; see
//! `domain::patients::search` for the keys.

use domain::Scope;
use domain::patients::search::{
    DateOrder, NameKeys, Query, phonetic_key, prefix_upper_bound, score,
};

use super::{Actor, PatientSummary, summary_of, visible_row};
use crate::Store;
use crate::db::{DbResult, Q, Row};
use crate::tenancy::WriteError;

/// One search hit.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Hit {
    #[serde(flatten)]
    pub patient: PatientSummary,
    /// 0 to 100: how well the text matched.
    pub score: u32,
}

/// Candidates fetched per index branch.
const PER_BRANCH: i64 = 25;

/// An upper bound past every name key (keys are lower-case letters).
fn upper(prefix: &str) -> String {
    prefix_upper_bound(prefix).unwrap_or_else(|| "{".to_string())
}

/// An upper bound past every reversed phone key (keys are digits; letters sort after them in
/// every collation).
fn upper_digits(prefix: &str) -> String {
    prefix_upper_bound(prefix).unwrap_or_else(|| "a".to_string())
}

impl Store {
    /// Searches the scope's patients; best match first, at most `limit`. Merged records are
    /// never listed, restricted ones only where the scope may see them. The hits are audited
    /// as `patient.search`.
    pub async fn search_patients(
        &self,
        scope: &Scope,
        actor: &Actor,
        text: &str,
        order: DateOrder,
        limit: usize,
    ) -> Result<Vec<Hit>, WriteError> {
        let hits = self.find_patients(scope, text, order, limit).await?;
        let listed: Vec<PatientSummary> = hits.iter().map(|h| h.patient.clone()).collect();
        self.audit_listing(
            scope,
            actor,
            "patient.search",
            &listed,
            serde_json::json!({ "query_length": text.chars().count() }),
        )
        .await?;
        Ok(hits)
    }

    /// The search without its audit event (duplicate checks, tests of ranking).
    pub async fn find_patients(
        &self,
        scope: &Scope,
        text: &str,
        order: DateOrder,
        limit: usize,
    ) -> DbResult<Vec<Hit>> {
        let limit = limit.clamp(1, 100);
        let org = scope.org();
        let (rows, words, family_first) = match Query::parse(text, order) {
            Query::Empty => return Ok(Vec::new()),
            Query::Name {
                words,
                family_first,
            } => {
                let rows = if words.len() == 1 {
                    let w = &words[0];
                    self.db
                        .fetch_all(
                            Q::new(
                                "SELECT c.* FROM ( \
                                 SELECT * FROM (SELECT id, location_id, restricted, family_id, chart_number, status, given_name, family_name, preferred_name, given_key, family_key, preferred_key, birth_date FROM patients WHERE org_id = $1 AND family_key >= $2 AND family_key < $3 AND status <> 'merged' ORDER BY family_key, given_key LIMIT $5) a \
                                 UNION ALL SELECT * FROM (SELECT id, location_id, restricted, family_id, chart_number, status, given_name, family_name, preferred_name, given_key, family_key, preferred_key, birth_date FROM patients WHERE org_id = $1 AND given_key >= $2 AND given_key < $3 AND status <> 'merged' ORDER BY given_key, family_key LIMIT $5) b \
                                 UNION ALL SELECT * FROM (SELECT id, location_id, restricted, family_id, chart_number, status, given_name, family_name, preferred_name, given_key, family_key, preferred_key, birth_date FROM patients WHERE org_id = $1 AND preferred_key >= $2 AND preferred_key < $3 AND status <> 'merged' ORDER BY preferred_key LIMIT $5) c \
                                 UNION ALL SELECT * FROM (SELECT id, location_id, restricted, family_id, chart_number, status, given_name, family_name, preferred_name, given_key, family_key, preferred_key, birth_date FROM patients WHERE org_id = $1 AND family_ph = $4 AND status <> 'merged' ORDER BY family_ph, given_ph LIMIT $5) d \
                                 UNION ALL SELECT * FROM (SELECT id, location_id, restricted, family_id, chart_number, status, given_name, family_name, preferred_name, given_key, family_key, preferred_key, birth_date FROM patients WHERE org_id = $1 AND given_ph = $4 AND status <> 'merged' ORDER BY given_ph LIMIT $5) e \
                                 ) c",
                            )
                            .bind(org)
                            .bind(w.as_str())
                            .bind(upper(w))
                            .bind(phonetic_key(w))
                            .bind(PER_BRANCH),
                        )
                        .await?
                } else {
                    let a = &words[0];
                    let b = &words[words.len() - 1];
                    let joined = words.concat();
                    self.db
                        .fetch_all(
                            Q::new(
                                "SELECT c.* FROM ( \
                                 SELECT * FROM (SELECT id, location_id, restricted, family_id, chart_number, status, given_name, family_name, preferred_name, given_key, family_key, preferred_key, birth_date FROM patients WHERE org_id = $1 AND family_key >= $2 AND family_key < $3 AND given_key >= $4 AND given_key < $5 AND status <> 'merged' ORDER BY family_key, given_key LIMIT $10) a \
                                 UNION ALL SELECT * FROM (SELECT id, location_id, restricted, family_id, chart_number, status, given_name, family_name, preferred_name, given_key, family_key, preferred_key, birth_date FROM patients WHERE org_id = $1 AND family_key >= $4 AND family_key < $5 AND given_key >= $2 AND given_key < $3 AND status <> 'merged' ORDER BY family_key, given_key LIMIT $10) b \
                                 UNION ALL SELECT * FROM (SELECT id, location_id, restricted, family_id, chart_number, status, given_name, family_name, preferred_name, given_key, family_key, preferred_key, birth_date FROM patients WHERE org_id = $1 AND family_ph = $6 AND given_ph = $7 AND status <> 'merged' ORDER BY family_ph, given_ph LIMIT $10) c \
                                 UNION ALL SELECT * FROM (SELECT id, location_id, restricted, family_id, chart_number, status, given_name, family_name, preferred_name, given_key, family_key, preferred_key, birth_date FROM patients WHERE org_id = $1 AND family_ph = $7 AND given_ph = $6 AND status <> 'merged' ORDER BY family_ph, given_ph LIMIT $10) d \
                                 UNION ALL SELECT * FROM (SELECT id, location_id, restricted, family_id, chart_number, status, given_name, family_name, preferred_name, given_key, family_key, preferred_key, birth_date FROM patients WHERE org_id = $1 AND family_ph = $6 AND given_key >= $4 AND given_key < $5 AND status <> 'merged' ORDER BY family_ph, given_key LIMIT $10) e \
                                 UNION ALL SELECT * FROM (SELECT id, location_id, restricted, family_id, chart_number, status, given_name, family_name, preferred_name, given_key, family_key, preferred_key, birth_date FROM patients WHERE org_id = $1 AND family_ph = $7 AND given_key >= $2 AND given_key < $3 AND status <> 'merged' ORDER BY family_ph, given_key LIMIT $10) f \
                                 UNION ALL SELECT * FROM (SELECT id, location_id, restricted, family_id, chart_number, status, given_name, family_name, preferred_name, given_key, family_key, preferred_key, birth_date FROM patients WHERE org_id = $1 AND family_key >= $8 AND family_key < $9 AND status <> 'merged' ORDER BY family_key, given_key LIMIT $10) g \
                                 UNION ALL SELECT * FROM (SELECT id, location_id, restricted, family_id, chart_number, status, given_name, family_name, preferred_name, given_key, family_key, preferred_key, birth_date FROM patients WHERE org_id = $1 AND preferred_key >= $2 AND preferred_key < $3 AND family_key >= $4 AND family_key < $5 AND status <> 'merged' ORDER BY preferred_key, family_key LIMIT $10) h \
                                 ) c",
                            )
                            .bind(org)
                            .bind(a.as_str())
                            .bind(upper(a))
                            .bind(b.as_str())
                            .bind(upper(b))
                            .bind(phonetic_key(a))
                            .bind(phonetic_key(b))
                            .bind(joined.as_str())
                            .bind(upper(&joined))
                            .bind(PER_BRANCH),
                        )
                        .await?
                };
                (rows, words, family_first)
            }
            Query::Digits {
                phone,
                chart_number,
            } => {
                let p = phone.unwrap_or_default();
                let rows = self
                    .db
                    .fetch_all(
                        Q::new(
                            "SELECT c.* FROM ( \
                             SELECT * FROM (SELECT p.id, p.location_id, p.restricted, p.family_id, p.chart_number, p.status, p.given_name, p.family_name, p.preferred_name, p.given_key, p.family_key, p.preferred_key, p.birth_date FROM patient_phones n JOIN patients p ON p.id = n.patient_id \
                               WHERE n.org_id = $1 AND n.digits_rev >= $2 AND n.digits_rev < $3 AND $2 <> '' AND p.status <> 'merged' ORDER BY n.digits_rev LIMIT $5) a \
                             UNION ALL SELECT * FROM (SELECT id, location_id, restricted, family_id, chart_number, status, given_name, family_name, preferred_name, given_key, family_key, preferred_key, birth_date FROM patients WHERE org_id = $1 AND chart_number = $4 AND status <> 'merged') b \
                             ) c",
                        )
                        .bind(org)
                        .bind(p.as_str())
                        .bind(upper_digits(&p))
                        .bind(chart_number.unwrap_or(-1))
                        .bind(PER_BRANCH),
                    )
                    .await?;
                (rows, Vec::new(), false)
            }
            Query::BirthDate(d) => {
                let rows = self
                    .db
                    .fetch_all(
                        Q::new(
                            "SELECT p.* \
                             FROM patients p WHERE p.org_id = $1 AND p.birth_date = $2 AND p.status <> 'merged' \
                             ORDER BY p.family_key, p.given_key LIMIT $3",
                        )
                        .bind(org)
                        .bind(d.to_string())
                        .bind(PER_BRANCH),
                    )
                    .await?;
                (rows, Vec::new(), false)
            }
            Query::Email(e) => {
                let rows = self
                    .db
                    .fetch_all(
                        Q::new(
                            "SELECT p.* \
                             FROM patients p WHERE p.org_id = $1 AND p.email = $2 AND p.status <> 'merged' LIMIT $3",
                        )
                        .bind(org)
                        .bind(e.as_str())
                        .bind(PER_BRANCH),
                    )
                    .await?;
                (rows, Vec::new(), false)
            }
        };
        let mut hits = rank(scope, &rows, &words, family_first, limit)?;
        self.first_phones(&mut hits).await?;
        Ok(hits)
    }

    /// Fills each hit's first phone number, in one query for all of them.
    async fn first_phones(&self, hits: &mut [Hit]) -> DbResult<()> {
        if hits.is_empty() {
            return Ok(());
        }
        // Placeholders only: the ids are bound.
        let marks: Vec<String> = (1..=hits.len()).map(|i| format!("${i}")).collect();
        let mut q = Q::generated(format!(
            "SELECT patient_id, number, position FROM patient_phones WHERE patient_id IN ({}) ORDER BY position",
            marks.join(", ")
        ));
        for h in hits.iter() {
            q = q.bind(h.patient.id);
        }
        let rows = self.db.fetch_all(q).await?;
        for r in rows.iter().rev() {
            let id = domain::PatientId::from_uuid(r.uuid("patient_id")?);
            if let Some(h) = hits.iter_mut().find(|h| h.patient.id == id) {
                h.patient.phone = Some(r.string("number")?);
            }
        }
        Ok(())
    }
}

/// Dedups the candidates, drops what the scope may not see, scores and sorts them.
fn rank(
    scope: &Scope,
    rows: &[Row],
    words: &[String],
    family_first: bool,
    limit: usize,
) -> DbResult<Vec<Hit>> {
    let mut seen = std::collections::HashSet::new();
    let mut hits: Vec<(Hit, String, String)> = Vec::new();
    for r in rows {
        let id = r.uuid("id")?;
        if !seen.insert(id) || !visible_row(scope, r)? {
            continue;
        }
        let (given, family, preferred) = (
            r.string("given_key")?,
            r.string("family_key")?,
            r.string("preferred_key")?,
        );
        let s = if words.is_empty() {
            100
        } else {
            score(
                words,
                family_first,
                &NameKeys {
                    given: &given,
                    family: &family,
                    preferred: &preferred,
                },
            )
        };
        if s == 0 {
            continue;
        }
        hits.push((
            Hit {
                patient: summary_of(r)?,
                score: s,
            },
            family,
            given,
        ));
    }
    // Best first; then alphabetical, then the active before the archived.
    hits.sort_by(|a, b| {
        b.0.score
            .cmp(&a.0.score)
            .then_with(|| a.1.cmp(&b.1))
            .then_with(|| a.2.cmp(&b.2))
            .then_with(|| a.0.patient.chart_number.cmp(&b.0.patient.chart_number))
    });
    Ok(hits.into_iter().take(limit).map(|h| h.0).collect())
}
