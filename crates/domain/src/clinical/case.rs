//! Treatment cases (seed 004's "treatment as header"): a case groups, for one patient, the
//! diagnoses and procedures charted for a problem, the prescriptions written for it and the
//! files about it, under a title and notes, with the dentist responsible. Open while the work
//! goes on; closed when it is done (reopened if it comes back). Items are linked, never copied:
//! the chart, the prescriptions and the documents stay where they are.

use serde::{Deserialize, Serialize};

use crate::kernel::error::FieldError;

/// What a case links.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A chart entry: a condition (a diagnosis) or a procedure.
    ChartEntry,
    Prescription,
    Document,
}

impl ItemKind {
    pub const ALL: [ItemKind; 3] = [
        ItemKind::ChartEntry,
        ItemKind::Prescription,
        ItemKind::Document,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ItemKind::ChartEntry => "chart_entry",
            ItemKind::Prescription => "prescription",
            ItemKind::Document => "document",
        }
    }

    pub fn from_code(s: &str) -> Option<ItemKind> {
        ItemKind::ALL.into_iter().find(|k| k.code() == s)
    }
}

/// A case's words: its title and notes.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CaseText {
    pub title: String,
    pub notes: String,
}

pub const MAX_TITLE: usize = 200;
pub const MAX_NOTES: usize = 20_000;

impl CaseText {
    /// Trimmed, or every problem at once.
    pub fn normalized(&self) -> Result<CaseText, Vec<FieldError>> {
        let t = CaseText {
            title: self.title.split_whitespace().collect::<Vec<_>>().join(" "),
            notes: self.notes.trim().replace("\r\n", "\n"),
        };
        let mut errors = Vec::new();
        if t.title.is_empty() {
            errors.push(FieldError {
                field: "title".into(),
                message: "is required (what the case is about, e.g. \"Fractured 16: crown\")"
                    .into(),
            });
        } else if t.title.chars().count() > MAX_TITLE {
            errors.push(FieldError {
                field: "title".into(),
                message: format!("at most {MAX_TITLE} characters"),
            });
        }
        if t.notes.chars().count() > MAX_NOTES {
            errors.push(FieldError {
                field: "notes".into(),
                message: format!("at most {MAX_NOTES} characters"),
            });
        }
        if errors.is_empty() {
            Ok(t)
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_needs_a_title_and_keeps_its_notes_lines() {
        let t = CaseText {
            title: "  Fractured   16 ".into(),
            notes: "line one\r\nline two\n".into(),
        }
        .normalized()
        .ok()
        .unwrap_or_default();
        assert_eq!(t.title, "Fractured 16");
        assert_eq!(t.notes, "line one\nline two");
        let bad = CaseText {
            title: " ".into(),
            notes: "x".repeat(MAX_NOTES + 1),
        }
        .normalized()
        .err()
        .unwrap_or_default();
        let fields: Vec<&str> = bad.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["title", "notes"]);
        for k in ItemKind::ALL {
            assert_eq!(ItemKind::from_code(k.code()), Some(k));
        }
        assert_eq!(ItemKind::from_code("visit"), None);
    }
}
