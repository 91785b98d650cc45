//! Finding a patient the way the front desk types: a prefix ("tremb"), a misspelling
//! ("Jonhson", "Tremblai", "Katherine" for "Catherine"), no accents ("Helene" for "Hélène"),
//! "family, given", a phone number in any format, a birth date, a chart number or an email.
//!
//! Names are indexed under two keys each, both plain b-tree columns, so the same SQL runs fast
//! on SQLite and PostgreSQL without trigram extensions:
//! - the folded name ([`name_key`]): lower-case ASCII letters only, searched by prefix as a
//!   range (`key >= 'tremb' AND key < 'tremc'`);
//! - a phonetic key ([`phonetic_key`]): consonant classes, so spelling slips that keep the
//!   sound land on the same key, searched by equality.
//!
//! The store fetches a bounded set of candidates through those indexes and [`score`] ranks
//! them (exact before prefix before sound-alike, closer spelling first).

use jiff::civil::Date;

/// Lower-case, accents removed, letters and digits kept, everything else a space.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let lower: String = c.to_lowercase().collect();
        for l in lower.chars() {
            match unaccent(l) {
                Some(rep) => out.push_str(rep),
                None if l.is_ascii_alphanumeric() => out.push(l),
                None => out.push(' '),
            }
        }
    }
    out
}

fn unaccent(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'č' | 'ĉ' | 'ċ' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        'þ' => "th",
        _ => return None,
    })
}

/// A name as indexed: folded, letters only, no spaces, hyphens or apostrophes
/// ("O'Brien-Côté" → "obriencote"). Letters only keep the key's order the same under any
/// collation, so a prefix is a range.
pub fn name_key(s: &str) -> String {
    fold(s).chars().filter(|c| c.is_ascii_lowercase()).collect()
}

/// The exclusive upper bound of the keys starting with `prefix` (`"smi"` → `"smj"`), or `None`
/// when every key above `prefix` qualifies (`"zz"`). Keys are lower-case ASCII letters or
/// digits.
pub fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut bytes = prefix.as_bytes().to_vec();
    while let Some(last) = bytes.pop() {
        let next = match last {
            b'z' | b'9' => continue,
            b => b + 1,
        };
        bytes.push(next);
        return String::from_utf8(bytes).ok();
    }
    None
}

fn class(c: u8) -> u8 {
    match c {
        b'b' | b'p' | b'f' | b'v' => b'1',
        b'c' | b'g' | b'j' | b'k' | b'q' | b's' | b'x' | b'z' => b'2',
        b'd' | b't' => b'3',
        b'l' => b'4',
        b'm' | b'n' => b'5',
        b'r' => b'6',
        // Vowels, h, w, y: separators.
        _ => b'0',
    }
}

/// A sound-alike key: the name's consonants as classes (like Soundex, but the first letter is
/// a class too, so "Catherine" and "Katherine" meet, and a name starting with a vowel starts
/// with `a`), common spellings of one sound rewritten first ("ph" → f, "ck" → k, silent
/// initial "kn"/"wr"/"ps", French "eau"/"au"), doubled classes collapsed, at most 5 symbols.
/// Empty for a name with no letters.
pub fn phonetic_key(s: &str) -> String {
    let key = name_key(s);
    if key.is_empty() {
        return String::new();
    }
    let mut k = key;
    for (from, to) in [
        ("kn", "n"),
        ("wr", "r"),
        ("ps", "s"),
        ("pn", "n"),
        ("gn", "n"),
    ] {
        if let Some(rest) = k.strip_prefix(from) {
            k = format!("{to}{rest}");
            break;
        }
    }
    let k = k
        .replace("ph", "f")
        .replace("ck", "k")
        .replace("sch", "sk")
        .replace("tch", "ch")
        .replace("dg", "g");
    let b = k.as_bytes();
    let mut out = Vec::with_capacity(5);
    let first = class(b[0]);
    out.push(if first == b'0' { b'a' } else { first });
    let mut last = first;
    for &c in &b[1..] {
        let cl = class(c);
        // h and w do not separate two equal classes (Soundex's rule); vowels do.
        if cl == b'0' {
            if c != b'h' && c != b'w' {
                last = b'0';
            }
            continue;
        }
        if cl != last {
            out.push(cl);
            if out.len() == 5 {
                break;
            }
        }
        last = cl;
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Only digits.
pub fn digits(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_digit()).collect()
}

/// A phone number as indexed: its digits reversed, so "ends with" is a prefix (a range).
pub fn phone_key(e164: &str) -> String {
    digits(e164).chars().rev().collect()
}

/// What a typed phone number searches: the reversed digits, without a national trunk `0`
/// ("06 12 34 56 78" finds "+33612345678") or an international `00`/`011` prefix. `None` when
/// fewer than 4 digits were typed.
pub fn phone_query_key(typed: &str) -> Option<String> {
    let d = digits(typed);
    // Prefixes only on whole numbers: "0143" is the end of a number, not a trunk 0.
    let d = if d.len() >= 11 && d.starts_with("011") {
        d[3..].to_string()
    } else if d.len() >= 10 && d.starts_with("00") {
        d[2..].to_string()
    } else if d.len() >= 9 && d.starts_with('0') {
        d[1..].to_string()
    } else {
        d
    };
    if d.len() < 4 {
        return None;
    }
    Some(d.chars().rev().collect())
}

/// How typed dates are read when they are not `YYYY-MM-DD`: month first (US) or day first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateOrder {
    MonthFirst,
    DayFirst,
}

