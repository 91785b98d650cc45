//! A provider's professional profile: licence, NPI (or another country's provider number),
//! specialty and agenda colour, with the checks an office manager would expect.

use crate::FieldError;

/// Dental specialties (ADA-recognised, plus general dentistry and hygiene).
pub const SPECIALTIES: &[&str] = &[
    "general_dentistry",
    "dental_hygiene",
    "orthodontics",
    "endodontics",
    "periodontics",
    "prosthodontics",
    "oral_surgery",
    "pediatric_dentistry",
    "oral_medicine",
    "dental_anesthesiology",
    "orofacial_pain",
    "oral_pathology",
    "oral_radiology",
    "dental_public_health",
];

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProviderProfile {
    pub licence_number: String,
    /// A US NPI (10 digits, checked) or another country's provider number.
    pub npi: String,
    pub specialty: String,
    /// The agenda colour, `#rrggbb`.
    pub color: String,
}

impl ProviderProfile {
    /// Trimmed, colour lower-cased; every problem at once.
    pub fn normalized(&self) -> Result<ProviderProfile, Vec<FieldError>> {
        let p = ProviderProfile {
            licence_number: self.licence_number.trim().to_string(),
            npi: self.npi.trim().replace([' ', '-'], ""),
            specialty: self.specialty.trim().to_string(),
            color: self.color.trim().to_lowercase(),
        };
        let mut errors = Vec::new();
        let mut bad = |field: &str, message: &str| {
            errors.push(FieldError {
                field: field.into(),
                message: message.into(),
            })
        };
        if p.licence_number.chars().count() > 40 {
            bad("licence_number", "must be at most 40 characters");
        }
        if !p.npi.is_empty() {
            if p.npi.len() == 10 && p.npi.chars().all(|c| c.is_ascii_digit()) {
                if !npi_check_digit_ok(&p.npi) {
                    bad(
                        "npi",
                        "is not a valid NPI: its check digit does not match (look for a typo)",
                    );
                }
            } else if p.npi.len() > 20 || !p.npi.chars().all(|c| c.is_ascii_alphanumeric()) {
                bad(
                    "npi",
                    "must be a 10-digit NPI or a provider number of letters and digits (at most 20)",
                );
            }
        }
        if !SPECIALTIES.contains(&p.specialty.as_str()) {
            bad("specialty", "choose a specialty from the list");
        }
        let hex = p.color.strip_prefix('#').unwrap_or("");
        if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            bad("color", "must be a colour such as #2a9d8f");
        }
        if errors.is_empty() {
            Ok(p)
        } else {
            Err(errors)
        }
    }
}

/// The NPI check digit: Luhn over the 9 digits prefixed with the card issuer prefix 80840.
pub fn npi_check_digit_ok(npi: &str) -> bool {
    let digits: Vec<u32> = npi.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != 10 {
        return false;
    }
    // Luhn over "80840" + the first 9 digits; the sum of the prefix's doubled digits is 24.
    let mut sum = 24;
    for (i, d) in digits[..9].iter().rev().enumerate() {
        sum += if i % 2 == 0 {
            let x = d * 2;
            if x > 9 { x - 9 } else { x }
        } else {
            *d
        };
    }
    (10 - sum % 10) % 10 == digits[9]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npi_check_digits() {
        // The example in CMS's NPI check-digit note.
        assert!(npi_check_digit_ok("1234567893"));
        assert!(!npi_check_digit_ok("1234567890"));
        assert!(!npi_check_digit_ok("123456789"));
    }

    #[test]
    fn profiles_are_checked_field_by_field() {
        let ok = ProviderProfile {
            licence_number: " VT-DDS-0421 ".into(),
            npi: "1234 567 893".into(),
            specialty: "general_dentistry".into(),
            color: "#2A9D8F".into(),
        }
        .normalized()
        .unwrap();
        assert_eq!(ok.npi, "1234567893");
        assert_eq!(ok.color, "#2a9d8f");
        assert_eq!(ok.licence_number, "VT-DDS-0421");
        let canada = ProviderProfile {
            npi: "QC12345".into(),
            specialty: "orthodontics".into(),
            color: "#000000".into(),
            ..ProviderProfile::default()
        };
        assert!(canada.normalized().is_ok(), "another country's number");
        let bad = ProviderProfile {
            licence_number: "x".repeat(41),
            npi: "1234567890".into(),
            specialty: "astrology".into(),
            color: "teal".into(),
        }
        .normalized()
        .unwrap_err();
        let fields: Vec<_> = bad.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["licence_number", "npi", "specialty", "color"]);
    }
}
