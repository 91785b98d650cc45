//! Patients: what the front desk registers (names, birth date, contacts, identifiers), its
//! checks, and the keys that make a patient findable by a misspelled name or a phone number
//! typed any way ([`search`]). The medical history is in [`history`], the CSV import's column
//! mapping in [`import`], the shipped ICD-10-CM list in [`icd10`].

pub mod history;
pub mod icd10;
pub mod import;
pub mod search;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::kernel::phone::normalize_phone;
use crate::{Address, FieldError};

/// A record's status. Records are never deleted: they are made inactive, archived, marked
/// deceased, or merged into another record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatientStatus {
    Active,
    Inactive,
    Archived,
    Deceased,
    /// Merged into another record (kept for the merge to be undone and for the audit trail).
    Merged,
}

impl PatientStatus {
    pub const CHOOSABLE: [PatientStatus; 4] = [
        PatientStatus::Active,
        PatientStatus::Inactive,
        PatientStatus::Archived,
        PatientStatus::Deceased,
    ];

    pub fn code(self) -> &'static str {
        match self {
            PatientStatus::Active => "active",
            PatientStatus::Inactive => "inactive",
            PatientStatus::Archived => "archived",
            PatientStatus::Deceased => "deceased",
            PatientStatus::Merged => "merged",
        }
    }

    pub fn from_code(s: &str) -> Option<PatientStatus> {
        [
            PatientStatus::Active,
            PatientStatus::Inactive,
            PatientStatus::Archived,
            PatientStatus::Deceased,
            PatientStatus::Merged,
        ]
        .into_iter()
        .find(|x| x.code() == s)
    }
}

/// Administrative sex (as FHIR's AdministrativeGender). Gender identity is free text next to it.
pub const SEXES: &[&str] = &["female", "male", "other", "unknown"];

/// Phone kinds.
pub const PHONE_KINDS: &[&str] = &["mobile", "home", "work"];

/// Where patients hear of the practice (the front desk picks one; "other" takes free text).
pub const REFERRAL_SOURCES: &[&str] = &[
    "patient",
    "dentist",
    "physician",
    "insurance",
    "website",
    "social_media",
    "walk_in",
    "sign",
    "other",
];

/// A phone number of a patient, stored in E.164.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phone {
    pub kind: String,
    pub number: String,
    /// The patient agreed to text messages on this number.
    #[serde(default)]
    pub sms_consent: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmergencyContact {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub relationship: String,
    /// E.164 once validated.
    #[serde(default)]
    pub phone: String,
}

impl EmergencyContact {
    pub fn is_empty(&self) -> bool {
        self.name.is_empty() && self.relationship.is_empty() && self.phone.is_empty()
    }
}

/// What is typed for a patient (a form, the API, an import row). [`PatientInput::validate`]
/// turns it into a [`PatientDetails`] or lists every problem at once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PatientInput {
    pub given_name: String,
    pub family_name: String,
    pub middle_name: String,
    pub preferred_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    pub sex: String,
    pub gender_identity: String,
    pub pronouns: String,
    /// `en`, `fr`, or another BCP 47 language tag.
    pub language: String,
    pub phones: Vec<Phone>,
    pub email: String,
    pub email_consent: bool,
    pub address: Address,
    pub emergency_contact: EmergencyContact,
    pub referral_source: String,
    pub referral_detail: String,
    /// SSN, NIR, SIN, health card number: encrypted at rest.
    pub national_id: String,
    /// Another system's id (an import's patient number), to make re-imports idempotent.
    pub external_id: String,
    /// Answers to the organization's custom fields, by key.
    pub custom: std::collections::BTreeMap<String, String>,
}

/// A validated patient: trimmed, phones in E.164, email lower-cased, birth date parsed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientDetails {
    pub given_name: String,
    pub family_name: String,
    pub middle_name: String,
    pub preferred_name: String,
    pub birth_date: Date,
    pub sex: String,
    pub gender_identity: String,
    pub pronouns: String,
    pub language: String,
    pub phones: Vec<Phone>,
    pub email: String,
    pub email_consent: bool,
    pub address: Address,
    pub emergency_contact: EmergencyContact,
    pub referral_source: String,
    pub referral_detail: String,
    pub national_id: String,
    pub external_id: String,
    pub custom: std::collections::BTreeMap<String, String>,
}

