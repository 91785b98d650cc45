//! `cuspid import patients FILE --org SLUG`: a CSV export from another system (Open Dental's
//! patient table, or Cuspid's own column names) into an organization, through
//! `Store::import_patients` (validation of every row, re-runs skip what is already there), with
//! a progress bar on stderr and the report on stdout.
//!
//! Exit codes: 0 when the import ran (even if some rows were refused: the report lists them),
//! 1 when the file or its mapping is refused (nothing is written), 2 for usage errors (an
//! unknown organization or location, bad flags).

use std::path::PathBuf;

use domain::patients::import::{Mapping, preset};
use domain::{Location, Scope};
use store::patients::Actor;
use store::patients::import::{ImportOptions, ImportReport};
use store::tenancy::WriteError;

use crate::config::Config;

/// At most this many row errors are printed.
pub const SHOWN_ERRORS: usize = 50;

/// Why an import did not run.
#[derive(Debug)]
pub enum Refusal {
    /// The command line names something that does not exist (exit 2).
    Usage(String),
    /// The file, its mapping or the database refused it (exit 1).
    Refused(String),
}

impl Refusal {
    pub fn exit_code(&self) -> u8 {
        match self {
            Refusal::Usage(_) => 2,
            Refusal::Refused(_) => 1,
        }
    }

    pub fn message(self) -> String {
        match self {
            Refusal::Usage(m) | Refusal::Refused(m) => m,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// Open Dental's patient table (PatNum, LName, FName, Birthdate, …).
    Opendental,
    /// Cuspid's own column names (given_name, family_name, birth_date, …).
    Cuspid,
}

impl Preset {
    fn name(self) -> &'static str {
        match self {
            Preset::Opendental => "opendental",
            Preset::Cuspid => "cuspid",
        }
    }
}

pub struct Args {
    pub file: PathBuf,
    pub org: String,
    pub location: Option<String>,
    pub preset: Option<Preset>,
    pub day_first: bool,
    pub dry_run: bool,
}

/// The header line's fields, enough to recognize a preset (the store reads the file itself).
fn headers(data: &[u8]) -> Vec<String> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let first = data.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let line: String = String::from_utf8_lossy(first).trim_end_matches('\r').into();
    let delimiter = if line.matches(';').count() > line.matches(',').count() {
        ';'
    } else {
        ','
    };
    line.split(delimiter)
        .map(|h| h.trim().trim_matches('"').trim().to_string())
        .collect()
}

