//! Printable documents. A [`Document`] is a letterhead, a list of [`Block`]s and a footer;
//! [`Document::render`] lays the blocks out on A4 or US Letter pages (wrapping text, breaking
//! pages, repeating a table's header row, numbering the pages) and writes a PDF with
//! [`pdf::write`]. Prescriptions use it first; treatment plans, invoices, receipts and
//! statements are built from the same blocks.

pub mod pdf;

use pdf::{BLACK, Canvas, Face, Info, Rgb, text_width};

/// Paper.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Paper {
    A4,
    Letter,
}

impl Paper {
    /// Width and height in points.
    pub fn size(self) -> (f32, f32) {
        match self {
            Paper::A4 => (595.28, 841.89),
            Paper::Letter => (612.0, 792.0),
        }
    }

    /// US Letter in the United States and Canada, A4 elsewhere.
    pub fn for_country(iso: &str) -> Paper {
        match iso.to_ascii_uppercase().as_str() {
            "US" | "CA" | "MX" => Paper::Letter,
            _ => Paper::A4,
        }
    }
}

/// How a column's cells are aligned.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Align {
    Left,
    Right,
}

#[derive(Clone, Debug)]
pub struct Column {
    pub title: String,
    /// A share of the width; the shares of a table need not add up to anything.
    pub share: f32,
    pub align: Align,
}

/// A piece of a document, laid out top to bottom.
#[derive(Clone, Debug)]
pub enum Block {
    /// The document's name, large.
    Title(String),
    Heading(String),
    Paragraph(String),
    /// Smaller, grey: notes and fine print.
    Note(String),
    /// Label and value pairs, labels in a narrow column.
    Fields(Vec<(String, String)>),
    Table {
        columns: Vec<Column>,
        rows: Vec<Vec<String>>,
        /// Rows drawn bold after the others (totals).
        totals: Vec<Vec<String>>,
    },
    /// Blocks drawn inside a frame, kept on one page when they fit on one.
    Framed(Vec<Block>),
    /// A line to sign on, with the signer's details under it, on the right.
    Signature {
        label: String,
        lines: Vec<String>,
    },
    Rule,
    Space(f32),
}

/// A whole document.
#[derive(Clone, Debug)]
pub struct Document {
    pub paper: Paper,
    pub info: Info,
    /// The practice: its name first (drawn bold), then address and contact lines.
    pub from: Vec<String>,
    /// Lines on the right of the letterhead (the document number, the date).
    pub reference: Vec<String>,
    pub blocks: Vec<Block>,
    /// Left of every page's footer.
    pub footer: String,
    /// Right of the footer, with `{page}` and `{pages}` replaced, e.g. "Page {page} of {pages}".
    pub page_label: String,
}

const MARGIN: f32 = 50.0;
const BODY: f32 = 10.0;
const LEADING: f32 = 1.35;
const GREY: Rgb = Rgb(0.42, 0.45, 0.5);
const LINE: Rgb = Rgb(0.78, 0.8, 0.84);
const ACCENT: Rgb = Rgb(0.05, 0.33, 0.45);
const FOOTER_SPACE: f32 = 36.0;

/// Breaks a text into lines no wider than `width` (a word longer than a line is cut);
/// newlines are kept.
pub fn wrap(text: &str, face: Face, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if text_width(&candidate, face, size) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // The word alone, cut where it overflows.
            let mut piece = String::new();
            for c in word.chars() {
                piece.push(c);
                if text_width(&piece, face, size) > width && piece.chars().count() > 1 {
                    piece.pop();
                    lines.push(std::mem::take(&mut piece));
                    piece.push(c);
                }
            }
            line = piece;
        }
        lines.push(line);
    }
    lines
}

/// Lays blocks out, page after page.
struct Layout {
    width: f32,
    height: f32,
    pages: Vec<Canvas>,
    page: Canvas,
    y: f32,
}

impl Layout {
    fn left(&self) -> f32 {
        MARGIN
    }

    fn body_width(&self) -> f32 {
        self.width - 2.0 * MARGIN
    }

