//! Teeth, surfaces and areas of the mouth.
//!
//! A tooth is stored as its ISO 3950 (FDI) code and shown in the clinic's numbering: FDI
//! (`16`), Universal (`3`, primary `A`–`T`) or Palmer (`6┘`, typed `UR6`). Surfaces are a set,
//! checked against the tooth: an incisor has an incisal edge and a facial side, a molar an
//! occlusal face and a buccal side. Areas are the arches, quadrants and sextants, and the whole
//! mouth.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How teeth are shown and typed in a clinic.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum Numbering {
    /// ISO 3950 / FDI two digits: 11–48, primary 51–85.
    #[default]
    Fdi,
    /// The Universal system (ADA): 1–32, primary A–T.
    Universal,
    /// Palmer's quadrant notation: a corner and 1–8 (primary A–E).
    Palmer,
}

impl Numbering {
    pub const ALL: [Numbering; 3] = [Numbering::Fdi, Numbering::Universal, Numbering::Palmer];

    pub fn code(self) -> &'static str {
        match self {
            Numbering::Fdi => "fdi",
            Numbering::Universal => "universal",
            Numbering::Palmer => "palmer",
        }
    }

    pub fn from_code(s: &str) -> Option<Numbering> {
        Numbering::ALL.into_iter().find(|n| n.code() == s)
    }
}

/// A quadrant, named from the patient's side.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum Quadrant {
    UpperRight,
    UpperLeft,
    LowerLeft,
    LowerRight,
}

impl Quadrant {
    /// `UR`, `UL`, `LL`, `LR`.
    pub fn code(self) -> &'static str {
        match self {
            Quadrant::UpperRight => "UR",
            Quadrant::UpperLeft => "UL",
            Quadrant::LowerLeft => "LL",
            Quadrant::LowerRight => "LR",
        }
    }

    fn from_index(i: u8) -> Quadrant {
        match i {
            0 => Quadrant::UpperRight,
            1 => Quadrant::UpperLeft,
            2 => Quadrant::LowerLeft,
            _ => Quadrant::LowerRight,
        }
    }

    fn index(self) -> u8 {
        self as u8
    }

    /// Palmer's corner: the lines run between the tooth and the midline and the other arch.
    fn palmer_corner(self) -> char {
        match self {
            Quadrant::UpperRight => '┘',
            Quadrant::UpperLeft => '└',
            Quadrant::LowerLeft => '┌',
            Quadrant::LowerRight => '┐',
        }
    }
}

/// The kind of tooth, which decides its surfaces and how it is drawn.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ToothKind {
    Incisor,
    Canine,
    Premolar,
    Molar,
}

/// A tooth, by its ISO 3950 (FDI) code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Tooth(u8);

impl fmt::Debug for Tooth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tooth {}", self.0)
    }
}

impl fmt::Display for Tooth {
    /// The FDI code.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl TryFrom<u8> for Tooth {
    type Error = String;
    fn try_from(n: u8) -> Result<Self, Self::Error> {
        Tooth::from_fdi(n).ok_or_else(|| format!("{n} is not an FDI tooth number"))
    }
}

impl From<Tooth> for u8 {
    fn from(t: Tooth) -> u8 {
        t.0
    }
}

impl Tooth {
    /// Every tooth: the 32 permanent teeth, then the 20 primary ones, each in FDI order.
    pub fn all() -> impl Iterator<Item = Tooth> {
        (11u8..=48).chain(51..=85).filter_map(Tooth::from_fdi)
    }

    /// A tooth from its FDI code (11–18, 21–28, 31–38, 41–48; 51–55, 61–65, 71–75, 81–85).
    pub fn from_fdi(n: u8) -> Option<Tooth> {
        let (q, p) = (n / 10, n % 10);
        let ok = match q {
            1..=4 => (1..=8).contains(&p),
            5..=8 => (1..=5).contains(&p),
            _ => false,
        };
        ok.then_some(Tooth(n))
    }

    pub fn fdi(self) -> u8 {
        self.0
    }

