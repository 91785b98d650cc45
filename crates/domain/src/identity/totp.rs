//! Time-based one-time passwords (RFC 6238) for second-factor sign-in, plus the one-use
//! recovery codes that stand in for a lost phone.
//!
//! Parameters are fixed at HMAC-SHA1, a 30-second step and 6 digits. SHA1 is chosen for
//! authenticator app compatibility, not strength: several widely used apps ignore the
//! `algorithm` parameter of an `otpauth://` URI and always compute SHA1, so any other choice
//! would produce codes that silently never match. HMAC-SHA1 as a keyed PRF is not affected by
//! SHA1's collision weaknesses.
//!
//! This module is pure: the caller supplies the time, the last step it accepted (to refuse
//! replays) and the randomness for secrets and recovery codes.

use std::fmt;

use ring::hmac;

/// Seconds per TOTP step.
pub const STEP_SECONDS: i64 = 30;
/// Digits in a code.
pub const DIGITS: usize = 6;
/// Length of a freshly generated secret (the RFC 4226 recommendation for SHA1).
pub const SECRET_LEN: usize = 20;
/// Shortest secret accepted (RFC 4226 requires at least 128 bits).
pub const MIN_SECRET_LEN: usize = 16;

/// RFC 4648 base32 alphabet.
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Recovery code alphabet: lowercase, without 0/o/1/l/i. Only 31 symbols remain once those
/// are removed, which is why codes are a base-31 number rather than 5-bit groups.
const RECOVERY_ALPHABET: &[u8; 31] = b"23456789abcdefghjkmnpqrstuvwxyz";
/// Symbols in a recovery code, shown as four groups of four.
const RECOVERY_LEN: usize = 16;

/// A shared TOTP secret. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    /// Wraps raw key bytes; `None` if shorter than [`MIN_SECRET_LEN`]. Generate
    /// [`SECRET_LEN`] random bytes for a new enrolment.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        (bytes.len() >= MIN_SECRET_LEN).then(|| Self(bytes.to_vec()))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// RFC 4648 base32, uppercase, without padding: what authenticator apps expect.
    pub fn to_base32(&self) -> String {
        encode_base32(&self.0)
    }

    /// Parses base32 as people copy it: any case, with spaces and `=` padding ignored.
    /// `None` on any other character, an impossible length, or a key too short.
    pub fn from_base32(text: &str) -> Option<Self> {
        Self::from_bytes(&decode_base32(text)?)
    }
}

fn encode_base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits: u32 = 0;
    for &byte in bytes {
        buffer = ((buffer << 8) | u32::from(byte)) & 0xfff;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 0x1f) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 0x1f) as usize]));
    }
    out
}

