//! One module per subcommand, each with a `run` returning the exit code.

use anyhow::Result;

use crate::cli::{Cli, Command};

pub mod chart;
pub mod check;
pub mod compare;
pub mod completions;
pub mod demo;
pub mod export;
pub mod generate;
pub mod import;
pub mod kpi;
pub mod man;
pub mod profile;
pub mod report;
pub mod review;
pub mod schedule;
pub mod sql;
pub mod status;
pub mod trend;

pub fn run(cli: Cli) -> Result<u8> {
    let g = &cli.global;
    match cli.command {
        Command::Import(a) => import::run(g, a),
        Command::Sql(a) => sql::run(g, a),
        Command::Kpi(a) => kpi::run(g, a),
        Command::Compare(a) => compare::run(g, a),
        Command::Trend(a) => trend::run(g, a),
        Command::Report(a) => report::run(g, a),
        Command::Chart(a) => chart::run(g, a),
        Command::Schedule(a) => schedule::run(g, a),
        Command::Review(a) => review::run(g, a),
        Command::Generate(a) => generate::run(g, a),
        Command::Export(a) => export::run(g, a),
        Command::Check(a) => check::run(g, a),
        Command::Demo(a) => demo::run(g, a),
        Command::Status(a) => status::run(g, a),
        Command::Profile(a) => profile::run(g, a),
        Command::Completions(a) => completions::run(a),
        Command::Man(a) => man::run(a),
    }
}