    pub fn is_primary(self) -> bool {
        self.0 >= 50
    }

    pub fn quadrant(self) -> Quadrant {
        Quadrant::from_index((self.0 / 10 - 1) % 4)
    }

    pub fn is_upper(self) -> bool {
        matches!(self.quadrant(), Quadrant::UpperRight | Quadrant::UpperLeft)
    }

    /// 1 (central incisor) to 8 (third molar); primary 1 to 5.
    pub fn position(self) -> u8 {
        self.0 % 10
    }

    pub fn kind(self) -> ToothKind {
        match (self.is_primary(), self.position()) {
            (_, 1 | 2) => ToothKind::Incisor,
            (_, 3) => ToothKind::Canine,
            (false, 4 | 5) => ToothKind::Premolar,
            _ => ToothKind::Molar,
        }
    }

    /// Incisors and canines: an incisal edge and a facial side instead of an occlusal face and
    /// a buccal side.
    pub fn is_anterior(self) -> bool {
        matches!(self.kind(), ToothKind::Incisor | ToothKind::Canine)
    }

    /// The permanent tooth of the same quadrant and position (the successor of a primary
    /// tooth); the tooth itself when it is permanent.
    pub fn successor(self) -> Tooth {
        if self.is_primary() {
            Tooth(self.0 - 40)
        } else {
            self
        }
    }

    fn from_parts(quadrant: Quadrant, primary: bool, position: u8) -> Option<Tooth> {
        let q = quadrant.index() + 1 + if primary { 4 } else { 0 };
        Tooth::from_fdi(q * 10 + position)
    }

    /// The Universal number (`1`–`32`) or letter (`A`–`T`).
    pub fn universal(self) -> String {
        let p = self.position();
        if self.is_primary() {
            let i = match self.quadrant() {
                Quadrant::UpperRight => 5 - p,
                Quadrant::UpperLeft => 4 + p,
                Quadrant::LowerLeft => 15 - p,
                Quadrant::LowerRight => 14 + p,
            };
            char::from(b'A' + i).to_string()
        } else {
            let n = match self.quadrant() {
                Quadrant::UpperRight => 9 - p,
                Quadrant::UpperLeft => 8 + p,
                Quadrant::LowerLeft => 25 - p,
                Quadrant::LowerRight => 24 + p,
            };
            n.to_string()
        }
    }

    /// A tooth from its Universal number or letter (letters in either case).
    pub fn from_universal(s: &str) -> Option<Tooth> {
        let s = s.trim();
        if let Ok(n) = s.parse::<u8>() {
            let (q, p) = match n {
                1..=8 => (Quadrant::UpperRight, 9 - n),
                9..=16 => (Quadrant::UpperLeft, n - 8),
                17..=24 => (Quadrant::LowerLeft, 25 - n),
                25..=32 => (Quadrant::LowerRight, n - 24),
                _ => return None,
            };
            return Tooth::from_parts(q, false, p);
        }
        let mut chars = s.chars();
        let (Some(c), None) = (chars.next(), chars.next()) else {
            return None;
        };
        let c = c.to_ascii_uppercase();
        if !c.is_ascii_uppercase() {
            return None;
        }
        let i = c as u8 - b'A';
        let (q, p) = match i {
            0..=4 => (Quadrant::UpperRight, 5 - i),
            5..=9 => (Quadrant::UpperLeft, i - 4),
            10..=14 => (Quadrant::LowerLeft, 15 - i),
            15..=19 => (Quadrant::LowerRight, i - 14),
            _ => return None,
        };
        Tooth::from_parts(q, true, p)
    }

    /// Palmer's notation with its corner: `6┘` (upper right first molar), `└A`, `┌3`, `8┐`.
    pub fn palmer(self) -> String {
        let mark = if self.is_primary() {
            char::from(b'A' + self.position() - 1)
        } else {
            char::from(b'0' + self.position())
        };
        let corner = self.quadrant().palmer_corner();
        match self.quadrant() {
            Quadrant::UpperRight | Quadrant::LowerRight => format!("{mark}{corner}"),
            Quadrant::UpperLeft | Quadrant::LowerLeft => format!("{corner}{mark}"),
        }
    }

