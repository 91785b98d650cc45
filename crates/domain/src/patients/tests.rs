use super::*;

fn today() -> Date {
    Date::new(2026, 11, 23).unwrap()
}

fn valid() -> PatientInput {
    PatientInput {
        given_name: "  Zoé ".into(),
        family_name: "Tremblay   Roy".into(),
        birth_date: "1984-03-27".into(),
        phones: vec![Phone {
            kind: "mobile".into(),
            number: "(802) 555-0143".into(),
            sms_consent: true,
        }],
        email: " Zoe@Example.COM ".into(),
        ..Default::default()
    }
}

#[test]
fn a_valid_patient_is_cleaned() {
    let p = valid().validate(today(), "1").unwrap();
    assert_eq!(p.given_name, "Zoé");
    assert_eq!(p.family_name, "Tremblay Roy");
    assert_eq!(p.birth_date, Date::new(1984, 3, 27).unwrap());
    assert_eq!(p.phones[0].number, "+18025550143");
    assert!(p.phones[0].sms_consent);
    assert_eq!(p.email, "zoe@example.com");
    assert_eq!(p.sex, "unknown");
    assert_eq!(p.language, "en");
    assert_eq!(p.age_on(today()), 42);
    assert_eq!(p.display_name(), "Tremblay Roy, Zoé");
    // Round trip through the edit form.
    assert_eq!(p.to_input().validate(today(), "1").unwrap(), p);
}

#[test]
fn every_bad_field_is_named_and_nothing_passes() {
    let mut i = valid();
    i.given_name = " ".into();
    i.birth_date = "2027-01-01".into();
    i.email = "zoe@".into();
    i.phones[0].number = "555-CALL".into();
    i.sex = "robot".into();
    i.address.country = "USA".into();
    i.emergency_contact.phone = "12".into();
    let errs = i.validate(today(), "1").unwrap_err();
    let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    for f in [
        "given_name",
        "birth_date",
        "email",
        "phone",
        "sex",
        "address.country",
        "emergency_contact.phone",
    ] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
    assert!(errs.iter().any(|e| e.message.contains("in the future")));
}

#[test]
fn birth_dates() {
    let t = today();
    assert!(
        parse_birth_date("2023-02-29", t).is_err(),
        "not a leap year"
    );
    assert!(parse_birth_date("2024-02-29", t).is_ok());
    assert!(
        parse_birth_date("1899-12-31", t)
            .unwrap_err()
            .contains("1900")
    );
    assert!(
        parse_birth_date("27/03/1984", t)
            .unwrap_err()
            .contains("YYYY-MM-DD")
    );
    assert!(parse_birth_date("", t).unwrap_err().contains("required"));
    assert!(parse_birth_date("2026-11-23", t).is_ok(), "born today");
    assert!(parse_birth_date("2026-11-24", t).is_err());
    assert_eq!(
        age_on(
            Date::new(2000, 2, 29).unwrap(),
            Date::new(2001, 2, 28).unwrap()
        ),
        0
    );
    assert_eq!(
        age_on(
            Date::new(2000, 2, 29).unwrap(),
            Date::new(2001, 3, 1).unwrap()
        ),
        1
    );
}

#[test]
fn emails() {
    assert_eq!(
        normalize_email("A.B+c@Clinic.Example").unwrap(),
        "a.b+c@clinic.example"
    );
    for bad in [
        "plain", "a@b", "a b@c.d", "@c.d", "a@@c.d", "a@c..d", "a@.c.d",
    ] {
        assert!(normalize_email(bad).is_err(), "{bad}");
    }
}

#[test]
fn french_numbers_read_with_the_clinics_country() {
    let mut i = valid();
    i.phones[0].number = "06 12 34 56 78".into();
    let p = i.validate(today(), calling_code_for("FR")).unwrap();
    assert_eq!(p.phones[0].number, "+33612345678");
    assert_eq!(calling_code_for("ca"), "1");
}

#[test]
fn duplicate_phones_are_kept_once() {
    let mut i = valid();
    i.phones.push(Phone {
        kind: "home".into(),
        number: "802-555-0143".into(),
        sms_consent: false,
    });
    i.phones.push(Phone::default());
    assert_eq!(i.validate(today(), "1").unwrap().phones.len(), 1);
}

#[test]
fn custom_fields() {
    let f = CustomField {
        key: "school".into(),
        label: "School".into(),
        kind: "choice".into(),
        choices: vec!["North".into(), "South".into()],
        required: true,
    };
    assert!(f.validate().is_ok());
    assert!(f.check("North").is_ok());
    assert!(f.check("East").is_err());
    assert!(f.check("").is_err());
    let bad = CustomField {
        key: "School Name".into(),
        label: String::new(),
        kind: "colour".into(),
        choices: vec![],
        required: false,
    };
    assert_eq!(bad.validate().unwrap_err().len(), 3);
    let n = CustomField {
        kind: "number".into(),
        choices: vec![],
        ..f
    };
    assert!(n.check("12.5").is_ok());
    assert!(n.check("twelve").is_err());
}

#[test]
fn statuses_round_trip() {
    for s in PatientStatus::CHOOSABLE {
        assert_eq!(PatientStatus::from_code(s.code()), Some(s));
    }
    assert_eq!(
        PatientStatus::from_code("merged"),
        Some(PatientStatus::Merged)
    );
    assert_eq!(PatientStatus::from_code("deleted"), None);
    assert_eq!(national_id_key("123-45 6789"), "123456789");
}
