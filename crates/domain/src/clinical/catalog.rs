//! The procedure and condition catalog: what can be charted, where (a tooth, its surfaces, an
//! area or the mouth), how it is drawn on the odontogram, and the default fee until fee
//! schedules exist.
//!
//! The starter catalog below is Cuspid's own: short codes and plain names written here. The
//! ADA's CDT codes and descriptors are copyrighted and are not shipped; a clinic with a licence
//! imports its code list (CSV, [`parse_csv`]). Conditions carry their ICD-10-CM code, which is
//! public.

use serde::{Deserialize, Serialize};

use crate::kernel::error::FieldError;

/// Where an entry is charted.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteRule {
    /// The whole mouth or no site (an exam, a consultation).
    Mouth,
    /// One tooth.
    Tooth,
    /// One tooth and at least one of its surfaces.
    Surfaces,
    /// An arch, a quadrant or a sextant.
    Area,
}

impl SiteRule {
    pub const ALL: [SiteRule; 4] = [
        SiteRule::Mouth,
        SiteRule::Tooth,
        SiteRule::Surfaces,
        SiteRule::Area,
    ];

    pub fn code(self) -> &'static str {
        match self {
            SiteRule::Mouth => "mouth",
            SiteRule::Tooth => "tooth",
            SiteRule::Surfaces => "surfaces",
            SiteRule::Area => "area",
        }
    }

    pub fn from_code(s: &str) -> Option<SiteRule> {
        SiteRule::ALL.into_iter().find(|r| r.code() == s)
    }
}

/// How an entry is drawn on the odontogram.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Listed, not drawn (exams, radiographs, cleanings).
    None,
    /// Fills its surfaces (composite, amalgam, inlay).
    Restoration,
    Sealant,
    Veneer,
    /// Covers the whole crown.
    Crown,
    RootCanal,
    /// Done: the tooth is gone. Planned: a cross over it.
    Extraction,
    /// An implant in place of a missing tooth.
    Implant,
    /// A bridge's false tooth over a gap.
    Pontic,
    /// Condition: the tooth is absent.
    Missing,
    /// Condition on surfaces: caries, a fracture, a defective restoration.
    Lesion,
    /// Condition on the whole tooth: impacted, abscess, watch.
    ToothCondition,
}

impl Effect {
    pub const ALL: [Effect; 12] = [
        Effect::None,
        Effect::Restoration,
        Effect::Sealant,
        Effect::Veneer,
        Effect::Crown,
        Effect::RootCanal,
        Effect::Extraction,
        Effect::Implant,
        Effect::Pontic,
        Effect::Missing,
        Effect::Lesion,
        Effect::ToothCondition,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Effect::None => "none",
            Effect::Restoration => "restoration",
            Effect::Sealant => "sealant",
            Effect::Veneer => "veneer",
            Effect::Crown => "crown",
            Effect::RootCanal => "root_canal",
            Effect::Extraction => "extraction",
            Effect::Implant => "implant",
            Effect::Pontic => "pontic",
            Effect::Missing => "missing",
            Effect::Lesion => "lesion",
            Effect::ToothCondition => "tooth_condition",
        }
    }

    pub fn from_code(s: &str) -> Option<Effect> {
        Effect::ALL.into_iter().find(|e| e.code() == s)
    }

    /// May this be charted on a tooth that is missing (without an override)?
    pub fn fits_missing_tooth(self) -> bool {
        matches!(self, Effect::Implant | Effect::Pontic | Effect::Missing)
    }
}

/// A procedure (work done or planned) or a condition (a finding).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Procedure,
    Condition,
}

impl EntryKind {
    pub fn code(self) -> &'static str {
        match self {
            EntryKind::Procedure => "procedure",
            EntryKind::Condition => "condition",
        }
    }

    pub fn from_code(s: &str) -> Option<EntryKind> {
        match s {
            "procedure" => Some(EntryKind::Procedure),
            "condition" => Some(EntryKind::Condition),
            _ => None,
        }
    }
}