    fn bottom(&self) -> f32 {
        MARGIN + FOOTER_SPACE
    }

    fn new_page(&mut self) {
        let done = std::mem::take(&mut self.page);
        self.pages.push(done);
        self.y = self.height - MARGIN;
    }

    /// Makes room for `h` points, on a new page when this one is full.
    fn room(&mut self, h: f32) {
        if self.y - h < self.bottom() && self.y < self.height - MARGIN - 1.0 {
            self.new_page();
        }
    }

    fn lines(&mut self, x: f32, width: f32, text: &str, face: Face, size: f32, color: Rgb) {
        for l in wrap(text, face, size, width) {
            self.room(size * LEADING);
            self.y -= size * LEADING;
            self.page
                .text(x, self.y + size * 0.25, face, size, color, &l);
        }
    }

    /// The height blocks would take (drawn on a scratch layout as tall as needed).
    fn measure(&self, blocks: &[Block], width: f32) -> f32 {
        let mut scratch = Layout {
            width: width + 2.0 * MARGIN,
            // Tall enough for anything, small enough for f32 to keep hundredths of a point.
            height: 100_000.0,
            pages: Vec::new(),
            page: Canvas::default(),
            y: 100_000.0,
        };
        let start = scratch.y;
        for b in blocks {
            scratch.block(b, MARGIN, width);
        }
        start - scratch.y
    }

    fn block(&mut self, b: &Block, x: f32, width: f32) {
        match b {
            Block::Title(t) => {
                self.room(30.0);
                self.y -= 8.0;
                self.lines(x, width, t, Face::Bold, 18.0, ACCENT);
                self.y -= 6.0;
            }
            Block::Heading(t) => {
                self.room(40.0);
                self.y -= 8.0;
                self.lines(x, width, t, Face::Bold, 11.5, BLACK);
                self.y -= 2.0;
            }
            Block::Paragraph(t) => {
                self.lines(x, width, t, Face::Regular, BODY, BLACK);
                self.y -= 4.0;
            }
            Block::Note(t) => {
                self.lines(x, width, t, Face::Italic, 8.5, GREY);
                self.y -= 3.0;
            }
            Block::Fields(pairs) => {
                let label_w = (width * 0.28).min(150.0);
                for (label, value) in pairs {
                    let value_lines = wrap(value, Face::Regular, BODY, width - label_w);
                    let h = value_lines.len() as f32 * BODY * LEADING;
                    self.room(h);
                    let top = self.y;
                    self.page.text(
                        x,
                        top - BODY * LEADING + BODY * 0.25,
                        Face::Bold,
                        BODY - 1.0,
                        GREY,
                        label,
                    );
                    for l in value_lines {
                        self.y -= BODY * LEADING;
                        self.page.text(
                            x + label_w,
                            self.y + BODY * 0.25,
                            Face::Regular,
                            BODY,
                            BLACK,
                            &l,
                        );
                    }
                    self.y -= 2.0;
                }
                self.y -= 2.0;
            }
            Block::Table {
                columns,
                rows,
                totals,
            } => self.table(x, width, columns, rows, totals),
            Block::Framed(inner) => {
                let pad = 12.0;
                let h = self.measure(inner, width - 2.0 * pad) + 2.0 * pad;
                let fits_a_page = h <= self.height - 2.0 * MARGIN - FOOTER_SPACE;
                if fits_a_page {
                    self.room(h);
                }
                let top = self.y;
                let start_page = self.pages.len();
                self.y -= pad;
                for b in inner {
                    self.block(b, x + pad, width - 2.0 * pad);
                }
                self.y -= pad;
                if self.pages.len() == start_page {
                    self.page
                        .rect(x, self.y, width, top - self.y, None, Some((ACCENT, 1.0)));
                }
                self.y -= 6.0;
            }
            Block::Signature { label, lines } => {
                let h = 50.0 + lines.len() as f32 * BODY * LEADING;
                self.room(h);
                self.y -= 40.0;
                let sig_w = (width * 0.45).min(240.0);
                let sx = x + width - sig_w;
                self.page.line(sx, self.y, x + width, self.y, 0.8, BLACK);
                self.page
                    .text(sx, self.y - 10.0, Face::Italic, 8.5, GREY, label);
                self.y -= 12.0;
                for l in lines {
                    self.y -= BODY * LEADING;
                    self.page
                        .text(sx, self.y + BODY * 0.25, Face::Regular, BODY, BLACK, l);
                }
                self.y -= 4.0;
            }
            Block::Rule => {
                self.room(10.0);
                self.y -= 5.0;
                self.page.line(x, self.y, x + width, self.y, 0.6, LINE);
                self.y -= 5.0;
            }
            Block::Space(h) => {
                self.y -= h.max(0.0);
            }
        }
    }