/// The location named by `--location` (its id or its name, case-insensitively), or the
/// organization's only one.
fn choose_location(locations: &[Location], wanted: Option<&str>) -> Result<Location, Refusal> {
    let names = || {
        locations
            .iter()
            .map(|l| format!("\"{}\" ({})", l.name, l.id))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match wanted {
        Some(w) => locations
            .iter()
            .find(|l| l.id.to_string() == w.trim() || l.name.eq_ignore_ascii_case(w.trim()))
            .cloned()
            .ok_or_else(|| {
                Refusal::Usage(format!(
                    "--location: no location \"{w}\" in this organization; it has {}",
                    names()
                ))
            }),
        None => match locations {
            [only] => Ok(only.clone()),
            [] => Err(Refusal::Usage(
                "this organization has no location to import patients into".into(),
            )),
            _ => Err(Refusal::Usage(format!(
                "--location is required: this organization has {}",
                names()
            ))),
        },
    }
}

fn refused(e: WriteError) -> Refusal {
    match e {
        WriteError::Invalid(d) if !d.fields.is_empty() => Refusal::Refused(
            d.fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        WriteError::Invalid(d) => Refusal::Refused(d.message),
        WriteError::Db(e) => Refusal::Refused(format!("database: {e}")),
    }
}

pub async fn patients(cfg: Config, args: Args) -> Result<(), Refusal> {
    let data = std::fs::read(&args.file)
        .map_err(|e| Refusal::Refused(format!("cannot read {}: {e}", args.file.display())))?;
    let store = crate::app::open_store(&cfg)
        .await
        .map_err(Refusal::Refused)?;
    let org = store
        .org_by_slug(&args.org)
        .await
        .map_err(|e| Refusal::Refused(e.to_string()))?
        .ok_or_else(|| Refusal::Usage(format!("--org: no organization \"{}\"", args.org)))?;
    let scope = Scope::system(org.id);
    let locations = store
        .locations(&scope)
        .await
        .map_err(|e| Refusal::Refused(e.to_string()))?;
    let location = choose_location(&locations, args.location.as_deref())?;
    let mut mapping = match args.preset {
        Some(p) => preset(p.name())
            .ok_or_else(|| Refusal::Usage(format!("--preset: unknown preset {}", p.name())))?,
        None => Mapping::detect(&headers(&data)),
    };
    mapping.day_first = args.day_first;
    let file_name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    eprintln!(
        "{} {} into {} / {} ({} columns){}",
        if args.dry_run {
            "checking"
        } else {
            "importing"
        },
        args.file.display(),
        org.slug,
        location.name,
        if mapping.codes == "opendental" {
            "Open Dental"
        } else {
            "Cuspid"
        },
        if args.dry_run {
            ": dry run, nothing is written"
        } else {
            ""
        }
    );
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "  {bar:40} {pos}/{len} rows ({per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress = {
        let bar = bar.clone();
        move |done: u64, total: u64| {
            bar.set_length(total);
            bar.set_position(done);
            // Plain lines when stderr is not a terminal (logs, tests).
            if bar.is_hidden() {
                eprintln!("  {done}/{total} rows");
            }
        }
    };
    let mut opts = ImportOptions {
        location_id: location.id,
        mapping,
        dry_run: args.dry_run,
        file_name,
        run: None,
    };
    // Recorded like the page's imports, so it is listed on /patients/import.
    opts.run = Some(
        store
            .start_import(&scope, &Actor::system("import"), &opts)
            .await
            .map_err(refused)?,
    );
    let report = store
        .import_patients(&scope, &Actor::system("import"), &data, &opts, &progress)
        .await;
    if let (Err(e), Some(run)) = (&report, opts.run) {
        // The run is listed as failed, with the reason, rather than running forever.
        let _ = store.fail_import(run, &e.to_string()).await;
    }
    let report = report.map_err(refused);
    bar.finish_and_clear();
    print!("{}", render(&report?));
    Ok(())
}

/// The report: counts, then each problem as `line N: field: message`.
pub fn render(r: &ImportReport) -> String {
    let mut out = String::new();
    let would = if r.dry_run { "would be " } else { "" };
    if r.dry_run {
        out.push_str("dry run: nothing was written\n");
    }
    out.push_str(&format!("rows:    {}\n", r.total_rows));
    out.push_str(&format!("created: {} {would}created\n", r.created));
    out.push_str(&format!(
        "skipped: {} already in Cuspid or repeated in the file\n",
        r.skipped
    ));
    out.push_str(&format!("failed:  {} with errors\n", r.failed));
    for e in r.errors.iter().take(SHOWN_ERRORS) {
        out.push_str(&format!(
            "line {}: {}: {}{}\n",
            e.line,
            e.field,
            e.message,
            if e.warning { " (warning)" } else { "" }
        ));
    }
    if r.errors.len() > SHOWN_ERRORS {
        out.push_str(&format!("… and {} more\n", r.errors.len() - SHOWN_ERRORS));
    }
    if r.failed > 0 {
        out.push_str(&format!(
            "the import ran, but {} row(s) were not imported: correct them in the file and run it again (rows already imported are skipped)\n",
            r.failed
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::patients::import::RowError;

    #[test]
    fn headers_are_read_with_either_delimiter_and_a_bom() {
        assert_eq!(
            headers(b"\xEF\xBB\xBFPatNum,\"LName\",FName\r\n1,a,b\n"),
            ["PatNum", "LName", "FName"]
        );
        assert_eq!(headers(b"a;b;c\n"), ["a", "b", "c"]);
    }

    #[test]
    fn the_report_caps_errors_at_fifty() {
        let r = ImportReport {
            total_rows: 70,
            failed: 60,
            errors: (0..60)
                .map(|i| RowError {
                    line: i + 2,
                    field: "birth_date".into(),
                    message: "is required".into(),
                    warning: i == 0,
                })
                .collect(),
            ..Default::default()
        };
        let text = render(&r);
        assert!(text.contains("line 2: birth_date: is required (warning)\n"));
        assert!(text.contains("line 51: birth_date: is required\n"));
        assert!(!text.contains("line 52:"));
        assert!(text.contains("… and 10 more\n"));
    }
}
