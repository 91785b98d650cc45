//! Phone numbers: typed input to E.164, and masking for logs and screens.

/// Why a typed phone number could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("the phone number is empty")]
    Empty,
    #[error("a phone number cannot contain letters (found '{0}'); write digits only")]
    Letters(char),
    #[error("unexpected character '{0}' in the phone number")]
    InvalidCharacter(char),
    #[error("'+' may only start a phone number")]
    MisplacedPlus,
    #[error("the phone number is too short ({0} digits)")]
    TooShort(usize),
    #[error("the phone number is too long ({0} digits; at most 15 with the country code)")]
    TooLong(usize),
    #[error("no country calling code starts with 0")]
    InvalidCountryCode,
    #[error(
        "the number is not a local one: add its country code with a leading + (e.g. +44 20 7946 0958)"
    )]
    MissingCountryCode,
    #[error("the default country calling code must be 1 to 3 digits, not \"{0}\"")]
    InvalidDefaultCountryCode(String),
}

/// Reads a typed phone number into E.164 (`+` and 8 to 15 digits).
///
/// Spaces, dashes, dots and parentheses are ignored. A number starting with `+` or `00` is
/// international (a bracketed trunk `(0)` after its country code is dropped). Otherwise it is a national number of `default_country_calling_code`
/// (`"1"`, `"33"`, with or without `+`): for `1`, ten digits (or eleven starting with 1), and
/// `011` also opens an international number; elsewhere one leading trunk `0` is dropped
/// (`06 12 34 56 78` in France is `+33612345678`), except in Italy, San Marino and the Vatican,
/// where the 0 is part of the number.
pub fn normalize_phone(
    input: &str,
    default_country_calling_code: &str,
) -> Result<String, PhoneError> {
    let cc = default_country_calling_code.trim();
    let cc = cc.strip_prefix('+').unwrap_or(cc);
    if cc.is_empty()
        || cc.len() > 3
        || !cc.bytes().all(|b| b.is_ascii_digit())
        || cc.starts_with('0')
    {
        return Err(PhoneError::InvalidDefaultCountryCode(
            default_country_calling_code.to_string(),
        ));
    }

    let input = input.trim();
    if input.is_empty() {
        return Err(PhoneError::Empty);
    }
    // "+44 (0)20 7946 0958": the bracketed trunk 0 is dialled only from inside the country.
    let input = if input.starts_with('+') || input.starts_with("00") {
        input.replacen("(0)", "", 1)
    } else {
        input.to_string()
    };
    let mut digits = String::with_capacity(input.len());
    let mut plus = false;
    for c in input.chars() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if digits.is_empty() && !plus => plus = true,
            '+' => return Err(PhoneError::MisplacedPlus),
            '-' | '.' | '(' | ')' => {}
            c if c.is_whitespace() => {}
            c if c.is_alphabetic() => return Err(PhoneError::Letters(c)),
            c => return Err(PhoneError::InvalidCharacter(c)),
        }
    }
    if digits.is_empty() {
        return Err(PhoneError::Empty);
    }

    let international = if plus {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_string()
    } else if let (Some(rest), "1") = (digits.strip_prefix("011"), cc) {
        rest.to_string()
    } else {
        national(cc, &digits)?
    };

    if international.starts_with('0') {
        return Err(PhoneError::InvalidCountryCode);
    }
    match international.len() {
        n if n < 8 => Err(PhoneError::TooShort(n)),
        n if n > 15 => Err(PhoneError::TooLong(n)),
        _ => Ok(format!("+{international}")),
    }
}

/// A national number with its country code in front (digits only, no `+`).
fn national(cc: &str, digits: &str) -> Result<String, PhoneError> {
    if cc == "1" {
        return match digits.len() {
            10 => Ok(format!("1{digits}")),
            11 if digits.starts_with('1') => Ok(digits.to_string()),
            n if n < 10 => Err(PhoneError::TooShort(n)),
            _ => Err(PhoneError::MissingCountryCode),
        };
    }
    let keeps_trunk_zero = matches!(cc, "39" | "378" | "379");
    let rest = match digits.strip_prefix('0') {
        Some(rest) if !keeps_trunk_zero => rest,
        _ => digits,
    };
    Ok(format!("{cc}{rest}"))
}

/// True for `+` followed by 8 to 15 digits, the first not 0.
pub fn is_e164(s: &str) -> bool {
    s.strip_prefix('+').is_some_and(|d| {
        (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
    })
}

/// A phone number safe to log or show: the country code and the last four digits, e.g.
/// `+15551234567` → `+1 ••• ••• 4567`, `+33612345678` → `+33 ••• ••• 5678`. A number without
/// `+` keeps only its last four digits; one of four digits or fewer shows none.
pub fn mask_phone(phone: &str) -> String {
    const HIDDEN: &str = "••• •••";
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    if digits.len() <= 4 {
        return "•••".to_string();
    }
    let last = &digits[digits.len() - 4..];
    if phone.trim_start().starts_with('+') {
        let cc = calling_code_len(&digits);
        if digits.len() > cc + 4 {
            return format!("+{} {HIDDEN} {last}", &digits[..cc]);
        }
    }
    format!("{HIDDEN} {last}")
}

/// The length of the country calling code at the start of an international number (ITU-T
/// E.164 assignments: 1 and 7 have one digit, the listed two-digit codes two, all others three).
fn calling_code_len(digits: &str) -> usize {
    const TWO_DIGITS: &[&str] = &[
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
        "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
        "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
    ];
    if digits.starts_with('1') || digits.starts_with('7') {
        1
    } else if TWO_DIGITS.iter().any(|p| digits.starts_with(p)) {
        2
    } else {
        3
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calling_code_lengths() {
        assert_eq!(calling_code_len("15551234567"), 1);
        assert_eq!(calling_code_len("74951234567"), 1);
        assert_eq!(calling_code_len("33612345678"), 2);
        assert_eq!(calling_code_len("447911123456"), 2);
        assert_eq!(calling_code_len("351912345678"), 3);
        assert_eq!(calling_code_len("353851234567"), 3);
    }

    #[test]
    fn e164_check() {
        assert!(is_e164("+15551234567"));
        assert!(is_e164("+33612345678"));
        assert!(!is_e164("15551234567"));
        assert!(!is_e164("+1 555 123 4567"));
        assert!(!is_e164("+0123456789"));
        assert!(!is_e164("+1234567"));
        assert!(!is_e164("+1234567890123456"));
    }

    #[test]
    fn trunk_zero_is_kept_in_italy() {
        assert_eq!(
            normalize_phone("06 1234 5678", "39").as_deref(),
            Ok("+390612345678")
        );
        assert_eq!(
            normalize_phone("020 7946 0958", "44").as_deref(),
            Ok("+442079460958")
        );
    }
}
