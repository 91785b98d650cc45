#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Typed phone numbers to E.164, and masking.

use messaging::{PhoneError, mask_phone, normalize_phone};

#[test]
fn north_american_numbers_with_punctuation() {
    for typed in [
        "(555) 123-4567",
        "555.123.4567",
        "555 123 4567",
        "1-555-123-4567",
        "+1 (555) 123-4567",
        "  5551234567 ",
        "011 1 555 123 4567",
    ] {
        assert_eq!(
            normalize_phone(typed, "1").as_deref(),
            Ok("+15551234567"),
            "{typed:?}"
        );
    }
    assert_eq!(
        normalize_phone("+44 (0)20 7946 0958", "1").as_deref(),
        Ok("+442079460958")
    );
    // "+1" as the default works as well as "1".
    assert_eq!(
        normalize_phone("555-123-4567", "+1").as_deref(),
        Ok("+15551234567")
    );
}

#[test]
fn french_numbers() {
    for (typed, default) in [
        ("+33 6 12 34 56 78", "1"),
        ("0033 6 12 34 56 78", "1"),
        ("00 33 6 12 34 56 78", "44"),
        ("06 12 34 56 78", "33"),
        ("06.12.34.56.78", "33"),
        ("+33 (0)6 12 34 56 78", "1"),
    ] {
        assert_eq!(
            normalize_phone(typed, default).as_deref(),
            Ok("+33612345678"),
            "{typed:?} with default {default}"
        );
    }
}

#[test]
fn bad_numbers_are_refused_with_a_reason() {
    assert_eq!(normalize_phone("12345", "33"), Err(PhoneError::TooShort(7)));
    assert_eq!(
        normalize_phone("555-1234", "1"),
        Err(PhoneError::TooShort(7))
    );
    assert_eq!(
        normalize_phone("+33 12 34", "1"),
        Err(PhoneError::TooShort(6))
    );
    assert_eq!(
        normalize_phone("+1 555 123 4567 8901 23", "1"),
        Err(PhoneError::TooLong(17))
    );
    assert_eq!(normalize_phone("", "1"), Err(PhoneError::Empty));
    assert_eq!(normalize_phone(" - ( ) ", "1"), Err(PhoneError::Empty));
    assert_eq!(
        normalize_phone("+0 555 123 4567", "1"),
        Err(PhoneError::InvalidCountryCode)
    );
    assert_eq!(
        normalize_phone("555+1234567", "1"),
        Err(PhoneError::MisplacedPlus)
    );
    assert_eq!(
        normalize_phone("555#1234567", "1"),
        Err(PhoneError::InvalidCharacter('#'))
    );
    assert_eq!(
        normalize_phone("44 20 7946 0958", "1"),
        Err(PhoneError::MissingCountryCode)
    );
    assert_eq!(
        normalize_phone("5551234567", "abc"),
        Err(PhoneError::InvalidDefaultCountryCode("abc".into()))
    );

    let letters = normalize_phone("1-800-FLOWERS", "1").unwrap_err();
    assert_eq!(letters, PhoneError::Letters('F'));
    let shown = letters.to_string();
    assert!(shown.contains("cannot contain letters"), "{shown}");
    assert!(shown.contains("'F'"), "{shown}");
    assert_eq!(
        normalize_phone("555 123 4567 ext 12", "1"),
        Err(PhoneError::Letters('e'))
    );
}

#[test]
fn masks_keep_only_the_country_code_and_last_digits() {
    assert_eq!(mask_phone("+15551234567"), "+1 ••• ••• 4567");
    assert_eq!(mask_phone("+33612345678"), "+33 ••• ••• 5678");
    assert_eq!(mask_phone("+351912345678"), "+351 ••• ••• 5678");
    assert_eq!(mask_phone("555 123 4567"), "••• ••• 4567");
    assert_eq!(mask_phone("1234"), "•••");
    assert_eq!(mask_phone(""), "•••");
    for number in ["+15551234567", "+33612345678"] {
        let masked = mask_phone(number);
        assert!(
            !masked.contains(&number[3..8]),
            "{masked} shows the middle of {number}"
        );
    }
}