    fn table(
        &mut self,
        x: f32,
        width: f32,
        columns: &[Column],
        rows: &[Vec<String>],
        totals: &[Vec<String>],
    ) {
        let total_share: f32 = columns.iter().map(|c| c.share.max(0.01)).sum();
        let widths: Vec<f32> = columns
            .iter()
            .map(|c| width * c.share.max(0.01) / total_share)
            .collect();
        let pad = 4.0;
        let header = |l: &mut Layout| {
            l.room(BODY * LEADING * 3.0);
            let h = BODY * LEADING + 2.0 * pad;
            l.page
                .rect(x, l.y - h, width, h, Some(Rgb(0.93, 0.95, 0.97)), None);
            let mut cx = x;
            for (c, w) in columns.iter().zip(&widths) {
                l.cell(cx, *w, pad, l.y - pad, &c.title, Face::Bold, c.align);
                cx += w;
            }
            l.y -= h;
        };
        header(self);
        let all = rows
            .iter()
            .map(|r| (r, Face::Regular))
            .chain(totals.iter().map(|r| (r, Face::Bold)));
        for (row, face) in all {
            let cells: Vec<Vec<String>> = widths
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    wrap(
                        row.get(i).map(String::as_str).unwrap_or(""),
                        face,
                        BODY,
                        w - 2.0 * pad,
                    )
                })
                .collect();
            let n = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
            let h = n as f32 * BODY * LEADING + 2.0 * pad;
            let before = self.pages.len();
            self.room(h);
            if self.pages.len() != before {
                header(self);
            }
            let mut cx = x;
            for ((lines, w), c) in cells.iter().zip(&widths).zip(columns) {
                let mut ly = self.y - pad;
                for l in lines {
                    self.cell(cx, *w, pad, ly, l, face, c.align);
                    ly -= BODY * LEADING;
                }
                cx += w;
            }
            self.y -= h;
            self.page.line(x, self.y, x + width, self.y, 0.5, LINE);
        }
        self.y -= 8.0;
    }

    #[allow(clippy::too_many_arguments)]
    fn cell(&mut self, x: f32, w: f32, pad: f32, top: f32, text: &str, face: Face, align: Align) {
        let tx = match align {
            Align::Left => x + pad,
            Align::Right => x + w - pad - text_width(text, face, BODY),
        };
        self.page.text(
            tx,
            top - BODY * LEADING + BODY * 0.25,
            face,
            BODY,
            BLACK,
            text,
        );
    }
}

impl Document {
    /// The PDF file.
    pub fn render(&self) -> Vec<u8> {
        let (width, height) = self.paper.size();
        let mut l = Layout {
            width,
            height,
            pages: Vec::new(),
            page: Canvas::default(),
            y: height - MARGIN,
        };
        self.letterhead(&mut l);
        for b in &self.blocks {
            l.block(b, l.left(), l.body_width());
        }
        l.new_page();
        let total = l.pages.len();
        for (i, page) in l.pages.iter_mut().enumerate() {
            let y = MARGIN;
            page.line(MARGIN, y + 12.0, width - MARGIN, y + 12.0, 0.5, LINE);
            page.text(MARGIN, y, Face::Regular, 8.0, GREY, &self.footer);
            let label = self
                .page_label
                .replace("{page}", &(i + 1).to_string())
                .replace("{pages}", &total.to_string());
            let w = text_width(&label, Face::Regular, 8.0);
            page.text(width - MARGIN - w, y, Face::Regular, 8.0, GREY, &label);
        }
        pdf::write(&l.pages, width, height, &self.info)
    }