impl DateOrder {
    /// Month first in English (the US), day first in French.
    pub fn for_language(lang: &str) -> DateOrder {
        if lang.starts_with("fr") {
            DateOrder::DayFirst
        } else {
            DateOrder::MonthFirst
        }
    }
}

/// A typed date: `YYYY-MM-DD`, or `M/D/YYYY` / `D/M/YYYY` (also with `-` or `.`) read in
/// `order`. Two-digit years are refused (ambiguous for birth dates).
pub fn parse_typed_date(s: &str, order: DateOrder) -> Option<Date> {
    let s = s.trim();
    if let Some(d) = super::parse_iso_date(s) {
        return Some(d);
    }
    let parts: Vec<&str> = s.split(['/', '-', '.']).collect();
    if parts.len() != 3 || parts[2].len() != 4 {
        return None;
    }
    let n = |p: &str| -> Option<i16> {
        if p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse().ok()
    };
    let (a, b, y) = (n(parts[0])?, n(parts[1])?, n(parts[2])?);
    let (m, d) = match order {
        DateOrder::MonthFirst => (a, b),
        DateOrder::DayFirst => (b, a),
    };
    Date::new(y, i8::try_from(m).ok()?, i8::try_from(d).ok()?).ok()
}

/// What a search box's text asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Query {
    /// Nothing to search.
    Empty,
    /// Name words, folded to keys: "smith, john" → family "smith", given "john".
    Name {
        /// Words in the order typed, as [`name_key`]s.
        words: Vec<String>,
        /// Typed as "family, given".
        family_first: bool,
    },
    /// A phone number (reversed digits, see [`phone_query_key`]); digits only may also be a
    /// chart number.
    Digits {
        phone: Option<String>,
        chart_number: Option<i64>,
    },
    BirthDate(Date),
    Email(String),
}

impl Query {
    pub fn parse(text: &str, order: DateOrder) -> Query {
        let t = text.trim();
        if t.is_empty() {
            return Query::Empty;
        }
        if t.contains('@') {
            return Query::Email(t.to_lowercase());
        }
        if let Some(d) = parse_typed_date(t, order) {
            return Query::BirthDate(d);
        }
        let has_letters = t.chars().any(char::is_alphabetic);
        if !has_letters {
            let d = digits(t);
            if d.is_empty() {
                return Query::Empty;
            }
            let only_digits = t.chars().all(|c| c.is_ascii_digit());
            let chart_number = if only_digits && d.len() <= 9 {
                d.parse().ok()
            } else {
                None
            };
            return Query::Digits {
                phone: phone_query_key(t),
                chart_number,
            };
        }
        let family_first = t.contains(',');
        let words: Vec<String> = t
            .split([',', ' ', '\t'])
            .map(name_key)
            .filter(|w| !w.is_empty())
            .take(4)
            .collect();
        if words.is_empty() {
            return Query::Empty;
        }
        Query::Name {
            words,
            family_first,
        }
    }
}