    /// Palmer's notation as printed (`6┘`) or as typed: the quadrant's letters and the
    /// position (`UR6`, `ur6`, `ULd`).
    pub fn from_palmer(s: &str) -> Option<Tooth> {
        let s = s.trim();
        let corners = [
            Quadrant::UpperRight,
            Quadrant::UpperLeft,
            Quadrant::LowerLeft,
            Quadrant::LowerRight,
        ];
        let (q, rest) = if let Some(q) = corners
            .iter()
            .find(|q| s.starts_with(q.palmer_corner()) || s.ends_with(q.palmer_corner()))
        {
            (*q, s.trim_matches(q.palmer_corner()))
        } else {
            let upper = s.to_ascii_uppercase();
            let q = corners.iter().find(|q| upper.starts_with(q.code()))?;
            (*q, s.get(2..)?)
        };
        let mut chars = rest.chars();
        let (Some(c), None) = (chars.next(), chars.next()) else {
            return None;
        };
        match c {
            '1'..='8' => Tooth::from_parts(q, false, c as u8 - b'0'),
            'a'..='e' | 'A'..='E' => {
                Tooth::from_parts(q, true, c.to_ascii_uppercase() as u8 - b'A' + 1)
            }
            _ => None,
        }
    }

    /// The tooth as the clinic shows it.
    pub fn show(self, numbering: Numbering) -> String {
        match numbering {
            Numbering::Fdi => self.0.to_string(),
            Numbering::Universal => self.universal(),
            Numbering::Palmer => self.palmer(),
        }
    }

    /// A tooth as typed in the clinic's numbering. FDI codes are always understood when they
    /// cannot mean anything else (`16` in Palmer; in Universal `16` is tooth 28).
    pub fn parse(s: &str, numbering: Numbering) -> Option<Tooth> {
        let s = s.trim();
        match numbering {
            Numbering::Fdi => s.parse::<u8>().ok().and_then(Tooth::from_fdi),
            Numbering::Universal => Tooth::from_universal(s),
            Numbering::Palmer => {
                Tooth::from_palmer(s).or_else(|| s.parse::<u8>().ok().and_then(Tooth::from_fdi))
            }
        }
    }

    /// The surfaces this tooth has.
    pub fn surfaces(self) -> Surfaces {
        let edge = if self.is_anterior() {
            Surface::Incisal
        } else {
            Surface::Occlusal
        };
        Surfaces::of(&[
            Surface::Mesial,
            edge,
            Surface::Distal,
            Surface::Buccal,
            Surface::Lingual,
        ])
    }
}

/// One surface of a tooth.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum Surface {
    Mesial,
    Occlusal,
    Incisal,
    Distal,
    /// Buccal on posterior teeth, facial (labial) on anterior ones: the same side.
    Buccal,
    /// Lingual, or palatal on upper teeth: the same side.
    Lingual,
}

impl Surface {
    /// In charting order: M, O, I, D, B, L.
    pub const ALL: [Surface; 6] = [
        Surface::Mesial,
        Surface::Occlusal,
        Surface::Incisal,
        Surface::Distal,
        Surface::Buccal,
        Surface::Lingual,
    ];

    fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// The letter shown on this tooth: F rather than B on an anterior tooth.
    pub fn letter_on(self, tooth: Tooth) -> char {
        match self {
            Surface::Mesial => 'M',
            Surface::Occlusal => 'O',
            Surface::Incisal => 'I',
            Surface::Distal => 'D',
            Surface::Buccal if tooth.is_anterior() => 'F',
            Surface::Buccal => 'B',
            Surface::Lingual => 'L',
        }
    }

