//! The PDF file itself (ISO 32000-1): pages of drawing operators, the three Helvetica faces of
//! the standard fourteen fonts (every reader has them, so nothing is embedded), text in
//! WinAnsiEncoding (English and French, with the euro sign and typographic quotes), and the
//! cross-reference table readers use to find each object.

use std::fmt::Write as _;

/// The three faces used.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Face {
    Regular,
    Bold,
    Italic,
}

impl Face {
    fn resource(self) -> &'static str {
        match self {
            Face::Regular => "F1",
            Face::Bold => "F2",
            Face::Italic => "F3",
        }
    }
}

/// A character in WinAnsiEncoding, or `?` when it has none.
pub fn win_ansi(c: char) -> u8 {
    let u = c as u32;
    match c {
        ' '..='~' => u as u8,
        '\u{a0}'..='\u{ff}' => u as u8,
        '\u{202f}' | '\u{2007}' | '\u{2009}' => 0xa0,
        '€' => 0x80,
        '‚' => 0x82,
        'ƒ' => 0x83,
        '„' => 0x84,
        '…' => 0x85,
        '†' => 0x86,
        '‡' => 0x87,
        'ˆ' => 0x88,
        '‰' => 0x89,
        'Š' => 0x8a,
        '‹' => 0x8b,
        'Œ' => 0x8c,
        'Ž' => 0x8e,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '˜' => 0x98,
        '™' => 0x99,
        'š' => 0x9a,
        '›' => 0x9b,
        'œ' => 0x9c,
        'ž' => 0x9e,
        'Ÿ' => 0x9f,
        '\t' => b' ',
        _ => b'?',
    }
}

/// Advance widths, in thousandths of the font size, of the printable ASCII characters (32 to
/// 126) in Helvetica and Helvetica-Bold. Italic has the regular widths.
const REGULAR: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278,
    278, // ' '..'/'
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // digits
    278, 278, 584, 584, 584, 556, 1015, // ':'..'@'
    667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667,
    611, 722, 667, 944, 667, 667, 611, // 'A'..'Z'
    278, 278, 278, 469, 556, 333, // '['..'`'
    556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500,
    278, 556, 500, 722, 500, 500, 500, // 'a'..'z'
    334, 260, 334, 584, // '{'..'~'
];
const BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278,
    278, // ' '..'/'
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // digits
    333, 333, 584, 584, 584, 611, 975, // ':'..'@'
    722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667,
    611, 722, 667, 944, 667, 667, 611, // 'A'..'Z'
    333, 278, 333, 584, 556, 333, // '['..'`'
    556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, 611, 611, 389, 556,
    333, 611, 556, 778, 556, 556, 500, // 'a'..'z'
    389, 280, 389, 584, // '{'..'~'
];

/// The ASCII letter an accented Latin-1 letter is drawn like (for its width).
fn base_letter(b: u8) -> u8 {
    match b {
        0xc0..=0xc5 => b'A',
        0xc7 => b'C',
        0xc8..=0xcb => b'E',
        0xcc..=0xcf => b'I',
        0xd1 => b'N',
        0xd2..=0xd6 | 0xd8 => b'O',
        0xd9..=0xdc => b'U',
        0xdd | 0x9f => b'Y',
        0xe0..=0xe5 => b'a',
        0xe7 => b'c',
        0xe8..=0xeb => b'e',
        0xec..=0xef => b'i',
        0xf1 => b'n',
        0xf2..=0xf6 | 0xf8 => b'o',
        0xf9..=0xfc => b'u',
        0xfd | 0xff => b'y',
        0x8c | 0xc6 => b'W',
        0x9c | 0xe6 => b'm',
        0x96 | 0xad => b'-',
        0xa0 => b' ',
        0x91 | 0x92 | 0x82 => b',',
        0x95 | 0xb7 => b'.',
        0x97 => b'M',
        _ => b'0',
    }
}

fn glyph_width(b: u8, face: Face) -> u16 {
    let table = if face == Face::Bold { &BOLD } else { &REGULAR };
    let b = if (32..=126).contains(&b) {
        b
    } else {
        base_letter(b)
    };
    table[usize::from(b - 32)]
}

