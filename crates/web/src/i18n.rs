//! English and French strings from `i18n/{en,fr}/*.ftl`, compiled into the binary.

use fluent_templates::{LanguageIdentifier, Loader};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./i18n",
        fallback_language: "en",
    };
}

/// Languages the interface speaks.
pub const LANGS: &[&str] = &["en", "fr"];

/// A language the interface speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Fr,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        match code.get(..2).map(str::to_ascii_lowercase).as_deref() {
            Some("en") => Some(Lang::En),
            Some("fr") => Some(Lang::Fr),
            _ => None,
        }
    }

    /// The first supported language of an `Accept-Language` header, by quality.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut prefs: Vec<(f32, Lang)> = header
            .split(',')
            .filter_map(|part| {
                let mut it = part.trim().split(';');
                let tag = it.next()?.trim();
                let q = it
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                Some((q, Lang::from_code(tag)?))
            })
            .collect();
        prefs.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
        prefs.first().map(|p| p.1)
    }

    fn id(self) -> LanguageIdentifier {
        match self {
            Lang::En => fluent_templates::langid!("en"),
            Lang::Fr => fluent_templates::langid!("fr"),
        }
    }

    /// The string for `key`; the key itself if it is missing (a test checks none is).
    pub fn t(self, key: &str) -> String {
        LOCALES
            .try_lookup(&self.id(), key)
            .unwrap_or_else(|| key.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language() {
        assert_eq!(
            Lang::from_accept_language("fr-CA,fr;q=0.9,en;q=0.8"),
            Some(Lang::Fr)
        );
        assert_eq!(
            Lang::from_accept_language("de-DE,en;q=0.5,fr;q=0.4"),
            Some(Lang::En)
        );
        assert_eq!(Lang::from_accept_language("de"), None);
    }

    #[test]
    fn both_languages_have_every_key() {
        let read = |l: &str| {
            std::fs::read_to_string(format!("{}/i18n/{l}/main.ftl", env!("CARGO_MANIFEST_DIR")))
                .unwrap()
        };
        let keys = |text: String| -> Vec<String> {
            let mut k: Vec<String> = text
                .lines()
                .filter(|l| !l.starts_with('#') && !l.starts_with(' ') && l.contains(" ="))
                .filter_map(|l| l.split(" =").next().map(|s| s.trim().to_string()))
                .collect();
            k.sort();
            k
        };
        let en = keys(read("en"));
        let fr = keys(read("fr"));
        assert!(en.len() > 40);
        assert_eq!(en, fr, "en and fr have the same keys");
        for k in &en {
            assert_ne!(Lang::Fr.t(k), *k, "fr resolves {k}");
        }
        assert_eq!(Lang::Fr.t("nav-patients"), "Patients");
        assert_ne!(
            Lang::Fr.t("nav-appointments"),
            Lang::En.t("nav-appointments")
        );
    }
}