    /// The stable code (`m`, `o`, `i`, `d`, `b`, `l`).
    pub fn code(self) -> char {
        match self {
            Surface::Mesial => 'm',
            Surface::Occlusal => 'o',
            Surface::Incisal => 'i',
            Surface::Distal => 'd',
            Surface::Buccal => 'b',
            Surface::Lingual => 'l',
        }
    }
}

/// A set of surfaces (stored as a bit set).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, PartialOrd, Ord)]
pub struct Surfaces(u8);

impl Surfaces {
    pub fn of(list: &[Surface]) -> Surfaces {
        Surfaces(list.iter().fold(0, |b, s| b | s.bit()))
    }

    pub fn bits(self) -> u8 {
        self.0
    }

    /// From stored bits; unknown bits are refused.
    pub fn from_bits(b: u8) -> Option<Surfaces> {
        (b & !0b11_1111 == 0).then_some(Surfaces(b))
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn contains(self, s: Surface) -> bool {
        self.0 & s.bit() != 0
    }

    pub fn is_subset_of(self, other: Surfaces) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Surface> {
        Surface::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The letters as shown on this tooth, in charting order (`MOD`, `MIF`).
    pub fn show_on(self, tooth: Tooth) -> String {
        self.iter().map(|s| s.letter_on(tooth)).collect()
    }

    /// Typed letters for a tooth: M, O, I, D, B or F (the same side), L or P (the same side),
    /// in any order and case. A surface the tooth does not have (occlusal on an incisor,
    /// incisal on a molar), an unknown letter or a repeated surface is refused with a message.
    pub fn parse_for(s: &str, tooth: Tooth) -> Result<Surfaces, String> {
        let mut set = Surfaces::default();
        for c in s.trim().chars() {
            let surface = match c.to_ascii_uppercase() {
                'M' => Surface::Mesial,
                'O' => Surface::Occlusal,
                'I' => Surface::Incisal,
                'D' => Surface::Distal,
                'B' | 'F' | 'V' => Surface::Buccal,
                'L' | 'P' => Surface::Lingual,
                _ => return Err(format!("{c:?} is not a surface (M, O, I, D, B, F, L)")),
            };
            if !tooth.surfaces().contains(surface) {
                return Err(match surface {
                    Surface::Occlusal => format!(
                        "tooth {tooth} is an anterior tooth: it has an incisal edge (I), not an occlusal surface (O)"
                    ),
                    _ => format!(
                        "tooth {tooth} is a posterior tooth: it has an occlusal surface (O), not an incisal edge (I)"
                    ),
                });
            }
            if set.contains(surface) {
                return Err(format!("surface {c} is given twice"));
            }
            set.0 |= surface.bit();
        }
        Ok(set)
    }
}

/// An area of the mouth, for procedures charted on more than one tooth.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum Area {
    Quadrant(Quadrant),
    Upper,
    Lower,
    /// Sextants 1 to 6: upper right posterior, upper anterior, upper left posterior, lower left
    /// posterior, lower anterior, lower right posterior.
    Sextant(u8),
    WholeMouth,
}

impl Area {
    pub fn all() -> Vec<Area> {
        let mut v = vec![
            Area::WholeMouth,
            Area::Upper,
            Area::Lower,
            Area::Quadrant(Quadrant::UpperRight),
            Area::Quadrant(Quadrant::UpperLeft),
            Area::Quadrant(Quadrant::LowerLeft),
            Area::Quadrant(Quadrant::LowerRight),
        ];
        v.extend((1..=6).map(Area::Sextant));
        v
    }

    /// `UR`, `UL`, `LL`, `LR`, `U`, `L`, `S1`–`S6`, `mouth`.
    pub fn code(self) -> String {
        match self {
            Area::Quadrant(q) => q.code().to_string(),
            Area::Upper => "U".into(),
            Area::Lower => "L".into(),
            Area::Sextant(n) => format!("S{n}"),
            Area::WholeMouth => "mouth".into(),
        }
    }