impl PatientDetails {
    /// "Family, Given (Preferred)" for lists.
    pub fn display_name(&self) -> String {
        display_name(&self.given_name, &self.family_name, &self.preferred_name)
    }

    /// Years completed on `today`.
    pub fn age_on(&self, today: Date) -> i64 {
        age_on(self.birth_date, today)
    }

    /// Back to an input (the edit form starts from it).
    pub fn to_input(&self) -> PatientInput {
        PatientInput {
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            middle_name: self.middle_name.clone(),
            preferred_name: self.preferred_name.clone(),
            birth_date: self.birth_date.to_string(),
            sex: self.sex.clone(),
            gender_identity: self.gender_identity.clone(),
            pronouns: self.pronouns.clone(),
            language: self.language.clone(),
            phones: self.phones.clone(),
            email: self.email.clone(),
            email_consent: self.email_consent,
            address: self.address.clone(),
            emergency_contact: self.emergency_contact.clone(),
            referral_source: self.referral_source.clone(),
            referral_detail: self.referral_detail.clone(),
            national_id: self.national_id.clone(),
            external_id: self.external_id.clone(),
            custom: self.custom.clone(),
        }
    }
}

/// "Family, Given (Preferred)".
pub fn display_name(given: &str, family: &str, preferred: &str) -> String {
    let mut s = format!("{family}, {given}");
    if !preferred.is_empty() && preferred != given {
        s.push_str(&format!(" ({preferred})"));
    }
    s
}

/// Years completed on `today`.
pub fn age_on(birth: Date, today: Date) -> i64 {
    let mut years = i64::from(today.year()) - i64::from(birth.year());
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years
}

/// The oldest birth date accepted: nobody alive was born before 1900.
pub const EARLIEST_BIRTH_YEAR: i16 = 1900;

/// Reads a birth date (`YYYY-MM-DD`) and checks it is a real date, not in the future and not
/// before 1900.
pub fn parse_birth_date(s: &str, today: Date) -> Result<Date, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("is required".into());
    }
    let date = parse_iso_date(s)
        .ok_or_else(|| format!("\"{s}\" is not a date: write it as YYYY-MM-DD, e.g. 1984-03-27"))?;
    if date > today {
        return Err(format!("{date} is in the future"));
    }
    if date.year() < EARLIEST_BIRTH_YEAR {
        return Err(format!(
            "{date} is before {EARLIEST_BIRTH_YEAR}: check the year"
        ));
    }
    Ok(date)
}

/// `YYYY-MM-DD` with a real month and day (2023-02-29 is refused).
pub fn parse_iso_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i16> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let y = num(0..4)?;
    let m = i8::try_from(num(5..7)?).ok()?;
    let d = i8::try_from(num(8..10)?).ok()?;
    Date::new(y, m, d).ok()
}

/// A plausible email address: one `@`, something before it, a dotted domain after it, no
/// spaces, at most 254 characters. Lower-cased.
pub fn normalize_email(s: &str) -> Result<String, String> {
    let e = s.trim().to_lowercase();
    if e.chars().count() > 254 {
        return Err("is too long (at most 254 characters)".into());
    }
    let Some((local, domain)) = e.split_once('@') else {
        return Err(format!("\"{e}\" is not an email address (it has no @)"));
    };
    let ok_domain = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
    if local.is_empty()
        || domain.contains('@')
        || e.chars().any(|c| c.is_whitespace() || c.is_control())
        || !ok_domain
    {
        return Err(format!("\"{e}\" is not an email address"));
    }
    Ok(e)
}

fn clean(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn check_text(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        errors.push(FieldError {
            field: field.into(),
            message: format!("must be at most {max} characters"),
        });
    }
    if value.chars().any(|c| c.is_control()) {
        errors.push(FieldError {
            field: field.into(),
            message: "must not contain control characters".into(),
        });
    }
}

