//! `relkpi completions SHELL`: a completion script generated from the same
//! clap definitions as `--help`.

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};

pub fn run(a: CompletionsArgs) -> Result<u8> {
    let mut cmd = Cli::command();
    clap_complete::generate(a.shell, &mut cmd, "relkpi", &mut std::io::stdout().lock());
    Ok(crate::exit::OK)
}
