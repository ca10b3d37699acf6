//! `relkpi profile init FILE`: write a starting mapping profile for an export
//! (see `import::propose`); `relkpi profile check PROFILE FILE...`: what a
//! profile makes of exports, loading nothing (`import --dry-run --profile`).

use std::fmt::Write as _;

use anyhow::{Context, Result, bail};

use crate::cli::{GlobalArgs, ImportArgs, ProfileCheckArgs, ProfileCommand, ProfileInitArgs};
use crate::exit;
use crate::import::propose::{Proposal, propose};
use crate::import::{self, ImportOptions};
use crate::warehouse::Warehouse;

pub fn run(g: &GlobalArgs, c: ProfileCommand) -> Result<u8> {
    match c {
        ProfileCommand::Init(a) => init(g, a),
        ProfileCommand::Check(a) => check(a),
    }
}

fn init(_g: &GlobalArgs, a: ProfileInitArgs) -> Result<u8> {
    let kind = match &a.kind {
        Some(k) => Some(
            import::kind_table(k)
                .with_context(|| format!("--kind {k:?}: use releases, changes, incidents or satisfaction"))?
                .to_owned(),
        ),
        None => None,
    };
    let opts = ImportOptions {
        kind,
        source_name: "canonical".into(),
        ..Default::default()
    };
    let scratch = Warehouse::scratch()?;
    let p = propose(&scratch.conn, &a.file, &opts)?;
    let text = render(&a.file, &p);
    match &a.out {
        Some(out) => {
            if out.exists() && !a.force {
                bail!(
                    "{} exists: choose another --out, or --force to replace it",
                    out.display()
                );
            }
            std::fs::write(out, &text).with_context(|| format!("cannot write {}", out.display()))?;
            crate::ui::info(format!(
                "wrote {}: {} columns mapped, {} candidates; edit it, then `relkpi profile check {} {}`",
                out.display(),
                p.columns.len(),
                p.candidates.len(),
                out.display(),
                a.file.display()
            ));
        }
        None => print!("{text}"),
    }
    Ok(exit::OK)
}

fn check(a: ProfileCheckArgs) -> Result<u8> {
    let args = ImportArgs {
        files: a.files,
        source: None,
        kind: None,
        profile: Some(a.profile),
        source_name: "canonical".into(),
        date_order: None,
        format: a.format,
        dry_run: true,
    };
    let opts = super::import::options(&args)?;
    super::import::dry_run(&args, &opts)
}

/// A TOML string.
fn q(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// The profile as TOML, with its commented candidates and value lists.
fn render(file: &std::path::Path, p: &Proposal) -> String {
    let stem = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name: String = stem
        .split('.')
        .next()
        .unwrap_or("custom")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let mut out = String::new();
    let _ = writeln!(out, "# Mapping profile written by `relkpi profile init {stem}`.");
    match &p.based_on {
        Some(b) => {
            let _ = writeln!(
                out,
                "# Started from the built-in mapping {b}, which fits this file best."
            );
        }
        None => {
            let _ = writeln!(
                out,
                "# No built-in mapping fits this file; columns were matched by the names\n# the built-in profiles know."
            );
        }
    }
    let _ = writeln!(
        out,
        "# Check each mapping, uncomment the candidates that apply, fill in the\n# values marked `?`, then: relkpi profile check THIS.toml {stem}\n# and: relkpi import --profile THIS.toml {stem}"
    );
    let _ = writeln!(out, "name = {}", q(&name));
    let _ = writeln!(out, "description = {}", q(&format!("Exports like {stem}")));
    let _ = writeln!(out, "date_order = {}", q(&p.date_order));
    let _ = writeln!(out, "\n[[kind]]\ntable = {}", q(&p.table));
    let key = import::key_column(&p.table);
    if let Some(k) = p.columns.get(key) {
        let _ = writeln!(out, "detect = [[{}]]", q(k));
    } else {
        let _ = writeln!(
            out,
            "# No header was recognised as the key ({key}): set columns.{key} and detect."
        );
        let _ = writeln!(out, "detect = []");
    }
    if let Some(prefix) = &p.key_prefix {
        let _ = writeln!(out, "key_prefix = {}", q(prefix));
    }
    let _ = writeln!(out, "\n[kind.columns]");
    for (col, header) in &p.columns {
        let _ = writeln!(out, "{col} = {}", q(header));
    }
    if !p.candidates.is_empty() {
        let _ = writeln!(
            out,
            "# Headers not mapped (a canonical column is suggested where a built-in\n# profile maps a header of that name to one):"
        );
        for (header, col) in &p.candidates {
            match col {
                Some(c) => {
                    let _ = writeln!(out, "# {c} = {}", q(header));
                }
                None => {
                    let _ = writeln!(out, "# ? = {}", q(header));
                }
            }
        }
    }
    for (col, list) in &p.values {
        let _ = writeln!(out, "\n[kind.values.{col}]");
        let _ = writeln!(
            out,
            "# every value of {} in the file, with its rows",
            q(p.columns.get(col).map(String::as_str).unwrap_or(col))
        );
        for v in list {
            match &v.mapped {
                Some((val, from)) => {
                    let _ = writeln!(out, "{} = {}  # {} rows; {}", q(&v.raw), q(val), v.rows, from);
                }
                None => {
                    let _ = writeln!(out, "# {} = \"?\"  # {} rows; not recognised", q(&v.raw), v.rows);
                }
            }
        }
    }
    out
}
