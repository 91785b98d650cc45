//! The `cuspid` binary: `cuspid serve` (the default), `migrate`, `check`, `demo --reset`,
//! `generate`, `import patients`, `config print-default`.

mod app;
mod config;
mod demo;
mod generate;
mod import;
mod names;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, Overrides};

#[derive(Parser, Debug)]
#[command(
    name = "cuspid",
    version,
    about = "Dental practice management, EHR and imaging"
)]
struct Cli {
    /// Configuration file (default ./cuspid.toml when it exists).
    #[arg(long, env = "CUSPID_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
    /// With no command, `cuspid` serves: these are `serve`'s flags.
    #[command(flatten)]
    serve: ServeArgs,
}

/// Flags every command touching the database takes.
#[derive(Args, Debug, Clone, Default)]
struct DbArgs {
    /// Data directory (SQLite database and local files).
    #[arg(long, env = "CUSPID_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// postgres://… to run on PostgreSQL instead of SQLite.
    #[arg(long, env = "CUSPID_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

#[derive(Args, Debug, Clone, Default)]
struct ServeArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Address to listen on.
    #[arg(long, env = "CUSPID_LISTEN")]
    listen: Option<String>,
    /// Do not create the demo clinic on an empty database.
    #[arg(long, env = "CUSPID_NO_DEMO")]
    no_demo: bool,
    /// Password for the demo users.
    #[arg(long, env = "CUSPID_DEMO_PASSWORD", hide_env_values = true)]
    demo_password: Option<String>,
    /// Log format: json or pretty.
    #[arg(long, env = "CUSPID_LOG_FORMAT")]
    log_format: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the web application (the default command).
    Serve(ServeArgs),
    /// Bring the database schema up to date and exit.
    Migrate(DbArgs),
    /// Check the configuration, the database and the object storage.
    Check(DbArgs),
    /// The demo clinic.
    Demo {
        #[command(flatten)]
        db: DbArgs,
        /// Delete and recreate the demo clinic.
        #[arg(long)]
        reset: bool,
    },
    /// Generate deterministic synthetic data at benchmark scale.
    Generate {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long, value_enum, default_value_t = generate::Preset::Practice)]
        preset: generate::Preset,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Patients to generate instead of the preset's number (practice 5,000, dso-slice
        /// 1,000,000).
        #[arg(long)]
        patients: Option<u64>,
        /// Years of appointments, up to the end of 2026 (0: none).
        #[arg(long, default_value_t = 10)]
        years: u32,
        /// Also create an administrator, `admin@<org slug>.cuspid.test`, with this password
        /// (benchmarks sign in as them).
        #[arg(long, env = "CUSPID_GENERATE_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: Option<String>,
    },
    /// Import data exported from another system.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The books.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// Field-encryption keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Writes events as fast as it can and prints each id once its commit returned (used by
    /// the crash-durability test).
    #[command(hide = true)]
    WriteBurst {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long, default_value_t = 100_000)]
        count: u64,
    },
}