/// Categories of the catalog, in the order the picker shows them.
pub const CATEGORIES: &[&str] = &[
    "diagnostic",
    "preventive",
    "restorative",
    "endodontics",
    "periodontics",
    "prosthodontics",
    "implants",
    "oral_surgery",
    "orthodontics",
    "other",
    "condition",
];

/// One entry of a catalog as a clinic keeps it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CatalogEntry {
    /// Upper case letters, digits and `-` or `.`, 1 to 16 characters; unique in the org.
    pub code: String,
    pub kind: EntryKind,
    pub name: String,
    pub category: String,
    /// Default length on the agenda.
    pub minutes: u16,
    pub site: SiteRule,
    /// Only a dentist may complete it (and sign it).
    pub dentist_only: bool,
    /// Default fee in minor units of the clinic's currency, where no fee schedule has one.
    pub fee_minor: i64,
    /// ICD-10-CM code of a condition.
    pub icd10: Option<String>,
    pub effect: Effect,
}

impl CatalogEntry {
    /// Every field's problem at once; the code comes back upper case, the rest trimmed.
    pub fn normalized(&self) -> Result<CatalogEntry, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut err = |field: &str, message: &str| {
            errors.push(FieldError {
                field: field.into(),
                message: message.into(),
            })
        };
        let code = self.code.trim().to_ascii_uppercase();
        if code.is_empty()
            || code.len() > 16
            || !code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            err(
                "code",
                "a code is 1 to 16 letters, digits, '-' or '.' (for example COMP or D2391)",
            );
        }
        let name = self.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 200 {
            err("name", "a name of 1 to 200 characters is needed");
        }
        if !CATEGORIES.contains(&self.category.as_str()) {
            err("category", "unknown category");
        }
        if self.minutes > 480 {
            err("minutes", "at most 480 minutes");
        }
        if self.fee_minor < 0 {
            err("fee", "a fee cannot be negative");
        }
        let icd10 = self
            .icd10
            .as_ref()
            .map(|c| c.trim().to_ascii_uppercase())
            .filter(|c| !c.is_empty());
        if let Some(c) = &icd10
            && !crate::patients::icd10::is_valid_format(c)
        {
            err("icd10", "not an ICD-10-CM code");
        }
        if self.kind == EntryKind::Procedure
            && matches!(
                self.effect,
                Effect::Missing | Effect::Lesion | Effect::ToothCondition
            )
        {
            err("effect", "that drawing is for conditions");
        }
        let needs_tooth = !matches!(self.effect, Effect::None);
        if needs_tooth && matches!(self.site, SiteRule::Mouth | SiteRule::Area) {
            err("site", "a procedure drawn on a tooth is charted on a tooth");
        }
        if matches!(
            self.effect,
            Effect::Restoration | Effect::Sealant | Effect::Lesion
        ) && self.site != SiteRule::Surfaces
        {
            err("site", "this drawing needs surfaces");
        }
        if errors.is_empty() {
            Ok(CatalogEntry {
                code,
                name,
                icd10,
                ..self.clone()
            })
        } else {
            Err(errors)
        }
    }
}

/// A starter entry with its English and French names.
#[derive(Clone, Copy, Debug)]
pub struct Starter {
    pub code: &'static str,
    pub kind: EntryKind,
    pub en: &'static str,
    pub fr: &'static str,
    pub category: &'static str,
    pub minutes: u16,
    pub site: SiteRule,
    pub dentist_only: bool,
    /// A placeholder fee in minor units; clinics set their own.
    pub fee_minor: i64,
    pub icd10: Option<&'static str>,
    pub effect: Effect,
}