/// The width of a text in points at a size.
pub fn text_width(text: &str, face: Face, size: f32) -> f32 {
    let units: u32 = text
        .chars()
        .map(|c| u32::from(glyph_width(win_ansi(c), face)))
        .sum();
    units as f32 * size / 1000.0
}

/// A PDF string literal: the WinAnsi bytes, with the delimiters escaped and everything
/// outside printable ASCII written in octal, so the file stays 7-bit.
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('(');
    for c in text.chars() {
        let b = win_ansi(c);
        match b {
            b'(' | b')' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            32..=126 => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
    out.push(')');
    out
}

/// A colour, 0 to 1 per channel.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Rgb(pub f32, pub f32, pub f32);

pub const BLACK: Rgb = Rgb(0.0, 0.0, 0.0);

fn n(v: f32) -> String {
    // Two decimals are a hundredth of a point: more than enough, and short.
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// One page's drawing, in PDF user space (points, origin bottom left).
#[derive(Default, Debug, Clone)]
pub struct Canvas {
    ops: String,
}

impl Canvas {
    pub fn text(&mut self, x: f32, y: f32, face: Face, size: f32, color: Rgb, text: &str) {
        let _ = writeln!(
            self.ops,
            "BT {} {} {} rg /{} {} Tf 1 0 0 1 {} {} Tm {} Tj ET",
            n(color.0),
            n(color.1),
            n(color.2),
            face.resource(),
            n(size),
            n(x),
            n(y),
            literal(text)
        );
    }

    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width: f32, color: Rgb) {
        let _ = writeln!(
            self.ops,
            "{} {} {} RG {} w {} {} m {} {} l S",
            n(color.0),
            n(color.1),
            n(color.2),
            n(width),
            n(x1),
            n(y1),
            n(x2),
            n(y2)
        );
    }

    /// A rectangle, filled, stroked, or both (`None` leaves it out).
    pub fn rect(
        &mut self,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        fill: Option<Rgb>,
        stroke: Option<(Rgb, f32)>,
    ) {
        if let Some(f) = fill {
            let _ = writeln!(
                self.ops,
                "{} {} {} rg {} {} {} {} re f",
                n(f.0),
                n(f.1),
                n(f.2),
                n(x),
                n(y),
                n(w),
                n(h)
            );
        }
        if let Some((c, width)) = stroke {
            let _ = writeln!(
                self.ops,
                "{} {} {} RG {} w {} {} {} {} re S",
                n(c.0),
                n(c.1),
                n(c.2),
                n(width),
                n(x),
                n(y),
                n(w),
                n(h)
            );
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// Document information written into the file.
#[derive(Clone, Debug, Default)]
pub struct Info {
    pub title: String,
    pub author: String,
    /// `D:YYYYMMDDHHmmSSZ`, see [`pdf_date`].
    pub created: String,
}

/// A date in the PDF format, in UTC.
pub fn pdf_date(year: i16, month: i8, day: i8, hour: i8, minute: i8, second: i8) -> String {
    format!("D:{year:04}{month:02}{day:02}{hour:02}{minute:02}{second:02}Z")
}

/// The whole file: pages of `width` × `height` points.
pub fn write(pages: &[Canvas], width: f32, height: f32, info: &Info) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    let mut offsets: Vec<usize> = Vec::new();
    // The binary comment tells transfer tools the file is not plain text.
    out.extend_from_slice(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n");
    let mut object = |out: &mut Vec<u8>, body: &str| {
        offsets.push(out.len());
        let id = offsets.len();
        out.extend_from_slice(format!("{id} 0 obj\n{body}\nendobj\n").as_bytes());
    };
    // Objects 1 to 6, then two per page (the page, its content).
    let first_page = 7;
    let kids: Vec<String> = (0..pages.len())
        .map(|i| format!("{} 0 R", first_page + 2 * i))
        .collect();
    object(&mut out, "<< /Type /Catalog /Pages 2 0 R >>");
    object(
        &mut out,
        &format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            pages.len()
        ),
    );
    for base in ["Helvetica", "Helvetica-Bold", "Helvetica-Oblique"] {
        object(
            &mut out,
            &format!(
                "<< /Type /Font /Subtype /Type1 /BaseFont /{base} /Encoding /WinAnsiEncoding >>"
            ),
        );
    }
    let mut info_dict = format!(
        "<< /Producer {} /Title {} ",
        literal("Cuspid"),
        literal(&info.title)
    );
    if !info.author.is_empty() {
        let _ = write!(info_dict, "/Author {} ", literal(&info.author));
    }
    if !info.created.is_empty() {
        let _ = write!(info_dict, "/CreationDate {} ", literal(&info.created));
    }
    info_dict.push_str(">>");
    object(&mut out, &info_dict);
    for (i, page) in pages.iter().enumerate() {
        let content = first_page + 2 * i + 1;
        object(
            &mut out,
            &format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {} {}] \
                 /Resources << /Font << /F1 3 0 R /F2 4 0 R /F3 5 0 R >> >> /Contents {content} 0 R >>",
                n(width),
                n(height)
            ),
        );
        object(
            &mut out,
            &format!(
                "<< /Length {} >>\nstream\n{}endstream",
                page.ops.len(),
                page.ops
            ),
        );
    }
    let xref = out.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1);
    for o in &offsets {
        let _ = writeln!(table, "{o:010} 00000 n ");
    }
    let _ = write!(
        table,
        "trailer\n<< /Size {} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        offsets.len() + 1
    );
    out.extend_from_slice(table.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_and_typography_are_in_win_ansi() {
        assert_eq!(win_ansi('é'), 0xe9);
        assert_eq!(win_ansi('€'), 0x80);
        assert_eq!(win_ansi('’'), 0x92);
        assert_eq!(win_ansi('œ'), 0x9c);
        assert_eq!(win_ansi('\u{202f}'), 0xa0);
        assert_eq!(win_ansi('℞'), b'?');
        assert_eq!(literal("(a\\b) é"), "(\\(a\\\\b\\) \\351)");
    }

    #[test]
    fn widths_follow_the_faces() {
        // "Hi": H 722 + i 222 regular, 722 + 278 bold; at 10 pt.
        assert!((text_width("Hi", Face::Regular, 10.0) - 9.44).abs() < 1e-3);
        assert!((text_width("Hi", Face::Bold, 10.0) - 10.0).abs() < 1e-3);
        assert_eq!(
            text_width("é", Face::Regular, 10.0),
            text_width("e", Face::Regular, 10.0)
        );
        assert_eq!(n(12.0), "12");
        assert_eq!(n(0.5), "0.5");
        assert_eq!(n(-0.001), "0");
    }

    #[test]
    fn the_cross_reference_table_points_at_every_object() {
        let mut c = Canvas::default();
        c.text(50.0, 700.0, Face::Bold, 12.0, BLACK, "Hello");
        let bytes = write(&[c.clone(), c], 595.28, 841.89, &Info::default());
        let at = bytes
            .windows(10)
            .rposition(|w| w == b"startxref\n")
            .unwrap_or(0);
        let tail = std::str::from_utf8(&bytes[at + 10..]).unwrap_or("");
        let start: usize = tail
            .lines()
            .next()
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        assert!(bytes[start..].starts_with(b"xref\n0 11\n"));
        let table = std::str::from_utf8(&bytes[start..]).unwrap_or("");
        let rows: Vec<&str> = table.lines().skip(3).take(10).collect();
        for (i, row) in rows.iter().enumerate() {
            let offset: usize = row[..10].parse().unwrap_or(usize::MAX);
            assert!(
                bytes[offset..].starts_with(format!("{} 0 obj", i + 1).as_bytes()),
                "object {}",
                i + 1
            );
        }
        let text = String::from_utf8_lossy(&bytes).to_string();
        assert!(text.contains("/Count 2"));
        assert!(text.ends_with("%%EOF\n"));
    }
}
