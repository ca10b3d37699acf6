//! relkpi entry point: parse, dispatch, map errors to exit codes — nothing else.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

mod alloc;
mod cli;
mod cmd;
mod config;
mod import;
mod kpi;
mod output;
mod queries;
mod report;
mod ui;
mod warehouse;

use relkpi_parse::period;

/// Exit codes (documented in the README).
pub mod exit {
    pub const OK: u8 = 0;
    /// Some of the work failed: rows rejected, a file or a KPI failed.
    pub const PARTIAL: u8 = 1;
    /// Usage or input error: nothing was done.
    pub const ERROR: u8 = 2;
}

/// `--version`: relkpi's and the DuckDB engine's.
pub fn version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| {
        // SAFETY: duckdb_library_version returns a pointer to a static C string.
        let duckdb = unsafe { std::ffi::CStr::from_ptr(duckdb::ffi::duckdb_library_version()) };
        format!("{} (DuckDB {})", env!("CARGO_PKG_VERSION"), duckdb.to_string_lossy())
    })
}

fn main() -> ExitCode {
    alloc::configure();
    let matches = cli::Cli::command().version(version()).get_matches();
    let cli = match cli::Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    ui::init(cli.global.quiet, cli.global.verbose);
    match cmd::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::from(exit::OK);
            }
            ui::error(format!("{err:#}"));
            ExitCode::from(exit::ERROR)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