impl Starter {
    /// The entry in a language (`fr…` gives the French names).
    pub fn entry(&self, locale: &str) -> CatalogEntry {
        CatalogEntry {
            code: self.code.into(),
            kind: self.kind,
            name: if locale.starts_with("fr") {
                self.fr
            } else {
                self.en
            }
            .into(),
            category: self.category.into(),
            minutes: self.minutes,
            site: self.site,
            dentist_only: self.dentist_only,
            fee_minor: self.fee_minor,
            icd10: self.icd10.map(str::to_string),
            effect: self.effect,
        }
    }
}

#[allow(clippy::too_many_arguments)]
const fn p(
    code: &'static str,
    en: &'static str,
    fr: &'static str,
    category: &'static str,
    minutes: u16,
    site: SiteRule,
    dentist_only: bool,
    fee_minor: i64,
    effect: Effect,
) -> Starter {
    Starter {
        code,
        kind: EntryKind::Procedure,
        en,
        fr,
        category,
        minutes,
        site,
        dentist_only,
        fee_minor,
        icd10: None,
        effect,
    }
}

const fn c(
    code: &'static str,
    en: &'static str,
    fr: &'static str,
    site: SiteRule,
    icd10: Option<&'static str>,
    effect: Effect,
) -> Starter {
    Starter {
        code,
        kind: EntryKind::Condition,
        en,
        fr,
        category: "condition",
        minutes: 0,
        site,
        dentist_only: false,
        fee_minor: 0,
        icd10,
        effect,
    }
}

use Effect as E;
use SiteRule as S;