fn decode_base32(text: &str) -> Option<Vec<u8>> {
    let mut bytes = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u32 = 0;
    let mut bits: u32 = 0;
    let mut symbols: usize = 0;
    for c in text.bytes() {
        if c == b'=' || c.is_ascii_whitespace() {
            continue;
        }
        let value = match c.to_ascii_uppercase() {
            upper @ b'A'..=b'Z' => upper - b'A',
            digit @ b'2'..=b'7' => digit - b'2' + 26,
            _ => return None,
        };
        symbols += 1;
        buffer = ((buffer << 5) | u32::from(value)) & 0xfff;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            bytes.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    // A final group of 1, 3 or 6 symbols cannot come from whole bytes.
    if matches!(symbols % 8, 1 | 3 | 6) {
        return None;
    }
    Some(bytes)
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

/// The step number (RFC 6238's T) that a Unix time falls in.
pub fn step_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// The code for a step, as ASCII digits.
fn code_for_step(secret: &TotpSecret, step: i64) -> [u8; DIGITS] {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &secret.0);
    // The counter is the step as a big-endian 64-bit integer.
    let tag = hmac::sign(&key, &step.to_be_bytes());
    let mac = tag.as_ref();
    // Dynamic truncation (RFC 4226 §5.3). SHA1 gives 20 bytes and the offset is at most 15,
    // so all four bytes exist; the fallbacks only keep this free of panicking paths.
    let offset = usize::from(mac.last().copied().unwrap_or(0) & 0x0f);
    let word = mac
        .get(offset..offset + 4)
        .and_then(|four| <[u8; 4]>::try_from(four).ok())
        .unwrap_or([0; 4]);
    let mut value = u32::from_be_bytes(word) & 0x7fff_ffff;
    let mut digits = [b'0'; DIGITS];
    for slot in digits.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
    digits
}

/// The 6-digit code, zero-padded, for the step containing `unix_seconds`.
pub fn code_at(secret: &TotpSecret, unix_seconds: i64) -> String {
    code_for_step(secret, step_of(unix_seconds))
        .iter()
        .map(|&d| char::from(d))
        .collect()
}

/// Compares equal-length byte arrays without an early exit.
fn constant_time_eq(a: &[u8; DIGITS], b: &[u8; DIGITS]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Checks a code typed by the user at `unix_seconds`. Accepts the current step and one step
/// either side (clock drift), but never a step at or before `last_used_step`, so a code
/// cannot be used twice. Spaces in the code are ignored; anything else that is not exactly
/// six ASCII digits is refused. Returns the step that matched: store it as the new
/// `last_used_step`.
pub fn verify(
    secret: &TotpSecret,
    code: &str,
    unix_seconds: i64,
    last_used_step: Option<i64>,
) -> Option<i64> {
    let mut typed = [0u8; DIGITS];
    let mut len = 0;
    for c in code.bytes().filter(|c| *c != b' ') {
        if !c.is_ascii_digit() || len == DIGITS {
            return None;
        }
        typed[len] = c;
        len += 1;
    }
    if len != DIGITS {
        return None;
    }

    let now = step_of(unix_seconds);
    // Current step first, so a (vanishingly unlikely) double match picks the expected one.
    // Every candidate is computed and compared; the loop does not stop at a match.
    let candidates = [Some(now), now.checked_sub(1), now.checked_add(1)];
    let mut matched = None;
    for step in candidates.into_iter().flatten() {
        if last_used_step.is_some_and(|last| step <= last) {
            continue;
        }
        let equal = constant_time_eq(&code_for_step(secret, step), &typed);
        if equal && matched.is_none() {
            matched = Some(step);
        }
    }
    matched
}

/// Whether `byte` may appear unescaped in a URI (RFC 3986 unreserved characters).
fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// Percent-encodes everything but the unreserved characters, so the result is safe in a path
/// segment and in a query value alike (a space becomes `%20`, never `+`).
fn percent_encode(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if is_unreserved(byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    out
}

/// The `otpauth://` URI an authenticator app scans to enrol (Google Authenticator key URI
/// format). The issuer appears both as the label prefix and as the `issuer` parameter, as
/// apps differ in which one they read.
pub fn otpauth_uri(secret: &TotpSecret, issuer: &str, account: &str) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        account = percent_encode(account),
        secret = secret.to_base32(),
    )
}

/// Formats 10 random bytes as a recovery code `xxxx-xxxx-xxxx-xxxx` over an unambiguous
/// lowercase alphabet (no 0, o, 1, l or i).
///
/// The 80 random bits are read as a number and written in base 31 (the alphabet's size),
/// keeping the last 16 digits. The result is not perfectly uniform, but no code is more than
/// twice as likely as another: over 79 bits of min-entropy, far beyond what guessing a
/// rate-limited, single-use code needs.
pub fn recovery_code(random: &[u8; 10]) -> String {
    let mut number = random
        .iter()
        .fold(0u128, |acc, &byte| (acc << 8) | u128::from(byte));
    let mut symbols = [0u8; RECOVERY_LEN];
    for slot in symbols.iter_mut().rev() {
        let index = (number % RECOVERY_ALPHABET.len() as u128) as usize;
        *slot = RECOVERY_ALPHABET[index];
        number /= RECOVERY_ALPHABET.len() as u128;
    }
    let mut out = String::with_capacity(RECOVERY_LEN + RECOVERY_LEN / 4 - 1);
    for (i, &symbol) in symbols.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(char::from(symbol));
    }
    out
}