    fn letterhead(&self, l: &mut Layout) {
        let top = l.y;
        let right = l.width - MARGIN;
        let mut y = top;
        for (i, line) in self.from.iter().enumerate() {
            let (face, size, color) = if i == 0 {
                (Face::Bold, 14.0, ACCENT)
            } else {
                (Face::Regular, 9.0, GREY)
            };
            y -= size * LEADING;
            l.page
                .text(MARGIN, y + size * 0.25, face, size, color, line);
        }
        let mut ry = top;
        for (i, line) in self.reference.iter().enumerate() {
            let (face, size) = if i == 0 {
                (Face::Bold, 11.0)
            } else {
                (Face::Regular, 9.0)
            };
            ry -= size * LEADING;
            let w = text_width(line, face, size);
            l.page
                .text(right - w, ry + size * 0.25, face, size, BLACK, line);
        }
        l.y = y.min(ry) - 8.0;
        l.page.line(MARGIN, l.y, right, l.y, 1.2, ACCENT);
        l.y -= 8.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(blocks: Vec<Block>) -> Document {
        Document {
            paper: Paper::A4,
            info: Info {
                title: "Test".into(),
                ..Default::default()
            },
            from: vec!["Clinique".into(), "1 rue Haute".into()],
            reference: vec!["No 1".into()],
            blocks,
            footer: "Cuspid".into(),
            page_label: "Page {page} / {pages}".into(),
        }
    }

    fn page_count(bytes: &[u8]) -> usize {
        String::from_utf8_lossy(bytes)
            .matches("/Type /Page ")
            .count()
    }

    #[test]
    fn wrapping_keeps_every_word_and_fits_the_width() {
        let text = "Take one capsule every eight hours until finished, even if you feel better. \
                    Supercalifragilisticexpialidociouslylongword";
        let lines = wrap(text, Face::Regular, 10.0, 120.0);
        assert!(lines.len() > 3);
        for l in &lines {
            assert!(text_width(l, Face::Regular, 10.0) <= 120.0, "{l}");
        }
        assert_eq!(lines.concat().replace(' ', ""), text.replace(' ', ""));
        assert_eq!(wrap("a\nb", Face::Regular, 10.0, 100.0), ["a", "b"]);
    }

    #[test]
    fn a_short_document_is_one_page_and_a_long_table_breaks_with_its_header() {
        let one = doc(vec![
            Block::Title("Prescription".into()),
            Block::Fields(vec![("Patient".into(), "Léa Tremblay".into())]),
            Block::Signature {
                label: "Signature".into(),
                lines: vec!["Dr A".into()],
            },
        ])
        .render();
        assert_eq!(page_count(&one), 1);
        let rows: Vec<Vec<String>> = (0..120)
            .map(|i| vec![format!("line {i}"), format!("{i}.00")])
            .collect();
        let long = doc(vec![Block::Table {
            columns: vec![
                Column {
                    title: "Item".into(),
                    share: 3.0,
                    align: Align::Left,
                },
                Column {
                    title: "Amount".into(),
                    share: 1.0,
                    align: Align::Right,
                },
            ],
            rows,
            totals: vec![vec!["Total".into(), "7140.00".into()]],
        }])
        .render();
        let pages = page_count(&long);
        assert!(pages >= 3, "{pages} pages");
        let text = String::from_utf8_lossy(&long).to_string();
        assert_eq!(
            text.matches("(Amount)").count(),
            pages,
            "header on every page"
        );
        assert!(text.contains(&format!("(Page {pages} / {pages})")));
        assert!(text.contains("(line 119)") && text.contains("(Total)"));
    }
}