#[derive(Subcommand, Debug)]
enum ImportCommand {
    /// Patients from a CSV file (an Open Dental export, or Cuspid's column names). Every row
    /// is checked; bad rows are listed by line and field and the others imported. Running it
    /// again skips what is already there. Exit status: 0 when the import ran (even with bad
    /// rows), 1 when the file or its mapping is refused, 2 for usage errors.
    Patients {
        /// The CSV file.
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
        /// The organization's slug.
        #[arg(long)]
        org: String,
        /// The patients' home location: its name or id (required when there are several).
        #[arg(long)]
        location: Option<String>,
        /// The file's columns (default: recognized from the header line).
        #[arg(long, value_enum)]
        preset: Option<import::Preset>,
        /// Dates not written YYYY-MM-DD are day first (31/12/1980), not month first.
        #[arg(long)]
        day_first: bool,
        /// Check every row and report, writing nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Re-wrap every organization's data keys under a new master key (64 hex characters, read
    /// from CUSPID_NEW_MASTER_KEY). With a generated master-key file the file is replaced (the
    /// old key is kept as master-key.previous for old backups); a configured key must then be
    /// replaced in the configuration of every server, which are restarted.
    Rewrap {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long, env = "CUSPID_NEW_MASTER_KEY", hide_env_values = true)]
        new_master_key: String,
    },
    /// Give each organization a new data key and re-encrypt every encrypted value with it, in
    /// batches, while Cuspid keeps serving. Killed half-way, run it again: it finishes the
    /// rotation it started instead of starting another.
    Rotate {
        #[command(flatten)]
        db: DbArgs,
        /// Only this organization.
        #[arg(long)]
        org: Option<String>,
        /// Values re-encrypted per batch and column.
        #[arg(long, default_value_t = 500)]
        batch: i64,
    },
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// Check the hash chain and signed checkpoints; exits non-zero naming the first broken event.
    Verify {
        #[command(flatten)]
        db: DbArgs,
        /// Only this organization.
        #[arg(long)]
        org: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum LedgerCommand {
    /// Check that the books balance: gapless numbering, every posting's double entry, the
    /// trial balance, reversals and allocations; exits non-zero naming what is wrong.
    Verify {
        #[command(flatten)]
        db: DbArgs,
        /// Only this organization.
        #[arg(long)]
        org: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Print the default configuration as TOML.
    PrintDefault,
    /// Print the effective configuration (secrets redacted).
    Show(ServeArgs),
}

fn load(cli_config: &Option<PathBuf>, o: &Overrides) -> Result<Config, String> {
    let (path, explicit) = match cli_config {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from("cuspid.toml"), false),
    };
    Config::load(Some(&path), explicit, o).map_err(|e| format!("configuration: {e}"))
}

fn overrides(s: &ServeArgs) -> Overrides {
    Overrides {
        listen: s.listen.clone(),
        data_dir: s.db.data_dir.clone(),
        database_url: s.db.database_url.clone(),
        no_demo: s.no_demo,
        demo_password: s.demo_password.clone(),
        log_format: s.log_format.clone(),
    }
}

fn db_overrides(d: &DbArgs) -> Overrides {
    Overrides {
        data_dir: d.data_dir.clone(),
        database_url: d.database_url.clone(),
        ..Overrides::default()
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve(cli.serve));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The exit status of a failed command (import says 1 for a refused file).
    let mut failure_code = 2u8;
    let result: Result<(), String> = runtime.block_on(async {
        match command {
            Command::Serve(s) => {
                let cfg = load(&cli.config, &overrides(&s))?;
                app::serve(cfg).await
            }
            Command::Migrate(d) => {
                let cfg = load(&cli.config, &db_overrides(&d))?;
                app::migrate_only(cfg).await
            }
            Command::Check(d) => {
                let cfg = load(&cli.config, &db_overrides(&d))?;
                app::check(cfg).await
            }
            Command::Demo { db, reset } => {
                let cfg = load(&cli.config, &db_overrides(&db))?;
                app::demo_command(cfg, reset).await
            }
            Command::Generate {
                db,
                preset,
                seed,
                patients,
                years,
                admin_password,
            } => {
                let cfg = load(&cli.config, &db_overrides(&db))?;
                generate::run(cfg, preset, seed, patients, years, admin_password).await
            }
            Command::Import {
                command:
                    ImportCommand::Patients {
                        file,
                        db,
                        org,
                        location,
                        preset,
                        day_first,
                        dry_run,
                    },
            } => {
                let cfg = load(&cli.config, &db_overrides(&db))?;
                let args = import::Args {
                    file,
                    org,
                    location,
                    preset,
                    day_first,
                    dry_run,
                };
                import::patients(cfg, args).await.map_err(|r| {
                    failure_code = r.exit_code();
                    r.message()
                })
            }
            Command::Audit {
                command: AuditCommand::Verify { db, org },
            } => {
                let cfg = load(&cli.config, &db_overrides(&db))?;
                app::audit_verify(cfg, org).await
            }
            Command::Ledger {
                command: LedgerCommand::Verify { db, org },
            } => {
                let cfg = load(&cli.config, &db_overrides(&db))?;
                app::ledger_verify(cfg, org).await
            }
            Command::Keys {
                command: KeysCommand::Rotate { db, org, batch },
            } => {
                let cfg = load(&cli.config, &db_overrides(&db))?;
                app::keys_rotate(cfg, org, batch).await
            }
            Command::Keys {
                command: KeysCommand::Rewrap { db, new_master_key },
            } => {
                let cfg = load(&cli.config, &db_overrides(&db))?;
                app::keys_rewrap(cfg, &new_master_key).await
            }
            Command::Config { command } => match command {
                ConfigCommand::PrintDefault => {
                    print!("{}", Config::default_toml());
                    Ok(())
                }
                ConfigCommand::Show(s) => {
                    let cfg = load(&cli.config, &overrides(&s))?;
                    println!("{cfg:#?}");
                    Ok(())
                }
            },
            Command::WriteBurst { db, count } => {
                let cfg = load(&cli.config, &db_overrides(&db))?;
                app::write_burst(cfg, count).await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(failure_code)
        }
    }
}
