//! `relkpi review`: release review cards (the engine is `report::review`).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use crate::cli::{GlobalArgs, ReviewArgs};
use crate::kpi;
use crate::report::review;
use crate::warehouse::{Mode, Session};

pub fn run(g: &GlobalArgs, a: ReviewArgs) -> Result<u8> {
    let s = Session::open(&g.db, g.config.as_deref(), Mode::ReadOnly)?;
    // Policy violations feed the cards; the attribution cache speeds them up.
    s.prepared()?;
    let (conn, cfg) = (s.conn(), &s.config);
    if let Some(id) = &a.release {
        let source = match &a.source {
            Some(src) => src.clone(),
            None => {
                let sources = review::sources_of(conn, cfg, id)?;
                match sources.as_slice() {
                    [one] => one.clone(),
                    [] => bail!(
                        "no release {id:?} in the warehouse (see `relkpi sql \"select release_id from releases\"`)"
                    ),
                    many => bail!(
                        "release {id:?} exists in several sources ({}); choose one with --source",
                        many.join(", ")
                    ),
                }
            }
        };
        let c = review::card(conn, cfg, &source, id)?;
        let out = a
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from("reports").join("reviews"));
        std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
        let html = review::write_card(&c, &out)?;
        println!("{}", html.display());
        return Ok(crate::exit::OK);
    }
    let period = kpi::resolve_period(conn, a.period.request())?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("reports").join(&period.label).join("reviews"));
    let cards = review::cards_for_period(conn, cfg, &period)?;
    review::write_period(&cards, &period, "every release deployed in the period", &out)?;
    crate::ui::verbose(1, format!("{} review cards for {}", cards.len(), period.label));
    println!("{}", out.join("index.html").display());
    Ok(crate::exit::OK)
}
