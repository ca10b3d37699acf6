//! `relkpi man`: manual pages generated from the same clap definitions as
//! `--help`: relkpi.1 on standard output, or one page per command in a folder.

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::{Cli, ManArgs};

pub fn run(a: ManArgs) -> Result<u8> {
    let cmd = Cli::command().version(crate::version());
    let Some(dir) = a.out else {
        clap_mangen::Man::new(cmd).render(&mut std::io::stdout().lock())?;
        return Ok(crate::exit::OK);
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    clap_mangen::generate_to(cmd, &dir).with_context(|| format!("cannot write manual pages into {}", dir.display()))?;
    Ok(crate::exit::OK)
}