    /// An area code in any case; `FM` and `whole` mean the whole mouth.
    pub fn parse(s: &str) -> Option<Area> {
        let u = s.trim().to_ascii_uppercase();
        Some(match u.as_str() {
            "UR" => Area::Quadrant(Quadrant::UpperRight),
            "UL" => Area::Quadrant(Quadrant::UpperLeft),
            "LL" => Area::Quadrant(Quadrant::LowerLeft),
            "LR" => Area::Quadrant(Quadrant::LowerRight),
            "U" | "UA" | "MAX" => Area::Upper,
            "L" | "LA" | "MAND" => Area::Lower,
            "S1" | "S2" | "S3" | "S4" | "S5" | "S6" => Area::Sextant(u.as_bytes()[1] - b'0'),
            "MOUTH" | "FM" | "WHOLE" | "WM" => Area::WholeMouth,
            _ => return None,
        })
    }

    /// Does the area include this tooth?
    pub fn covers(self, t: Tooth) -> bool {
        match self {
            Area::WholeMouth => true,
            Area::Upper => t.is_upper(),
            Area::Lower => !t.is_upper(),
            Area::Quadrant(q) => t.quadrant() == q,
            Area::Sextant(n) => {
                let anterior = t.position() <= 3;
                let q = t.quadrant();
                match n {
                    1 => q == Quadrant::UpperRight && !anterior,
                    2 => t.is_upper() && anterior,
                    3 => q == Quadrant::UpperLeft && !anterior,
                    4 => q == Quadrant::LowerLeft && !anterior,
                    5 => !t.is_upper() && anterior,
                    _ => q == Quadrant::LowerRight && !anterior,
                }
            }
        }
    }
}

/// Which teeth a chart shows.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Dentition {
    Permanent,
    Primary,
    /// Both sets: the primary teeth inside the permanent ones.
    Mixed,
}

impl Dentition {
    pub const ALL: [Dentition; 3] = [Dentition::Permanent, Dentition::Mixed, Dentition::Primary];

    pub fn code(self) -> &'static str {
        match self {
            Dentition::Permanent => "permanent",
            Dentition::Primary => "primary",
            Dentition::Mixed => "mixed",
        }
    }

    pub fn from_code(s: &str) -> Option<Dentition> {
        Dentition::ALL.into_iter().find(|d| d.code() == s)
    }

    /// The usual dentition at an age: primary before 6, mixed from 6 to 12, then permanent.
    pub fn for_age(years: i64) -> Dentition {
        match years {
            i64::MIN..=5 => Dentition::Primary,
            6..=12 => Dentition::Mixed,
            _ => Dentition::Permanent,
        }
    }

    pub fn shows(self, t: Tooth) -> bool {
        match self {
            Dentition::Permanent => !t.is_primary(),
            Dentition::Primary => t.is_primary(),
            Dentition::Mixed => true,
        }
    }
}

