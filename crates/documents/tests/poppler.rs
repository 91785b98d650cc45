//! The PDFs read back by a real reader: poppler's `pdftotext` extracts the text (accents and
//! all) and `pdfinfo` reads the structure. Needs poppler-utils: fails under `CI=true` without
//! it, skips loudly elsewhere.

use documents::pdf::Info;
use documents::{Align, Block, Column, Document, Paper};
use std::process::Command;

fn have(tool: &str) -> bool {
    let found = Command::new(tool).arg("-v").output().is_ok();
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{tool} (poppler-utils) is needed under CI"
        );
        eprintln!("SKIPPED: {tool} not installed (apt-get install poppler-utils)");
    }
    found
}

fn sample() -> Document {
    Document {
        paper: Paper::Letter,
        info: Info {
            title: "Ordonnance RX-000042".into(),
            author: "Dre Élise Côté".into(),
            created: documents::pdf::pdf_date(2026, 12, 3, 15, 0, 0),
        },
        from: vec![
            "Clinique dentaire du Plateau".into(),
            "4200 rue Saint-Denis, Montréal QC H2J 2K8".into(),
        ],
        reference: vec!["Ordonnance RX-000042".into(), "3 décembre 2026".into()],
        blocks: vec![
            Block::Title("Ordonnance".into()),
            Block::Fields(vec![
                ("Patient".into(), "Léa Tremblay-Gagnon".into()),
                ("Né(e) le".into(), "14 février 1987".into()),
            ]),
            Block::Framed(vec![
                Block::Heading("Amoxicilline 500 mg gélule".into()),
                Block::Paragraph(
                    "1 gélule toutes les 8 heures pendant 7 jours — « à prendre jusqu'à la fin »"
                        .into(),
                ),
            ]),
            Block::Table {
                columns: vec![
                    Column {
                        title: "Acte".into(),
                        share: 3.0,
                        align: Align::Left,
                    },
                    Column {
                        title: "Montant".into(),
                        share: 1.0,
                        align: Align::Right,
                    },
                ],
                rows: vec![vec!["Détartrage".into(), "120,00 €".into()]],
                totals: vec![],
            },
            Block::Signature {
                label: "Signature".into(),
                lines: vec!["Dre Élise Côté".into(), "Permis 12345".into()],
            },
        ],
        footer: "Cuspid".into(),
        page_label: "Page {page} / {pages}".into(),
    }
}

#[test]
fn pdftotext_reads_the_french_text_back() {
    if !have("pdftotext") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rx.pdf");
    std::fs::write(&path, sample().render()).unwrap();
    let out = Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "Clinique dentaire du Plateau",
        "Montréal",
        "Léa Tremblay-Gagnon",
        "Né(e) le",
        "Amoxicilline 500 mg gélule",
        "7 jours — « à prendre jusqu'à la fin »",
        "120,00 €",
        "Dre Élise Côté",
        "Page 1 / 1",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
}

#[test]
fn pdfinfo_reads_the_structure() {
    if !have("pdfinfo") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rx.pdf");
    std::fs::write(&path, sample().render()).unwrap();
    let out = Command::new("pdfinfo").arg(&path).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.trim().is_empty(), "{stderr}");
    assert!(text.contains("Pages:           1"), "{text}");
    assert!(
        text.contains("Title:           Ordonnance RX-000042"),
        "{text}"
    );
    assert!(text.contains("Author:          Dre Élise Côté"), "{text}");
    assert!(text.contains("612 x 792 pts (letter)"), "{text}");
}