/// Cuspid's neutral starter catalog (codes and names written for Cuspid).
pub static STARTER: &[Starter] = &[
    p(
        "EXAM",
        "Comprehensive examination",
        "Examen complet",
        "diagnostic",
        40,
        S::Mouth,
        true,
        9500,
        E::None,
    ),
    p(
        "RECALL",
        "Periodic examination",
        "Examen périodique",
        "diagnostic",
        20,
        S::Mouth,
        true,
        5500,
        E::None,
    ),
    p(
        "EMERG",
        "Emergency examination",
        "Examen d'urgence",
        "diagnostic",
        20,
        S::Mouth,
        true,
        6500,
        E::None,
    ),
    p(
        "PA",
        "Periapical radiograph",
        "Radiographie périapicale",
        "diagnostic",
        5,
        S::Tooth,
        false,
        2500,
        E::None,
    ),
    p(
        "BW",
        "Bitewing radiographs",
        "Radiographies interproximales",
        "diagnostic",
        10,
        S::Mouth,
        false,
        5000,
        E::None,
    ),
    p(
        "PANO",
        "Panoramic radiograph",
        "Radiographie panoramique",
        "diagnostic",
        10,
        S::Mouth,
        false,
        11000,
        E::None,
    ),
    p(
        "CLEAN",
        "Cleaning (prophylaxis)",
        "Nettoyage (prophylaxie)",
        "preventive",
        40,
        S::Mouth,
        false,
        9000,
        E::None,
    ),
    p(
        "FLUOR",
        "Fluoride varnish",
        "Vernis fluoré",
        "preventive",
        10,
        S::Mouth,
        false,
        3500,
        E::None,
    ),
    p(
        "SEAL",
        "Sealant",
        "Scellant",
        "preventive",
        15,
        S::Surfaces,
        false,
        4500,
        E::Sealant,
    ),
    p(
        "COMP",
        "Composite filling",
        "Obturation en composite",
        "restorative",
        40,
        S::Surfaces,
        true,
        16000,
        E::Restoration,
    ),
    p(
        "AMAL",
        "Amalgam filling",
        "Obturation en amalgame",
        "restorative",
        40,
        S::Surfaces,
        true,
        13000,
        E::Restoration,
    ),
    p(
        "INLAY",
        "Inlay or onlay",
        "Incrustation (inlay, onlay)",
        "restorative",
        60,
        S::Surfaces,
        true,
        85000,
        E::Restoration,
    ),
    p(
        "VENEER",
        "Veneer",
        "Facette",
        "restorative",
        60,
        S::Tooth,
        true,
        95000,
        E::Veneer,
    ),
    p(
        "CROWN",
        "Crown",
        "Couronne",
        "prosthodontics",
        90,
        S::Tooth,
        true,
        110000,
        E::Crown,
    ),
    p(
        "PONTIC",
        "Bridge pontic",
        "Pontique de bridge",
        "prosthodontics",
        30,
        S::Tooth,
        true,
        95000,
        E::Pontic,
    ),
    p(
        "RCT",
        "Root canal treatment",
        "Traitement de canal",
        "endodontics",
        90,
        S::Tooth,
        true,
        90000,
        E::RootCanal,
    ),
    p(
        "CORE",
        "Core build-up",
        "Reconstitution corono-radiculaire",
        "restorative",
        30,
        S::Tooth,
        true,
        25000,
        E::None,
    ),
    p(
        "SRP",
        "Scaling and root planing, one quadrant",
        "Détartrage et surfaçage radiculaire, un quadrant",
        "periodontics",
        45,
        S::Area,
        false,
        22000,
        E::None,
    ),
    p(
        "PERIO-M",
        "Periodontal maintenance",
        "Maintenance parodontale",
        "periodontics",
        50,
        S::Mouth,
        false,
        13000,
        E::None,
    ),
    p(
        "EXT",
        "Extraction",
        "Extraction",
        "oral_surgery",
        30,
        S::Tooth,
        true,
        17500,
        E::Extraction,
    ),
    p(
        "EXT-S",
        "Surgical extraction",
        "Extraction chirurgicale",
        "oral_surgery",
        60,
        S::Tooth,
        true,
        32000,
        E::Extraction,
    ),
    p(
        "IMPL",
        "Implant placement",
        "Pose d'implant",
        "implants",
        90,
        S::Tooth,
        true,
        210000,
        E::Implant,
    ),
    p(
        "DENT-F",
        "Complete denture",
        "Prothèse complète",
        "prosthodontics",
        60,
        S::Area,
        true,
        160000,
        E::None,
    ),
    p(
        "DENT-P",
        "Partial denture",
        "Prothèse partielle",
        "prosthodontics",
        60,
        S::Area,
        true,
        140000,
        E::None,
    ),
    p(
        "ORTHO-F",
        "Comprehensive orthodontics, fixed appliances (bonding)",
        "Orthodontie complète, appareil fixe (collage)",
        "orthodontics",
        90,
        S::Mouth,
        true,
        550000,
        E::None,
    ),
    p(
        "ORTHO-A",
        "Clear aligner treatment (start)",
        "Traitement par aligneurs (début)",
        "orthodontics",
        60,
        S::Mouth,
        true,
        480000,
        E::None,
    ),
    p(
        "ORTHO-D",
        "Debonding and retainers",
        "Dépose de l'appareil et contention",
        "orthodontics",
        60,
        S::Mouth,
        true,
        45000,
        E::None,
    ),
    p(
        "NIGHT",
        "Night guard",
        "Gouttière occlusale",
        "other",
        30,
        S::Area,
        true,
        45000,
        E::None,
    ),
    c(
        "CARIES",
        "Caries",
        "Carie",
        S::Surfaces,
        Some("K02.9"),
        E::Lesion,
    ),
    c(
        "FRACT",
        "Fractured tooth",
        "Dent fracturée",
        S::Surfaces,
        Some("S02.5XXA"),
        E::Lesion,
    ),
    c(
        "CRACK",
        "Cracked tooth",
        "Fêlure",
        S::Tooth,
        Some("K03.81"),
        E::ToothCondition,
    ),
    c(
        "DEFECT",
        "Defective restoration",
        "Restauration défectueuse",
        S::Surfaces,
        Some("K08.530"),
        E::Lesion,
    ),
    c(
        "MISSING",
        "Missing tooth",
        "Dent absente",
        S::Tooth,
        Some("K08.409"),
        E::Missing,
    ),
    c(
        "IMPACT",
        "Impacted tooth",
        "Dent incluse",
        S::Tooth,
        Some("K01.1"),
        E::ToothCondition,
    ),
    c(
        "ABSC",
        "Periapical abscess",
        "Abcès périapical",
        S::Tooth,
        Some("K04.7"),
        E::ToothCondition,
    ),
    c(
        "PULP",
        "Irreversible pulpitis",
        "Pulpite irréversible",
        S::Tooth,
        Some("K04.02"),
        E::ToothCondition,
    ),
    c(
        "ROOT",
        "Retained root",
        "Racine résiduelle",
        S::Tooth,
        Some("K08.3"),
        E::ToothCondition,
    ),
    c(
        "WEAR",
        "Attrition (wear)",
        "Attrition (usure)",
        S::Tooth,
        Some("K03.0"),
        E::ToothCondition,
    ),
    c(
        "WATCH",
        "Watch",
        "À surveiller",
        S::Surfaces,
        None,
        E::Lesion,
    ),
];

