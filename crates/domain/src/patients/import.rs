//! Reading another system's patient export: which column holds what ([`Mapping`], with an
//! Open Dental preset), and one row into a [`PatientInput`] ([`Mapping::row`]). The CSV
//! parsing and the writing are the store's; this is the pure part.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::search::{DateOrder, parse_typed_date};
use super::{PatientInput, PatientStatus, Phone};

/// What a column can be mapped to.
pub const TARGETS: &[&str] = &[
    "external_id",
    "family_name",
    "given_name",
    "middle_name",
    "preferred_name",
    "birth_date",
    "sex",
    "phone_mobile",
    "phone_home",
    "phone_work",
    "email",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "country",
    "national_id",
    "language",
    "guarantor_external_id",
    "status",
];

/// Which header feeds which target, and how values are read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    /// Target → header, as written in the file (compared case-insensitively).
    pub columns: BTreeMap<String, String>,
    /// Codes of the source system: `opendental` reads its sex and status numbers.
    #[serde(default)]
    pub codes: String,
    /// Month-first (US) or day-first dates, for dates not written YYYY-MM-DD.
    #[serde(default)]
    pub day_first: bool,
}

/// The Open Dental patient table's columns (an export of `patient` by query or report).
pub fn open_dental() -> Mapping {
    let pairs = [
        ("external_id", "PatNum"),
        ("family_name", "LName"),
        ("given_name", "FName"),
        ("middle_name", "MiddleI"),
        ("preferred_name", "Preferred"),
        ("birth_date", "Birthdate"),
        ("sex", "Gender"),
        ("phone_home", "HmPhone"),
        ("phone_work", "WkPhone"),
        ("phone_mobile", "WirelessPhone"),
        ("email", "Email"),
        ("address_line1", "Address"),
        ("address_line2", "Address2"),
        ("city", "City"),
        ("region", "State"),
        ("postal_code", "Zip"),
        ("country", "Country"),
        ("national_id", "SSN"),
        ("language", "Language"),
        ("guarantor_external_id", "Guarantor"),
        ("status", "PatStatus"),
    ];
    Mapping {
        columns: pairs
            .iter()
            .map(|(t, h)| (t.to_string(), h.to_string()))
            .collect(),
        codes: "opendental".into(),
        day_first: false,
    }
}

/// Cuspid's own column names (a target is its own header).
pub fn generic() -> Mapping {
    Mapping {
        columns: TARGETS
            .iter()
            .map(|t| (t.to_string(), t.to_string()))
            .collect(),
        codes: String::new(),
        day_first: false,
    }
}

/// The presets, by name.
pub fn preset(name: &str) -> Option<Mapping> {
    match name {
        "opendental" => Some(open_dental()),
        "cuspid" => Some(generic()),
        _ => None,
    }
}

/// What a row says besides the patient itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowExtras {
    /// The guarantor's id in the source system (the same as the row's own for a guarantor).
    pub guarantor_external_id: String,
    pub status: Option<PatientStatus>,
}

impl Mapping {
    /// The preset whose columns the headers hold (Open Dental's `PatNum`, `LName`, `FName`),
    /// else Cuspid's names.
    pub fn detect(headers: &[String]) -> Mapping {
        let has = |h: &str| headers.iter().any(|x| x.trim().eq_ignore_ascii_case(h));
        if has("PatNum") && has("LName") && has("FName") {
            open_dental()
        } else {
            generic()
        }
    }