/// The canonical form of a recovery code as typed: lowercase, with spaces and dashes removed.
/// Store and compare codes in this form.
pub fn normalize_recovery_code(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890").unwrap()
    }

    #[test]
    fn rfc6238_sha1_vectors() {
        // Appendix B, SHA1 column; the last 6 of the 8 digits.
        let cases = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        let secret = rfc_secret();
        for (time, eight) in cases {
            assert_eq!(code_at(&secret, time), &eight[2..], "time {time}");
        }
    }

    #[test]
    fn steps() {
        assert_eq!(step_of(0), 0);
        assert_eq!(step_of(29), 0);
        assert_eq!(step_of(30), 1);
        assert_eq!(step_of(59), 1);
        assert_eq!(step_of(1_111_111_109), 0x23523EC);
        assert_eq!(step_of(-1), -1);
    }

    #[test]
    fn codes_are_zero_padded() {
        // 1111111109 gives 081804: the leading zero must survive.
        assert_eq!(code_at(&rfc_secret(), 1_111_111_109), "081804");
        assert_eq!(code_at(&rfc_secret(), 1_111_111_109).len(), 6);
    }

    #[test]
    fn base32_rfc4648_vectors() {
        // RFC 4648 §10, padded as the RFC writes them; the encoder omits the padding.
        let cases: [(&[u8], &str); 7] = [
            (b"", ""),
            (b"f", "MY======"),
            (b"fo", "MZXQ===="),
            (b"foo", "MZXW6==="),
            (b"foob", "MZXW6YQ="),
            (b"fooba", "MZXW6YTB"),
            (b"foobar", "MZXW6YTBOI======"),
        ];
        for (raw, padded) in cases {
            assert_eq!(encode_base32(raw), padded.trim_end_matches('='));
            assert_eq!(decode_base32(padded).unwrap(), raw, "{padded}");
            assert_eq!(decode_base32(&padded.to_lowercase()).unwrap(), raw);
        }
        // The RFC 6238 seed as authenticator apps see it.
        assert_eq!(rfc_secret().to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }

    #[test]
    fn base32_round_trip() {
        for len in 16..=40u8 {
            let bytes: Vec<u8> = (0..len)
                .map(|i| i.wrapping_mul(37).wrapping_add(len))
                .collect();
            let secret = TotpSecret::from_bytes(&bytes).unwrap();
            let text = secret.to_base32();
            assert!(!text.contains('='));
            assert_eq!(text, text.to_uppercase());
            let back = TotpSecret::from_base32(&text).unwrap();
            assert_eq!(back.as_bytes(), secret.as_bytes());
        }
    }

    #[test]
    fn base32_is_lenient_about_case_spaces_and_padding() {
        let loose = "gezd gnbv gy3t qojq GEZD GNBV GY3T QOJQ";
        assert_eq!(
            TotpSecret::from_base32(loose).unwrap().as_bytes(),
            b"12345678901234567890"
        );
        // 17 bytes need padding to a multiple of 8 symbols.
        let secret = TotpSecret::from_bytes(&[0xa5; 17]).unwrap();
        let padded = format!("{}====", secret.to_base32());
        assert_eq!(
            TotpSecret::from_base32(&padded).unwrap().as_bytes(),
            secret.as_bytes()
        );
    }

    #[test]
    fn base32_rejects_bad_input() {
        assert!(TotpSecret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1").is_none());
        assert!(TotpSecret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ!").is_none());
        // Too short for a secret.
        assert!(TotpSecret::from_base32("MZXW6YTBOI").is_none());
        // A dangling symbol cannot come from whole bytes.
        assert!(TotpSecret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQA").is_none());
        assert!(TotpSecret::from_base32("").is_none());
    }

    #[test]
    fn from_bytes_requires_16() {
        assert!(TotpSecret::from_bytes(&[1; 15]).is_none());
        assert!(TotpSecret::from_bytes(&[1; 16]).is_some());
        assert_eq!(
            TotpSecret::from_bytes(&[7; 20]).unwrap().as_bytes(),
            &[7; 20]
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let shown = format!("{:?}", rfc_secret());
        assert!(!shown.contains("1234"));
        assert!(!shown.contains("GEZD"));
        assert!(!shown.contains("49"), "no byte values either");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn verify_accepts_current_and_drift_window() {
        let secret = rfc_secret();
        let now = 1_234_567_890;
        let step = step_of(now);
        for offset in [-1, 0, 1] {
            let code = code_at(&secret, now + offset * STEP_SECONDS);
            assert_eq!(verify(&secret, &code, now, None), Some(step + offset));
        }
    }

    #[test]
    fn verify_refuses_two_steps_away() {
        let secret = rfc_secret();
        let now = 1_234_567_890;
        for offset in [-3, -2, 2, 3] {
            let code = code_at(&secret, now + offset * STEP_SECONDS);
            assert_eq!(verify(&secret, &code, now, None), None, "offset {offset}");
        }
    }

    #[test]
    fn verify_refuses_replay() {
        let secret = rfc_secret();
        let now = 1_234_567_890;
        let code = code_at(&secret, now);
        let used = verify(&secret, &code, now, None).unwrap();
        assert_eq!(verify(&secret, &code, now, Some(used)), None);
        assert_eq!(verify(&secret, &code, now + 20, Some(used)), None);
        // An earlier step is refused once a later one has been used.
        let previous = code_at(&secret, now - STEP_SECONDS);
        assert_eq!(verify(&secret, &previous, now, Some(used)), None);
        // The next step is still fine.
        let next = code_at(&secret, now + STEP_SECONDS);
        assert_eq!(verify(&secret, &next, now, Some(used)), Some(used + 1));
    }

    #[test]
    fn verify_trims_spaces() {
        let secret = rfc_secret();
        let now = 1_234_567_890;
        let code = code_at(&secret, now);
        let spaced = format!(" {} {} ", &code[..3], &code[3..]);
        assert_eq!(verify(&secret, &spaced, now, None), Some(step_of(now)));
    }

    #[test]
    fn verify_refuses_malformed_codes() {
        let secret = rfc_secret();
        let now = 1_234_567_890;
        let good = code_at(&secret, now);
        assert_eq!(good, "005924");
        for bad in [
            "",
            "      ",
            "05924",
            "0005924",
            "00592a",
            "005-924",
            "+05924",
            "-05924",
            "００５９２４",
            "005924\n",
            "5924",
        ] {
            assert_eq!(verify(&secret, bad, now, None), None, "{bad:?}");
        }
        assert_eq!(verify(&secret, "005925", now, None), None);
    }

    #[test]
    fn otpauth_uri_encodes_issuer_and_account() {
        let uri = otpauth_uri(&rfc_secret(), "Smile Dental", "ann.lee+tfa@example.com");
        assert_eq!(
            uri,
            "otpauth://totp/Smile%20Dental:ann.lee%2Btfa%40example.com\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Smile%20Dental\
             &algorithm=SHA1&digits=6&period=30"
        );
        let odd = otpauth_uri(&rfc_secret(), "A&B:C?", "é/x");
        assert!(odd.starts_with("otpauth://totp/A%26B%3AC%3F:%C3%A9%2Fx?"));
        assert!(odd.contains("&issuer=A%26B%3AC%3F&"));
    }

    #[test]
    fn recovery_codes_look_right() {
        let samples: [[u8; 10]; 4] = [[0; 10], [0xff; 10], *b"0123456789", [0x5a; 10]];
        for random in samples {
            let code = recovery_code(&random);
            assert_eq!(code.len(), 19, "{code}");
            let groups: Vec<&str> = code.split('-').collect();
            assert_eq!(groups.len(), 4);
            assert!(groups.iter().all(|g| g.len() == 4));
            assert!(
                code.chars()
                    .filter(|c| *c != '-')
                    .all(|c| RECOVERY_ALPHABET.contains(&(c as u8))),
                "{code}"
            );
            assert!(!code.contains(['0', 'o', '1', 'l', 'i']));
        }
        assert_eq!(recovery_code(&[0; 10]), "2222-2222-2222-2222");
        assert_ne!(recovery_code(&[0xff; 10]), recovery_code(&[0xfe; 10]));
        // Low bytes reach the last symbols, high bytes the first.
        let mut low = [0u8; 10];
        low[9] = 1;
        assert_eq!(recovery_code(&low), "2222-2222-2222-2223");
    }

    #[test]
    fn recovery_code_normalisation() {
        let code = recovery_code(b"\x10\x20\x30\x40\x50\x60\x70\x80\x90\xa0");
        let canonical = normalize_recovery_code(&code);
        assert_eq!(canonical.len(), 16);
        assert!(!canonical.contains('-'));
        let typed = format!("  {} ", code.to_uppercase().replace('-', " - "));
        assert_eq!(normalize_recovery_code(&typed), canonical);
        assert_eq!(
            normalize_recovery_code("AB2C-dE3f 4GH5\tJK6M"),
            "ab2cde3f4gh5jk6m"
        );
    }
}