impl PatientInput {
    /// Checks everything and returns every problem at once, one message per field.
    /// `default_calling_code` reads national phone numbers (`"1"` in North America, `"33"` in
    /// France): the clinic's country.
    pub fn validate(
        &self,
        today: Date,
        default_calling_code: &str,
    ) -> Result<PatientDetails, Vec<FieldError>> {
        let mut errors = Vec::new();
        let bad = |errors: &mut Vec<FieldError>, field: &str, message: String| {
            errors.push(FieldError {
                field: field.into(),
                message,
            })
        };
        let given_name = clean(&self.given_name);
        let family_name = clean(&self.family_name);
        if given_name.is_empty() {
            bad(&mut errors, "given_name", "is required".into());
        }
        if family_name.is_empty() {
            bad(&mut errors, "family_name", "is required".into());
        }
        let middle_name = clean(&self.middle_name);
        let preferred_name = clean(&self.preferred_name);
        for (f, v) in [
            ("given_name", &given_name),
            ("family_name", &family_name),
            ("middle_name", &middle_name),
            ("preferred_name", &preferred_name),
        ] {
            check_text(&mut errors, f, v, 100);
        }
        let birth_date = match parse_birth_date(&self.birth_date, today) {
            Ok(d) => Some(d),
            Err(m) => {
                bad(&mut errors, "birth_date", m);
                None
            }
        };
        let sex = self.sex.trim().to_lowercase();
        let sex = if sex.is_empty() {
            "unknown".into()
        } else {
            sex
        };
        if !SEXES.contains(&sex.as_str()) {
            bad(
                &mut errors,
                "sex",
                format!("must be one of {}", SEXES.join(", ")),
            );
        }
        let gender_identity = clean(&self.gender_identity);
        check_text(&mut errors, "gender_identity", &gender_identity, 60);
        let pronouns = clean(&self.pronouns);
        check_text(&mut errors, "pronouns", &pronouns, 30);
        let language = self.language.trim().to_lowercase();
        let language = if language.is_empty() {
            "en".into()
        } else {
            language
        };
        if language.len() > 12
            || !language
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            bad(
                &mut errors,
                "language",
                "must be a language code such as en or fr".into(),
            );
        }
        let mut phones: Vec<Phone> = Vec::new();
        for (i, p) in self.phones.iter().enumerate() {
            if p.number.trim().is_empty() {
                continue;
            }
            let field = if i == 0 {
                "phone".to_string()
            } else {
                format!("phones[{i}]")
            };
            let kind = p.kind.trim().to_lowercase();
            let kind = if kind.is_empty() {
                "mobile".to_string()
            } else {
                kind
            };
            if !PHONE_KINDS.contains(&kind.as_str()) {
                bad(
                    &mut errors,
                    &field,
                    format!("kind must be one of {}", PHONE_KINDS.join(", ")),
                );
                continue;
            }
            match normalize_phone(&p.number, default_calling_code) {
                Ok(number) => {
                    if phones.iter().any(|q| q.number == number) {
                        continue;
                    }
                    phones.push(Phone {
                        kind,
                        number,
                        sms_consent: p.sms_consent,
                    })
                }
                Err(e) => bad(&mut errors, &field, e.to_string()),
            }
        }
        let email = if self.email.trim().is_empty() {
            String::new()
        } else {
            match normalize_email(&self.email) {
                Ok(e) => e,
                Err(m) => {
                    bad(&mut errors, "email", m);
                    String::new()
                }
            }
        };
        let address = Address {
            line1: clean(&self.address.line1),
            line2: clean(&self.address.line2),
            city: clean(&self.address.city),
            region: clean(&self.address.region),
            postal_code: clean(&self.address.postal_code).to_uppercase(),
            country: self.address.country.trim().to_uppercase(),
        };
        for (f, v, max) in [
            ("address.line1", &address.line1, 120),
            ("address.line2", &address.line2, 120),
            ("address.city", &address.city, 80),
            ("address.region", &address.region, 80),
            ("address.postal_code", &address.postal_code, 20),
        ] {
            check_text(&mut errors, f, v, max);
        }
        if !address.country.is_empty()
            && (address.country.len() != 2
                || !address.country.chars().all(|c| c.is_ascii_uppercase()))
        {
            bad(
                &mut errors,
                "address.country",
                "must be a two-letter country code (US, CA, FR)".into(),
            );
        }
        let mut emergency_contact = EmergencyContact {
            name: clean(&self.emergency_contact.name),
            relationship: clean(&self.emergency_contact.relationship),
            phone: String::new(),
        };
        check_text(
            &mut errors,
            "emergency_contact.name",
            &emergency_contact.name,
            120,
        );
        check_text(
            &mut errors,
            "emergency_contact.relationship",
            &emergency_contact.relationship,
            40,
        );
        if !self.emergency_contact.phone.trim().is_empty() {
            match normalize_phone(&self.emergency_contact.phone, default_calling_code) {
                Ok(n) => emergency_contact.phone = n,
                Err(e) => bad(&mut errors, "emergency_contact.phone", e.to_string()),
            }
        }
        let referral_source = self.referral_source.trim().to_lowercase();
        if !referral_source.is_empty() && !REFERRAL_SOURCES.contains(&referral_source.as_str()) {
            bad(
                &mut errors,
                "referral_source",
                format!("must be one of {}", REFERRAL_SOURCES.join(", ")),
            );
        }
        let referral_detail = clean(&self.referral_detail);
        check_text(&mut errors, "referral_detail", &referral_detail, 200);
        let national_id = clean(&self.national_id);
        check_text(&mut errors, "national_id", &national_id, 40);
        let external_id = self.external_id.trim().to_string();
        check_text(&mut errors, "external_id", &external_id, 64);
        let mut custom = std::collections::BTreeMap::new();
        for (k, v) in &self.custom {
            let v = clean(v);
            check_text(&mut errors, &format!("custom.{k}"), &v, 500);
            if !v.is_empty() {
                custom.insert(k.clone(), v);
            }
        }
        match birth_date {
            Some(birth_date) if errors.is_empty() => Ok(PatientDetails {
                given_name,
                family_name,
                middle_name,
                preferred_name,
                birth_date,
                sex,
                gender_identity,
                pronouns,
                language,
                phones,
                email,
                email_consent: self.email_consent,
                address,
                emergency_contact,
                referral_source,
                referral_detail,
                national_id,
                external_id,
                custom,
            }),
            _ => Err(errors),
        }
    }
}