    /// Problems with the mapping itself against a file's headers: unknown targets, a header
    /// the file lacks, names or birth date unmapped.
    pub fn check(&self, headers: &[String]) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        for (target, header) in &self.columns {
            if !TARGETS.contains(&target.as_str()) {
                errors.push(format!("unknown target \"{target}\""));
            }
            let present = headers
                .iter()
                .any(|h| h.trim().eq_ignore_ascii_case(header.trim()));
            let required = matches!(target.as_str(), "family_name" | "given_name" | "birth_date");
            if !present && required {
                errors.push(format!(
                    "the file has no column \"{header}\" (for {target})"
                ));
            }
        }
        for t in ["family_name", "given_name", "birth_date"] {
            if !self.columns.contains_key(t) {
                errors.push(format!("no column is mapped to {t}"));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// For each target, the index of its column in `headers` (absent columns are skipped).
    pub fn indexes(&self, headers: &[String]) -> BTreeMap<String, usize> {
        self.columns
            .iter()
            .filter_map(|(t, h)| {
                headers
                    .iter()
                    .position(|x| x.trim().eq_ignore_ascii_case(h.trim()))
                    .map(|i| (t.clone(), i))
            })
            .collect()
    }

    /// One row into a patient input. Dates in another order are rewritten `YYYY-MM-DD`;
    /// source codes are translated; what cannot be read is left for validation to report.
    pub fn row(
        &self,
        indexes: &BTreeMap<String, usize>,
        record: &[String],
    ) -> (PatientInput, RowExtras) {
        let get = |t: &str| -> String {
            indexes
                .get(t)
                .and_then(|&i| record.get(i))
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        };
        let od = self.codes == "opendental";
        let order = if self.day_first {
            DateOrder::DayFirst
        } else {
            DateOrder::MonthFirst
        };
        let raw_birth = get("birth_date");
        // Open Dental writes 0001-01-01 for an unknown birth date: leave it empty (reported).
        let birth_date = if raw_birth.starts_with("0001-01-01") {
            String::new()
        } else {
            // "1984-03-27 00:00:00" from a database export.
            let date_part = raw_birth.split([' ', 'T']).next().unwrap_or("");
            parse_typed_date(date_part, order)
                .map(|d| d.to_string())
                .unwrap_or(raw_birth)
        };
        let sex_raw = get("sex");
        let sex = match (od, sex_raw.as_str()) {
            (true, "0") => "male".into(),
            (true, "1") => "female".into(),
            (true, "2") | (_, "") => "unknown".into(),
            (_, s) => match s.to_lowercase().as_str() {
                "m" | "male" | "h" | "homme" => "male".into(),
                "f" | "female" | "femme" => "female".into(),
                "u" | "unknown" => "unknown".into(),
                "o" | "other" | "x" => "other".into(),
                other => other.to_string(),
            },
        };
        let status_raw = get("status");
        let status = match (od, status_raw.as_str()) {
            (_, "") => None,
            (true, "0") | (true, "1") | (true, "6") => Some(PatientStatus::Active),
            (true, "2") => Some(PatientStatus::Inactive),
            (true, "3") | (true, "4") => Some(PatientStatus::Archived),
            (true, "5") => Some(PatientStatus::Deceased),
            (_, s) => PatientStatus::from_code(&s.to_lowercase()),
        };
        let mut phones = Vec::new();
        for (t, kind) in [
            ("phone_mobile", "mobile"),
            ("phone_home", "home"),
            ("phone_work", "work"),
        ] {
            let n = get(t);
            if !n.is_empty() {
                phones.push(Phone {
                    kind: kind.into(),
                    number: n,
                    sms_consent: false,
                });
            }
        }
        let language = get("language");
        let language = match language.to_lowercase().as_str() {
            "english" | "eng" => "en".to_string(),
            "french" | "fre" | "fra" | "français" | "francais" => "fr".to_string(),
            "spanish" | "spa" => "es".to_string(),
            _ => language.to_lowercase(),
        };
        let input = PatientInput {
            external_id: get("external_id"),
            family_name: get("family_name"),
            given_name: get("given_name"),
            middle_name: get("middle_name"),
            preferred_name: get("preferred_name"),
            birth_date,
            sex,
            phones,
            email: get("email"),
            address: crate::Address {
                line1: get("address_line1"),
                line2: get("address_line2"),
                city: get("city"),
                region: get("region"),
                postal_code: get("postal_code"),
                country: get("country"),
            },
            national_id: get("national_id"),
            language,
            ..Default::default()
        };
        let extras = RowExtras {
            guarantor_external_id: get("guarantor_external_id"),
            status,
        };
        (input, extras)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn open_dental_rows_are_read() {
        let headers = s(&[
            "PatNum",
            "LName",
            "FName",
            "Birthdate",
            "Gender",
            "WirelessPhone",
            "Guarantor",
            "PatStatus",
            "SSN",
        ]);
        let m = Mapping::detect(&headers);
        assert_eq!(m.codes, "opendental");
        assert!(m.check(&headers).is_ok());
        let idx = m.indexes(&headers);
        let (p, x) = m.row(
            &idx,
            &s(&[
                "17",
                "Tremblay",
                "Zoé",
                "03/27/1984",
                "1",
                "(802) 555-0143",
                "12",
                "2",
                "123-45-6789",
            ]),
        );
        assert_eq!(p.external_id, "17");
        assert_eq!(p.birth_date, "1984-03-27");
        assert_eq!(p.sex, "female");
        assert_eq!(p.phones[0].kind, "mobile");
        assert_eq!(x.guarantor_external_id, "12");
        assert_eq!(x.status, Some(PatientStatus::Inactive));
        let (p, _) = m.row(
            &idx,
            &s(&["18", "Roy", "Luc", "0001-01-01", "0", "", "18", "0", ""]),
        );
        assert_eq!(p.birth_date, "", "Open Dental's unknown date stays empty");
        assert_eq!(p.sex, "male");
        // A short row: missing columns are empty, not a panic.
        let (p, _) = m.row(&idx, &s(&["19", "Côté"]));
        assert_eq!(p.given_name, "");
    }

    #[test]
    fn day_first_and_generic_names() {
        let headers = s(&["family_name", "given_name", "birth_date", "sex"]);
        let mut m = Mapping::detect(&headers);
        assert_eq!(m.codes, "");
        m.day_first = true;
        let (p, _) = m.row(
            &m.indexes(&headers),
            &s(&["Roy", "Anne", "27/03/1984", "F"]),
        );
        assert_eq!(p.birth_date, "1984-03-27");
        assert_eq!(p.sex, "female");
    }

    #[test]
    fn a_bad_mapping_is_explained() {
        let headers = s(&["Surname", "First"]);
        let errs = generic().check(&headers).unwrap_err();
        assert!(errs.iter().any(|e| e.contains("family_name")), "{errs:?}");
        let mut m = Mapping::default();
        m.columns.insert("shoe_size".into(), "Surname".into());
        let errs = m.check(&headers).unwrap_err();
        assert!(
            errs.iter().any(|e| e.contains("unknown target")),
            "{errs:?}"
        );
        assert!(
            errs.iter()
                .any(|e| e.contains("no column is mapped to birth_date")),
            "{errs:?}"
        );
    }
}