/// A licensed code list as CSV: a header row naming the columns `code`, `name` and
/// optionally `category`, `minutes`, `site`, `dentist_only`, `fee` (in the currency's major
/// unit, `125.50`) and `effect`; then one row per code. Commas inside a field need double
/// quotes. Returns the entries, or every row's problems (`row N: field: message`).
pub fn parse_csv(text: &str, exponent: u32) -> Result<Vec<CatalogEntry>, Vec<String>> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let Some(header) = lines.next() else {
        return Err(vec!["the file is empty".into()]);
    };
    let header: Vec<String> = split_csv(header)
        .into_iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let (Some(code_col), Some(name_col)) = (col("code"), col("name")) else {
        return Err(vec!["the header needs the columns code and name".into()]);
    };
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in lines.enumerate() {
        let row = i + 2;
        let cells = split_csv(line);
        let get = |c: Option<usize>| {
            c.and_then(|c| cells.get(c))
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        };
        let mut row_problems = Vec::new();
        let site_text = get(col("site"));
        let site = if site_text.is_empty() {
            SiteRule::Mouth
        } else {
            SiteRule::from_code(&site_text.to_ascii_lowercase()).unwrap_or_else(|| {
                row_problems.push(format!(
                    "row {row}: site: use mouth, tooth, surfaces or area"
                ));
                SiteRule::Mouth
            })
        };
        let effect_text = get(col("effect"));
        let effect = if effect_text.is_empty() {
            Effect::None
        } else {
            Effect::from_code(&effect_text.to_ascii_lowercase()).unwrap_or_else(|| {
                row_problems.push(format!(
                    "row {row}: effect: unknown drawing {effect_text:?}"
                ));
                Effect::None
            })
        };
        let minutes_text = get(col("minutes"));
        let minutes = if minutes_text.is_empty() {
            0
        } else {
            minutes_text.parse::<u16>().unwrap_or_else(|_| {
                row_problems.push(format!("row {row}: minutes: not a whole number"));
                0
            })
        };
        let fee_text = get(col("fee"));
        let fee_minor = if fee_text.is_empty() {
            0
        } else {
            parse_amount(&fee_text, exponent).unwrap_or_else(|| {
                row_problems.push(format!("row {row}: fee: not an amount"));
                0
            })
        };
        let category = get(col("category")).to_ascii_lowercase();
        let dentist_only = matches!(
            get(col("dentist_only")).to_ascii_lowercase().as_str(),
            "1" | "yes" | "true" | "y" | "oui"
        );
        let entry = CatalogEntry {
            code: get(Some(code_col)),
            kind: EntryKind::Procedure,
            name: get(Some(name_col)),
            category: if category.is_empty() {
                "other".into()
            } else {
                category
            },
            minutes,
            site,
            dentist_only,
            fee_minor,
            icd10: None,
            effect,
        };
        match entry.normalized() {
            Ok(e) if row_problems.is_empty() => out.push(e),
            Ok(_) => {}
            Err(es) => row_problems.extend(
                es.into_iter()
                    .map(|e| format!("row {row}: {}: {}", e.field, e.message)),
            ),
        }
        problems.extend(row_problems);
    }
    let mut seen = std::collections::HashSet::new();
    for e in &out {
        if !seen.insert(e.code.clone()) {
            problems.push(format!("code {} appears twice", e.code));
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// `125`, `125.5`, `125.50` into minor units with `exponent` decimals.
fn parse_amount(s: &str, exponent: u32) -> Option<i64> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() || !whole.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if frac.len() > exponent as usize || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut minor: i64 = whole
        .parse::<i64>()
        .ok()?
        .checked_mul(10i64.pow(exponent))?;
    let padded = format!("{frac:0<width$}", width = exponent as usize);
    if !padded.is_empty() {
        minor = minor.checked_add(padded.parse::<i64>().ok()?)?;
    }
    Some(minor)
}

/// One CSV line into fields (RFC 4180 quoting, on one line).
fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_catalog_is_valid_and_unique() {
        let mut codes = std::collections::HashSet::new();
        for s in STARTER {
            for locale in ["en", "fr-CA"] {
                let e = s.entry(locale);
                assert_eq!(e.normalized(), Ok(e.clone()), "{}", s.code);
            }
            assert!(codes.insert(s.code), "{} twice", s.code);
            if let Some(code) = s.icd10 {
                assert!(
                    crate::patients::icd10::lookup(code).is_some(),
                    "{code} is not shipped"
                );
            }
            assert_eq!(s.kind == EntryKind::Condition, s.category == "condition");
        }
    }

    #[test]
    fn bad_entries_name_each_field() {
        let e = CatalogEntry {
            code: "a b".into(),
            kind: EntryKind::Procedure,
            name: " ".into(),
            category: "magic".into(),
            minutes: 900,
            site: SiteRule::Mouth,
            dentist_only: false,
            fee_minor: -1,
            icd10: Some("nope".into()),
            effect: Effect::Crown,
        };
        let fields: Vec<String> = e
            .normalized()
            .unwrap_err()
            .into_iter()
            .map(|f| f.field)
            .collect();
        assert_eq!(
            fields,
            vec![
                "code", "name", "category", "minutes", "fee", "icd10", "site"
            ]
        );
    }

    #[test]
    fn a_licensed_list_imports_from_csv() {
        let csv = "Code,Name,Category,Minutes,Site,Fee,Effect\n\
                   D2391,\"Resin composite, one surface, posterior\",restorative,40,surfaces,150.5,restoration\n\
                   d0150,Comprehensive evaluation,diagnostic,,mouth,95,\n";
        let list = parse_csv(csv, 2).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].name, "Resin composite, one surface, posterior");
        assert_eq!(list[0].fee_minor, 15050);
        assert_eq!(list[0].effect, Effect::Restoration);
        assert_eq!(list[1].code, "D0150");
        assert_eq!(list[1].minutes, 0);
        let bad = parse_csv(
            "code,name,fee,site\nX1,,1.234,elbow\nX1,Dup,1,mouth\nX1,Dup,1,mouth\n",
            2,
        )
        .unwrap_err();
        assert!(bad.iter().any(|p| p.starts_with("row 2: site")), "{bad:?}");
        assert!(bad.iter().any(|p| p.starts_with("row 2: fee")), "{bad:?}");
        assert!(bad.iter().any(|p| p.starts_with("row 2: name")), "{bad:?}");
        assert!(
            bad.iter().any(|p| p.contains("X1 appears twice")),
            "{bad:?}"
        );
        assert!(parse_csv("a,b\n", 2).is_err());
        assert_eq!(parse_amount("12", 0), Some(12));
        assert_eq!(parse_amount("12.5", 0), None);
        assert_eq!(parse_amount("-1", 2), None);
    }
}