/// The Damerau–Levenshtein distance (optimal string alignment) between two keys.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a = a.as_bytes();
    let b = b.as_bytes();
    let (n, m) = (a.len(), b.len());
    if n == 0 {
        return m;
    }
    if m == 0 {
        return n;
    }
    let mut prev2 = vec![0usize; m + 1];
    let mut prev: Vec<usize> = (0..=m).collect();
    let mut cur = vec![0usize; m + 1];
    for i in 1..=n {
        cur[0] = i;
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[m]
}

/// How well one typed word matches one name key, 0 (not at all) to 100 (the same).
pub fn word_score(word: &str, key: &str) -> u32 {
    if word.is_empty() || key.is_empty() {
        return 0;
    }
    if word == key {
        return 100;
    }
    if key.starts_with(word) {
        // A longer typed prefix is a stronger signal.
        return 70 + (20 * word.len() / key.len()).min(20) as u32;
    }
    // Typos: compare with the key cut to the typed length (a misspelled prefix) and whole.
    let cut: String = key.chars().take(word.len()).collect();
    let d = edit_distance(word, key).min(edit_distance(word, &cut) + 1);
    let allowed = match word.len() {
        0..=3 => 0,
        4..=5 => 1,
        6..=8 => 2,
        _ => 3,
    };
    if d <= allowed {
        return 60 - 10 * d as u32;
    }
    if phonetic_key(word) == phonetic_key(key) && word.len() >= 3 {
        return 35;
    }
    0
}

/// The keys of a candidate patient, as [`score`] compares them.
#[derive(Clone, Debug, Default)]
pub struct NameKeys<'a> {
    pub given: &'a str,
    pub family: &'a str,
    pub preferred: &'a str,
}

/// How well the typed words match a patient, 0 to 100. One word matches either name; two or
/// more words match family and given names in either order ("john smith", "smith john"), or
/// in the typed order for "family, given".
pub fn score(words: &[String], family_first: bool, keys: &NameKeys<'_>) -> u32 {
    let given_like = |w: &str| word_score(w, keys.given).max(word_score(w, keys.preferred));
    match words {
        [] => 0,
        [w] => word_score(w, keys.family).max(given_like(w)),
        [first, rest @ ..] => {
            let last = &rest[rest.len() - 1];
            let family_then_given = pair(word_score(first, keys.family), given_like(last));
            let given_then_family = pair(given_like(first), word_score(last, keys.family));
            // Compound family names typed as two words ("van der berg").
            let joined: String = words.concat();
            let whole_family = word_score(&joined, keys.family);
            let best = if family_first {
                family_then_given
            } else {
                family_then_given.max(given_then_family)
            };
            best.max(whole_family)
        }
    }
}