/// The national identifier as compared for duplicates (digits and letters, upper-cased).
pub fn national_id_key(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect()
}

/// The country calling code for a clinic's country, for reading national phone numbers.
pub fn calling_code_for(country: &str) -> &'static str {
    match country.trim().to_uppercase().as_str() {
        "FR" | "MC" => "33",
        "BE" => "32",
        "CH" => "41",
        "LU" => "352",
        "GB" => "44",
        "IE" => "353",
        "DE" => "49",
        "ES" => "34",
        "IT" => "39",
        "PT" => "351",
        "NL" => "31",
        "AU" => "61",
        "NZ" => "64",
        "MA" => "212",
        "TN" => "216",
        "DZ" => "213",
        "SN" => "221",
        "CI" => "225",
        "MX" => "52",
        "BR" => "55",
        _ => "1",
    }
}

/// A custom field an organization defines for its patients.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomField {
    pub key: String,
    pub label: String,
    /// `text`, `number`, `date` or `choice`.
    pub kind: String,
    #[serde(default)]
    pub choices: Vec<String>,
    #[serde(default)]
    pub required: bool,
}

pub const CUSTOM_FIELD_KINDS: &[&str] = &["text", "number", "date", "choice"];

impl CustomField {
    /// Checks one answer against the field's kind.
    pub fn check(&self, value: &str) -> Result<(), String> {
        let v = value.trim();
        if v.is_empty() {
            return if self.required {
                Err("is required".into())
            } else {
                Ok(())
            };
        }
        match self.kind.as_str() {
            "number" if v.parse::<f64>().is_err() => Err(format!("\"{v}\" is not a number")),
            "date" if parse_iso_date(v).is_none() => {
                Err(format!("\"{v}\" is not a date (YYYY-MM-DD)"))
            }
            "choice" if !self.choices.iter().any(|c| c == v) => {
                Err(format!("must be one of {}", self.choices.join(", ")))
            }
            _ => Ok(()),
        }
    }

    /// A definition's own checks: a key of lower-case letters, digits and `_`.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.key.is_empty()
            || self.key.len() > 40
            || !self
                .key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            errors.push(FieldError {
                field: "key".into(),
                message: "must be 1 to 40 lower-case letters, digits or _".into(),
            });
        }
        if self.label.trim().is_empty() || self.label.chars().count() > 80 {
            errors.push(FieldError {
                field: "label".into(),
                message: "must be 1 to 80 characters".into(),
            });
        }
        if !CUSTOM_FIELD_KINDS.contains(&self.kind.as_str()) {
            errors.push(FieldError {
                field: "kind".into(),
                message: format!("must be one of {}", CUSTOM_FIELD_KINDS.join(", ")),
            });
        }
        if self.kind == "choice" && self.choices.is_empty() {
            errors.push(FieldError {
                field: "choices".into(),
                message: "a choice field needs at least one choice".into(),
            });
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests;
