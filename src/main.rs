//! relkpi entry point: parse, dispatch, map errors to exit codes — nothing else.

use std::process::ExitCode;

use clap::Parser;

mod cli;
mod cmd;
mod config;
mod import;
mod kpi;
mod output;
mod period;
mod queries;
mod stats;
mod warehouse;

/// Exit codes (documented in the README).
pub mod exit {
    pub const OK: u8 = 0;
    /// Some of the work failed: rows rejected, a file or a KPI failed.
    pub const PARTIAL: u8 = 1;
    /// Usage or input error: nothing was done.
    pub const ERROR: u8 = 2;
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cmd::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::from(exit::OK);
            }
            eprintln!("error: {err:#}");
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