/// The teeth of an arch in the order a chart draws them, from the patient's right (the
/// viewer's left) to the patient's left: `18 … 11 21 … 28`, or `48 … 41 31 … 38`.
pub fn arch_order(upper: bool, primary: bool) -> Vec<Tooth> {
    let (right, left) = match (upper, primary) {
        (true, false) => (1, 2),
        (false, false) => (4, 3),
        (true, true) => (5, 6),
        (false, true) => (8, 7),
    };
    let max = if primary { 5 } else { 8 };
    let mut v: Vec<Tooth> = (1..=max)
        .rev()
        .filter_map(|p| Tooth::from_fdi(right * 10 + p))
        .collect();
    v.extend((1..=max).filter_map(|p| Tooth::from_fdi(left * 10 + p)));
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// FDI, Universal and Palmer for all 52 teeth, written out from the standards' charts.
    const TABLE: &[(u8, &str, &str)] = &[
        (18, "1", "8┘"),
        (17, "2", "7┘"),
        (16, "3", "6┘"),
        (15, "4", "5┘"),
        (14, "5", "4┘"),
        (13, "6", "3┘"),
        (12, "7", "2┘"),
        (11, "8", "1┘"),
        (21, "9", "└1"),
        (22, "10", "└2"),
        (23, "11", "└3"),
        (24, "12", "└4"),
        (25, "13", "└5"),
        (26, "14", "└6"),
        (27, "15", "└7"),
        (28, "16", "└8"),
        (38, "17", "┌8"),
        (37, "18", "┌7"),
        (36, "19", "┌6"),
        (35, "20", "┌5"),
        (34, "21", "┌4"),
        (33, "22", "┌3"),
        (32, "23", "┌2"),
        (31, "24", "┌1"),
        (41, "25", "1┐"),
        (42, "26", "2┐"),
        (43, "27", "3┐"),
        (44, "28", "4┐"),
        (45, "29", "5┐"),
        (46, "30", "6┐"),
        (47, "31", "7┐"),
        (48, "32", "8┐"),
        (55, "A", "E┘"),
        (54, "B", "D┘"),
        (53, "C", "C┘"),
        (52, "D", "B┘"),
        (51, "E", "A┘"),
        (61, "F", "└A"),
        (62, "G", "└B"),
        (63, "H", "└C"),
        (64, "I", "└D"),
        (65, "J", "└E"),
        (75, "K", "┌E"),
        (74, "L", "┌D"),
        (73, "M", "┌C"),
        (72, "N", "┌B"),
        (71, "O", "┌A"),
        (81, "P", "A┐"),
        (82, "Q", "B┐"),
        (83, "R", "C┐"),
        (84, "S", "D┐"),
        (85, "T", "E┐"),
    ];

    #[test]
    fn all_52_teeth_convert_exactly() {
        assert_eq!(TABLE.len(), 52);
        assert_eq!(Tooth::all().count(), 52);
        for (fdi, uni, palmer) in TABLE {
            let t = Tooth::from_fdi(*fdi).unwrap();
            assert_eq!(t.universal(), *uni, "universal of {fdi}");
            assert_eq!(t.palmer(), *palmer, "palmer of {fdi}");
            assert_eq!(Tooth::from_universal(uni), Some(t), "from universal {uni}");
            assert_eq!(Tooth::from_palmer(palmer), Some(t), "from palmer {palmer}");
            assert_eq!(Tooth::parse(&fdi.to_string(), Numbering::Fdi), Some(t));
            for n in Numbering::ALL {
                assert_eq!(Tooth::parse(&t.show(n), n), Some(t), "{n:?} of {fdi}");
            }
        }
    }

    #[test]
    fn palmer_is_typed_with_quadrant_letters() {
        assert_eq!(Tooth::from_palmer("UR6"), Tooth::from_fdi(16));
        assert_eq!(Tooth::from_palmer("ll8"), Tooth::from_fdi(38));
        assert_eq!(Tooth::from_palmer("ULd"), Tooth::from_fdi(64));
        assert_eq!(Tooth::from_palmer("UR9"), None);
        assert_eq!(Tooth::from_palmer("URF"), None);
        assert_eq!(Tooth::parse("46", Numbering::Palmer), Tooth::from_fdi(46));
        assert_eq!(Tooth::from_universal("u"), None);
        assert_eq!(Tooth::from_universal("t"), Tooth::from_fdi(85));
        assert_eq!(Tooth::from_universal("33"), None);
        assert_eq!(Tooth::from_universal("0"), None);
    }

    #[test]
    fn non_teeth_are_refused() {
        for n in [0u8, 10, 19, 20, 49, 50, 56, 59, 86, 90, 99] {
            assert_eq!(Tooth::from_fdi(n), None, "{n}");
        }
        assert!(serde_json::from_str::<Tooth>("19").is_err());
        assert_eq!(serde_json::from_str::<Tooth>("16").unwrap().fdi(), 16);
    }

    #[test]
    fn surfaces_are_checked_against_the_tooth() {
        let molar = Tooth::from_fdi(16).unwrap();
        let incisor = Tooth::from_fdi(11).unwrap();
        let mod_ = Surfaces::parse_for("MOD", molar).unwrap();
        assert_eq!(mod_.show_on(molar), "MOD");
        assert_eq!(Surfaces::parse_for("dom", molar).unwrap(), mod_);
        let e = Surfaces::parse_for("MOD", incisor).unwrap_err();
        assert!(e.contains("not an occlusal surface"), "{e}");
        assert!(Surfaces::parse_for("MI", molar).is_err());
        assert!(
            Surfaces::parse_for("MM", molar)
                .unwrap_err()
                .contains("twice")
        );
        assert!(Surfaces::parse_for("MX", molar).is_err());
        // Facial and buccal are one side; so are lingual and palatal.
        assert_eq!(
            Surfaces::parse_for("MIF", incisor)
                .unwrap()
                .show_on(incisor),
            "MIF"
        );
        assert!(Surfaces::parse_for("BF", molar).is_err());
        assert_eq!(
            Surfaces::parse_for("P", molar).unwrap(),
            Surfaces::of(&[Surface::Lingual])
        );
        assert_eq!(Surfaces::from_bits(0b100_0000), None);
    }

    #[test]
    fn areas_cover_their_teeth() {
        let t = |n| Tooth::from_fdi(n).unwrap();
        assert!(Area::Sextant(1).covers(t(17)));
        assert!(!Area::Sextant(1).covers(t(13)));
        assert!(Area::Sextant(2).covers(t(23)));
        assert!(Area::Sextant(5).covers(t(43)));
        assert!(Area::Sextant(6).covers(t(46)));
        assert!(Area::Quadrant(Quadrant::LowerLeft).covers(t(75)));
        for a in Area::all() {
            assert_eq!(Area::parse(&a.code()), Some(a));
            assert!(Tooth::all().any(|t| a.covers(t)), "{a:?} covers nothing");
        }
        // The six sextants split the permanent teeth exactly.
        for tooth in Tooth::all().filter(|t| !t.is_primary()) {
            assert_eq!(
                (1..=6).filter(|s| Area::Sextant(*s).covers(tooth)).count(),
                1
            );
        }
        assert_eq!(Area::parse("s7"), None);
    }

    #[test]
    fn arches_run_from_the_patients_right() {
        let upper: Vec<u8> = arch_order(true, false).iter().map(|t| t.fdi()).collect();
        assert_eq!(
            upper,
            vec![
                18, 17, 16, 15, 14, 13, 12, 11, 21, 22, 23, 24, 25, 26, 27, 28
            ]
        );
        let lower: Vec<u8> = arch_order(false, true).iter().map(|t| t.fdi()).collect();
        assert_eq!(lower, vec![85, 84, 83, 82, 81, 71, 72, 73, 74, 75]);
        assert_eq!(Dentition::for_age(4), Dentition::Primary);
        assert_eq!(Dentition::for_age(9), Dentition::Mixed);
        assert_eq!(Dentition::for_age(30), Dentition::Permanent);
    }

    proptest! {
        /// Every notation round-trips for every tooth, and different teeth never share a name.
        #[test]
        fn notations_round_trip(a in 0usize..52, b in 0usize..52) {
            let teeth: Vec<Tooth> = Tooth::all().collect();
            let (ta, tb) = (teeth[a], teeth[b]);
            for n in Numbering::ALL {
                prop_assert_eq!(Tooth::parse(&ta.show(n), n), Some(ta));
                if ta != tb {
                    prop_assert_ne!(ta.show(n), tb.show(n));
                }
            }
            prop_assert_eq!(ta.successor().is_primary(), false);
            prop_assert_eq!(ta.successor().quadrant(), ta.quadrant());
        }

        /// Any subset of a tooth's surfaces, typed in any order, parses back to itself.
        #[test]
        fn surface_sets_round_trip(a in 0usize..52, bits in 0u8..64) {
            let t: Tooth = Tooth::all().nth(a).unwrap();
            let set = Surfaces(bits & t.surfaces().bits());
            let typed: String = set.show_on(t).chars().rev().collect();
            prop_assert_eq!(Surfaces::parse_for(&typed, t), Ok(set));
        }
    }
}
