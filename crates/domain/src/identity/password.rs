//! Password rules after NIST SP 800-63B: at least 12 characters, no composition rules, at most
//! 128, and not a commonly used password or one built from the person's own email or the
//! product's name.

/// Passwords people pick first. Compared case-insensitively after removing spaces.
const COMMON: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678901234",
    "123456789123",
    "111111111111",
    "000000000000",
    "123123123123",
    "qwertyuiopas",
    "qwertyuiop123",
    "qwerty123456",
    "qwertyqwerty",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "zaq12wsxcde3",
    "asdfghjkl123",
    "password1234",
    "password12345",
    "password123456",
    "passwordpassword",
    "password1!",
    "p@ssw0rd1234",
    "p@ssword1234",
    "letmein12345",
    "letmeinletmein",
    "welcome12345",
    "welcome123456",
    "iloveyou1234",
    "iloveyou12345",
    "administrator",
    "admin1234567",
    "adminadmin123",
    "changeme1234",
    "changemenow!",
    "trustno1trustno1",
    "monkey123456",
    "dragon123456",
    "football1234",
    "baseball1234",
    "sunshine1234",
    "princess1234",
    "starwars1234",
    "whatever1234",
    "superman1234",
    "computer1234",
    "internet1234",
    "abcdefghijkl",
    "abc123abc123",
    "aaaaaaaaaaaa",
    "abcd1234abcd",
    "secret123456",
    "summer2024!!",
    "winter2024!!",
    "spring2025!!",
    "autumn2025!!",
    "summer20252025",
    "dentist12345",
    "dentistry123",
    "dentalclinic",
    "dentaloffice",
    "smile1234567",
    "toothfairy123",
    "hygienist123",
    "receptionist",
    "frontdesk123",
    "practice1234",
    "motdepasse123",
    "motdepasse1234",
    "azertyuiop12",
    "azertyuiop123",
    "soleil123456",
    "bonjour123456",
    "jetaime123456",
    "doctor123456",
    "medical12345",
    "hospital1234",
];

/// Why a password is refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PasswordProblem {
    TooShort,
    TooLong,
    Common,
    ContainsIdentity,
}

impl PasswordProblem {
    /// The message key in the .ftl files.
    pub fn message_key(self) -> &'static str {
        match self {
            PasswordProblem::TooShort => "password-too-short",
            PasswordProblem::TooLong => "password-too-long",
            PasswordProblem::Common => "password-common",
            PasswordProblem::ContainsIdentity => "password-contains-identity",
        }
    }
}

pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 128;

/// Checks a new password for a person with this email.
pub fn check_new_password(password: &str, email: &str) -> Result<(), PasswordProblem> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(PasswordProblem::TooShort);
    }
    if len > MAX_LEN {
        return Err(PasswordProblem::TooLong);
    }
    let folded: String = password
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    if COMMON.contains(&folded.as_str()) {
        return Err(PasswordProblem::Common);
    }
    // All one character, or a plain run of digits.
    let first = folded.chars().next();
    if folded.chars().all(|c| Some(c) == first) || folded.chars().all(|c| c.is_ascii_digit()) {
        return Err(PasswordProblem::Common);
    }
    let local = email.split('@').next().unwrap_or("").to_lowercase();
    if (local.chars().count() >= 4 && folded.contains(&local)) || folded.contains("cuspid") {
        return Err(PasswordProblem::ContainsIdentity);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nist_rules() {
        let ok = |p: &str| check_new_password(p, "m.tremblay@clinic.example");
        assert_eq!(ok("short"), Err(PasswordProblem::TooShort));
        assert_eq!(
            ok("ťěšť ťěšť ť"),
            Err(PasswordProblem::TooShort),
            "11 characters, not bytes"
        );
        assert_eq!(ok(&"x".repeat(129)), Err(PasswordProblem::TooLong));
        assert_eq!(
            ok("Password 1234"),
            Err(PasswordProblem::Common),
            "case and spaces ignored"
        );
        assert_eq!(ok("999999999999999"), Err(PasswordProblem::Common));
        assert_eq!(ok("zzzzzzzzzzzzzz"), Err(PasswordProblem::Common));
        assert_eq!(
            ok("m.tremblay-summer-2026"),
            Err(PasswordProblem::ContainsIdentity)
        );
        assert_eq!(
            ok("my cuspid password"),
            Err(PasswordProblem::ContainsIdentity)
        );
        // No composition rules: a long passphrase of lower-case words is fine.
        assert_eq!(ok("correct horse battery staple"), Ok(()));
        assert_eq!(ok("brosse à dents électrique"), Ok(()));
        assert_eq!(PasswordProblem::Common.message_key(), "password-common");
    }
}
