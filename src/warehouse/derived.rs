//! The warehouse's derived tables (attribution links and facts) and the temp
//! macros KPI queries read them through.

use anyhow::{Context, Result};
use duckdb::Connection;

use crate::config::Config;
use crate::queries;

/// A session SQL file (`queries/session/`) with its placeholders filled in:
/// the warehouse's catalog, the table prefix `{t}` and the attribution settings.
fn session_sql(name: &str, db: &str, t: &str, cfg: &Config) -> Result<String> {
    let a = &cfg.attribution;
    Ok(queries::text(&format!("session/{name}"))
        .with_context(|| format!("session/{name} missing"))?
        .replace("{kind}", if t.starts_with("temp.") { "temp" } else { "" })
        .replace("{t}", t)
        .replace("{db}", db)
        .replace("{window_days}", &a.window_days.to_string())
        .replace("{major_priority}", &a.major_priority.to_string())
        .replace("{ci_window}", if a.ci_window { "true" } else { "false" }))
}

/// Name prefix of the warehouse's derived tables (queries/session/attribution_build.sql).
const DERIVED_PREFIX: &str = "derived_";

/// The attribution settings the derived tables are built for, as stored in `derived_meta`.
fn derived_settings(cfg: &Config) -> String {
    let a = &cfg.attribution;
    format!(
        "window_days={} ci_window={} major_priority={}",
        a.window_days, a.ci_window, a.major_priority
    )
}

fn quoted_db(conn: &Connection) -> Result<String> {
    let db: String = conn.query_row("select current_database()", [], |r| r.get(0))?;
    Ok(format!("\"{}\"", db.replace('"', "\"\"")))
}

fn data_version(conn: &Connection) -> Result<String> {
    let sql = queries::text("session/data_version.sql").context("session/data_version.sql missing")?;
    Ok(conn.query_row(sql, [], |r| r.get(0))?)
}

/// Build the attribution tables with prefix `t` and point the temp macros at
/// them: table i of queries/session/attribution_build.sql (created with its
/// rows), then macro i of attribution_macros.sql reading it, so each later
/// table is filled through the macros of the earlier ones.
fn build_attribution(conn: &Connection, db: &str, t: &str, cfg: &Config) -> Result<()> {
    let tables = queries::statements(&session_sql("attribution_build.sql", db, t, cfg)?);
    let macros = queries::statements(&session_sql("attribution_macros.sql", db, t, cfg)?);
    anyhow::ensure!(
        tables.len() == macros.len(),
        "queries/session: attribution_build.sql has {} statements, attribution_macros.sql {}",
        tables.len(),
        macros.len()
    );
    for (table, mac) in tables.iter().zip(&macros) {
        conn.execute_batch(table)
            .context("queries/session/attribution_build.sql")?;
        conn.execute_batch(mac)
            .context("queries/session/attribution_macros.sql")?;
    }
    Ok(())
}

/// A broken invariant of the derived tables (queries/session/derived_checks.sql).
#[derive(Debug)]
struct BrokenInvariant {
    invariant: String,
    expected: i64,
    found: i64,
}

/// Check the attribution tables with prefix `t` against the base tables and
/// the warehouse's macros; an error names every invariant that does not hold.
fn check_attribution(conn: &Connection, db: &str, t: &str, cfg: &Config) -> Result<()> {
    let sql = session_sql("derived_checks.sql", db, t, cfg)?;
    let mut stmt = conn.prepare(&sql).context("queries/session/derived_checks.sql")?;
    let broken = stmt
        .query_map([], |r| {
            Ok(BrokenInvariant {
                invariant: r.get(0)?,
                expected: r.get(1)?,
                found: r.get(2)?,
            })
        })?
        .collect::<duckdb::Result<Vec<_>>>()
        .context("queries/session/derived_checks.sql")?;
    if broken.is_empty() {
        return Ok(());
    }
    let list = broken
        .iter()
        .map(|b| format!("\n  {}: expected {}, found {}", b.invariant, b.expected, b.found))
        .collect::<String>();
    anyhow::bail!(
        "the derived tables do not agree with the warehouse's macros (a defect in relkpi or DuckDB; please report it):{list}"
    )
}