/// Both words must match for a pair to count.
fn pair(a: u32, b: u32) -> u32 {
    if a == 0 || b == 0 { 0 } else { (a + b) / 2 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_and_keys() {
        assert_eq!(name_key("O'Brien-Côté"), "obriencote");
        assert_eq!(name_key("Hélène"), "helene");
        assert_eq!(name_key("Straße"), "strasse");
        assert_eq!(name_key("  "), "");
        assert_eq!(fold("Zoë 12"), "zoe 12");
    }

    #[test]
    fn upper_bounds() {
        assert_eq!(prefix_upper_bound("smi").as_deref(), Some("smj"));
        assert_eq!(prefix_upper_bound("az").as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound("zz"), None);
        assert_eq!(prefix_upper_bound("3419").as_deref(), Some("342"));
        assert_eq!(prefix_upper_bound("99"), None);
        // Every key with the prefix is inside [prefix, upper), and the next one is not.
        for (p, inside, outside) in [
            ("smi", "smith", "smj"),
            ("tz", "tzzz", "u"),
            ("55", "5599", "56"),
        ] {
            let u = prefix_upper_bound(p).unwrap();
            assert!(inside >= p && inside < u.as_str());
            assert!(outside >= u.as_str());
        }
    }

    #[test]
    fn sound_alikes_share_a_key() {
        for (a, b) in [
            ("Johnson", "Jonson"),
            ("Johnson", "Jhonson"),
            ("Smith", "Smyth"),
            ("Catherine", "Katherine"),
            ("Tremblay", "Tremblai"),
            ("Philippe", "Filipe"),
            ("Mackenzie", "McKenzie"),
            ("Gagnon", "Gagnon"),
            ("Schmidt", "Shmidt"),
        ] {
            assert_eq!(phonetic_key(a), phonetic_key(b), "{a} / {b}");
        }
        for (a, b) in [("Smith", "Jones"), ("Tremblay", "Gagnon"), ("Roy", "Cote")] {
            assert_ne!(phonetic_key(a), phonetic_key(b), "{a} / {b}");
        }
        assert_eq!(phonetic_key(""), "");
        assert_eq!(phonetic_key("Eric").as_bytes()[0], b'a');
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("smith", "smith"), 0);
        assert_eq!(edit_distance("smtih", "smith"), 1);
        assert_eq!(edit_distance("jonhson", "johnson"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn phone_keys_match_whatever_the_format() {
        let stored = phone_key("+18025550143");
        for typed in [
            "(802) 555-0143",
            "802.555.0143",
            "1-802-555-0143",
            "+1 802 555 0143",
            "555-0143",
            "0143",
        ] {
            let q = phone_query_key(typed).unwrap();
            assert!(stored.starts_with(&q), "{typed}");
        }
        let fr = phone_key("+33612345678");
        for typed in ["06 12 34 56 78", "+33 6 12 34 56 78", "0033612345678"] {
            assert!(fr.starts_with(&phone_query_key(typed).unwrap()), "{typed}");
        }
        assert!(!stored.starts_with(&phone_query_key("802-555-0144").unwrap()));
        assert_eq!(phone_query_key("12"), None);
    }

    #[test]
    fn queries_are_read_by_shape() {
        let o = DateOrder::MonthFirst;
        assert_eq!(Query::parse("", o), Query::Empty);
        assert_eq!(
            Query::parse("Smith, John", o),
            Query::Name {
                words: vec!["smith".into(), "john".into()],
                family_first: true
            }
        );
        assert_eq!(
            Query::parse("jean-luc", o),
            Query::Name {
                words: vec!["jeanluc".into()],
                family_first: false
            }
        );
        assert_eq!(
            Query::parse("1984-03-27", o),
            Query::BirthDate(Date::new(1984, 3, 27).unwrap())
        );
        assert_eq!(
            Query::parse("03/27/1984", o),
            Query::BirthDate(Date::new(1984, 3, 27).unwrap())
        );
        assert_eq!(
            Query::parse("27/03/1984", DateOrder::DayFirst),
            Query::BirthDate(Date::new(1984, 3, 27).unwrap())
        );
        // February 30th is no date; with no letters it is read as digits.
        assert_eq!(
            Query::parse("02/30/1984", o),
            Query::Digits {
                phone: Some("48910320".into()),
                chart_number: None
            }
        );
        assert_eq!(Query::parse("A@B.com ", o), Query::Email("a@b.com".into()));
        assert_eq!(
            Query::parse("1042", o),
            Query::Digits {
                phone: Some("2401".into()),
                chart_number: Some(1042)
            }
        );
        assert_eq!(
            Query::parse("(802) 555-0143", o),
            Query::Digits {
                phone: Some("3410555208".into()),
                chart_number: None
            }
        );
    }

    #[test]
    fn ranking_prefers_exact_then_prefix_then_typos() {
        let keys = |g: &'static str, f: &'static str| NameKeys {
            given: g,
            family: f,
            preferred: "",
        };
        let w = |s: &str| vec![s.to_string()];
        let exact = score(&w("smith"), false, &keys("john", "smith"));
        let prefix = score(&w("smi"), false, &keys("john", "smithers"));
        let typo = score(&w("smtih"), false, &keys("john", "smith"));
        let sound = score(&w("smyth"), false, &keys("john", "smith"));
        assert!(
            exact > prefix && prefix > typo && typo > 0 && sound > 0,
            "{exact} {prefix} {typo} {sound}"
        );
        assert_eq!(score(&w("jones"), false, &keys("john", "smith")), 0);
        let two = vec!["john".to_string(), "smith".to_string()];
        assert_eq!(score(&two, false, &keys("john", "smith")), 100);
        assert_eq!(
            score(&two, true, &keys("john", "smith")),
            0,
            "\"john, smith\" means family John"
        );
        assert!(
            score(
                &["jonh".into(), "smyth".into()],
                false,
                &keys("john", "smith")
            ) > 0
        );
        assert!(
            score(
                &["van".into(), "der".into(), "berg".into()],
                false,
                &keys("anna", "vanderberg")
            ) == 100
        );
        // Short words must be exact or a prefix: "al" does not match "ed".
        assert_eq!(score(&w("al"), false, &keys("ed", "ng")), 0);
    }
}