/// Rebuild the warehouse's derived tables (the attribution and the facts, for
/// the configured settings; queries/session/attribution_build.sql) in one
/// transaction, check their invariants in it (derived_checks.sql), and record
/// what they were built from. A broken invariant rolls it all back, so stale
/// tables stay marked as such and KPI runs attribute for themselves.
/// `relkpi import` calls it after loading, so KPI runs start from them.
pub fn derive(conn: &Connection, cfg: &Config) -> Result<()> {
    let db = quoted_db(conn)?;
    let t = format!("{db}.main.{DERIVED_PREFIX}");
    crate::warehouse::in_transaction(conn, "committing the derived tables", || {
        build_attribution(conn, &db, &t, cfg)?;
        check_attribution(conn, &db, &t, cfg)?;
        conn.execute(
            "insert or replace into derived_meta values ('attribution', ?, ?, ?)",
            duckdb::params![
                derived_settings(cfg),
                data_version(conn)?,
                chrono::Local::now().naive_local()
            ],
        )?;
        Ok(())
    })
}

/// Whether the stored derived tables were built for these settings from the
/// data as it is now.
fn derived_current(conn: &Connection, cfg: &Config) -> Result<bool> {
    let stored: Option<(String, String)> = conn
        .query_row(
            "select settings, data_version from derived_meta where name = 'attribution'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map(Some)
        .or_else(|e| match e {
            duckdb::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    Ok(match stored {
        Some((settings, version)) => settings == derived_settings(cfg) && version == data_version(conn)?,
        None => false,
    })
}

/// Point the temp macros the KPI queries read at the attribution for the
/// configured settings: the warehouse's derived tables when they are current
/// (built by `relkpi import` for these settings from this data), else tables
/// this connection builds in its temp schema (queries/session/). Returns
/// whether the derived tables are used (then another connection can share
/// them for the cost of its temp macros).
pub fn attach(conn: &Connection, cfg: &Config) -> Result<bool> {
    let db = quoted_db(conn)?;
    let derived = cfg.attribution.materialize && derived_current(conn, cfg)?;
    if !cfg.attribution.materialize {
        crate::ui::verbose(
            1,
            "attribution.materialize = false: every query attributes through the macros",
        );
    } else if derived {
        let t = format!("{db}.main.{DERIVED_PREFIX}");
        conn.execute_batch(&session_sql("attribution_macros.sql", &db, &t, cfg)?)
            .context("queries/session/attribution_macros.sql")?;
    } else {
        crate::ui::verbose(
            1,
            "derived tables missing, stale or for other settings: attributing in this process",
        );
        build_attribution(conn, &db, "temp.main.cache_", cfg)?;
    }
    Ok(derived)
}

#[cfg(test)]
mod derived_tests {
    use super::*;

    /// `derive` stores tables that pass their invariants; tables that lost
    /// rows (as the DuckDB defect of attribution_build.sql made them) fail
    /// the check with every broken invariant named.
    #[test]
    fn derived_checks_catch_lost_rows() {
        let dir = tempfile::tempdir().unwrap();
        let wh =
            crate::warehouse::Warehouse::open(&dir.path().join("w.duckdb"), crate::warehouse::Mode::ReadWrite).unwrap();
        let conn = &wh.conn;
        conn.execute_batch(
            "insert into changes (source, change_id, service, actual_end) values
                 ('sn', 'C1', 'pay', timestamp '2025-01-01 10:00'),
                 ('sn', 'C2', 'pay', timestamp '2025-01-05 10:00');
             insert into incidents (source, incident_id, priority, ci, opened_at) values
                 ('sn', 'I1', 1, 'pay', timestamp '2025-01-01 12:00'),
                 ('sn', 'I2', 3, 'pay', timestamp '2025-01-06 12:00'),
                 ('sn', 'I3', 3, 'other', timestamp '2025-01-06 12:00');",
        )
        .unwrap();
        let cfg = Config::default();
        derive(conn, &cfg).unwrap();
        let caused: i64 = conn
            .query_row("select sum(incidents_caused) from derived_change_facts", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(caused, 2, "I1 -> C1, I2 -> C2 by CI window; I3 on another CI");
        let db = quoted_db(conn).unwrap();
        let t = format!("{db}.main.{DERIVED_PREFIX}");
        check_attribution(conn, &db, &t, &cfg).unwrap();
        conn.execute_batch("update derived_change_facts set incidents_caused = 0")
            .unwrap();
        let err = check_attribution(conn, &db, &t, &cfg).unwrap_err().to_string();
        assert!(
            err.contains("incidents caused, summed over the change facts, equal the links: expected 2, found 0"),
            "{err}"
        );
        conn.execute_batch("delete from derived_incident_change_attribution")
            .unwrap();
        let err = check_attribution(conn, &db, &t, &cfg).unwrap_err().to_string();
        assert!(
            err.contains("incident-change links as the macro gives them: expected 2, found 0"),
            "{err}"
        );
    }
}
