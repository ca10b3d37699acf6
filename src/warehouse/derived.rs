//! The warehouse's derived tables (attribution links and facts) and the temp
//! macros KPI queries read them through.

use std::collections::HashMap;

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
    Ok(super::quote_ident(&db))
}

fn data_version(conn: &Connection) -> Result<String> {
    let sql = queries::text("session/data_version.sql").context("session/data_version.sql missing")?;
    Ok(conn.query_row(sql, [], |r| r.get(0))?)
}

/// Build the attribution tables with prefix `t` and point the temp macros at
/// them: the i-th table of queries/session/attribution_build.sql (created with
/// its rows), then macro i of attribution_macros.sql reading it, so each later
/// table is filled through the macros of the earlier ones. The file's other
/// statements (temp tables on the way) run alone. Returns the rows each
/// table's statement reported writing, by the table's name less `t`.
fn build_attribution(conn: &Connection, db: &str, t: &str, cfg: &Config) -> Result<Written> {
    let clustered = changes_clustered(conn, db, t, cfg)?;
    let build = session_sql("attribution_build.sql", db, t, cfg)?
        .replace("{facts_order}", if clustered { "" } else { "order by actual_end" });
    crate::ui::verbose(
        2,
        format!(
            "derived: changes {}in actual_end order already",
            if clustered { "" } else { "not " }
        ),
    );
    let statements = queries::statements(&build);
    let macros = queries::statements(&session_sql("attribution_macros.sql", db, t, cfg)?);
    let creates = format!("table {t}");
    let tables = statements.iter().filter(|s| s.contains(&creates)).count();
    anyhow::ensure!(
        tables == macros.len(),
        "queries/session: attribution_build.sql creates {tables} tables, attribution_macros.sql has {} macros",
        macros.len()
    );
    let mut macros = macros.iter();
    let mut written = Written::default();
    for statement in &statements {
        let started = std::time::Instant::now();
        let rows = conn
            .execute(statement, [])
            .context("queries/session/attribution_build.sql")?;
        // The profile of a rebuild (-vv): each statement's rows and time.
        let profile = |what: &str| {
            crate::ui::verbose(
                2,
                format!("derived: {what}, {rows} rows, {:.2} s", started.elapsed().as_secs_f64()),
            )
        };
        let Some((_, rest)) = statement.split_once(&creates) else {
            profile(statement.trim().lines().next().unwrap_or_default());
            continue;
        };
        let mac = macros.next().context("attribution_macros.sql: a macro too few")?;
        conn.execute_batch(mac)
            .context("queries/session/attribution_macros.sql")?;
        let name = rest.split_whitespace().next().unwrap_or("?").to_owned();
        profile(&name);
        written.0.insert(name, rows);
    }
    Ok(written)
}

/// Whether `changes` is stored close enough to actual_end order that the
/// change facts need no sort (queries/session/changes_clustered.sql).
fn changes_clustered(conn: &Connection, db: &str, t: &str, cfg: &Config) -> Result<bool> {
    conn.query_row(&session_sql("changes_clustered.sql", db, t, cfg)?, [], |r| r.get(0))
        .context("queries/session/changes_clustered.sql")
}

/// The rows each attribution table's statement reported writing, by name
/// (`incident_change_attribution`, ...).
#[derive(Debug, Default)]
struct Written(HashMap<String, usize>);

impl Written {
    fn get(&self, table: &str) -> Result<usize> {
        self.0
            .get(table)
            .copied()
            .with_context(|| format!("attribution_build.sql builds no table {table}"))
    }
}

/// What `check_attribution` checks the derived tables against.
enum Checked {
    /// Just rebuilt: every row, and the link tables against the rows their
    /// statements wrote.
    Rebuilt(Written),
    /// Refreshed: the rows the refresh rewrote (named by its temp tables).
    Refreshed,
}

/// A broken invariant of the derived tables (queries/session/derived_checks.sql).
#[derive(Debug)]
struct BrokenInvariant {
    invariant: String,
    expected: i64,
    found: i64,
}

/// Check the attribution tables with prefix `t` against the base tables and,
/// after a rebuild, the rows the link tables' statements wrote (a fill that
/// lost rows); an error names every invariant that does not hold.
fn check_attribution(conn: &Connection, db: &str, t: &str, cfg: &Config, against: &Checked) -> Result<()> {
    let rebuilt = matches!(against, Checked::Rebuilt(_));
    let scope = |alias: &str, key: &str, table: &str| {
        if rebuilt {
            "true".to_owned()
        } else {
            format!("({alias}.source, {alias}.{key}) in (select source, {key} from temp.main.{table})")
        }
    };
    let written = |table: &str| -> Result<String> {
        Ok(match against {
            Checked::Rebuilt(w) => w.get(table)?.to_string(),
            Checked::Refreshed => "null".to_owned(),
        })
    };
    let sql = session_sql("derived_checks.sql", db, t, cfg)?
        .replace("{rebuilt}", if rebuilt { "true" } else { "false" })
        .replace("{change_links_written}", &written("incident_change_attribution")?)
        .replace("{release_links_written}", &written("incident_release_attribution")?)
        .replace("{c_scope}", &scope("c", "change_id", "refresh_fact_changes"))
        .replace("{cf_scope}", &scope("f", "change_id", "refresh_fact_changes"))
        .replace("{rl_scope}", &scope("l", "release_id", "refresh_fact_releases"))
        .replace("{rf_scope}", &scope("f", "release_id", "refresh_fact_releases"))
        .replace("{ci_scope}", &scope("a", "incident_id", "refresh_change_incidents"))
        .replace("{ri_scope}", &scope("a", "incident_id", "refresh_release_incidents"));
    let mut stmt = conn.prepare(&sql).context("queries/session/derived_checks.sql")?;
    let started = std::time::Instant::now();
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
    crate::ui::verbose(
        2,
        format!("derived: invariants checked {:.2} s", started.elapsed().as_secs_f64()),
    );
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

/// How `derive` brought the derived tables up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Derivation {
    /// Built from scratch (attribution_build.sql).
    Rebuilt,
    /// Brought up to date for the rows written since batch `since`
    /// (attribution_refresh.sql).
    Refreshed { since: i64 },
}

/// Bring the warehouse's derived tables (the attribution and the facts, for
/// the configured settings) up to date in one transaction, check their
/// invariants in it (derived_checks.sql), and record what they were built
/// from. When the stored tables were built for these settings and the
/// batches since then wrote a small part of the warehouse (`refreshable`),
/// they are refreshed for what those batches wrote; otherwise, or when the
/// refresh fails, rebuilt. A broken invariant rolls it all back, so stale
/// tables stay marked as such and KPI runs attribute for themselves.
/// `relkpi import` calls it after loading, so KPI runs start from them.
pub fn derive(conn: &Connection, cfg: &Config) -> Result<Derivation> {
    if let Some(since) = refreshable(conn, cfg)? {
        match refresh(conn, cfg, since) {
            Ok(()) => return Ok(Derivation::Refreshed { since }),
            Err(e) => crate::ui::verbose(1, format!("derived tables not refreshed ({e:#}): rebuilding them")),
        }
    }
    rebuild(conn, cfg)?;
    Ok(Derivation::Rebuilt)
}

/// Rebuild the derived tables from scratch (attribution_build.sql).
pub fn rebuild(conn: &Connection, cfg: &Config) -> Result<()> {
    let db = quoted_db(conn)?;
    let t = format!("{db}.main.{DERIVED_PREFIX}");
    crate::warehouse::in_transaction(conn, "committing the derived tables", || {
        let written = build_attribution(conn, &db, &t, cfg)?;
        check_attribution(conn, &db, &t, cfg, &Checked::Rebuilt(written))?;
        record_built(conn, cfg)
    })
}

fn record_built(conn: &Connection, cfg: &Config) -> Result<()> {
    conn.execute(
        "insert or replace into derived_meta values ('attribution', ?, ?, ?)",
        duckdb::params![
            derived_settings(cfg),
            data_version(conn)?,
            chrono::Local::now().naive_local()
        ],
    )?;
    Ok(())
}

/// The share of a warehouse's changes, incidents and releases that batches
/// since the derived tables were built may write and still be refreshed
/// rather than rebuilt: past it, the refresh's narrowing saves little.
const REFRESH_AT_MOST: f64 = 0.2;

/// The batch the stored derived tables were built from, when they can be
/// refreshed: built for these settings, no table has shrunk since (rows are
/// never deleted by relkpi; a smaller count means a hand edit the batches do
/// not record), and the rows written since are at most `REFRESH_AT_MOST` of
/// the warehouse. `RELKPI_DERIVE=rebuild` always rebuilds.
fn refreshable(conn: &Connection, cfg: &Config) -> Result<Option<i64>> {
    if std::env::var("RELKPI_DERIVE").is_ok_and(|v| v == "rebuild") {
        return Ok(None);
    }
    let Some((settings, stored)) = stored_meta(conn)? else {
        return Ok(None);
    };
    if settings != derived_settings(cfg) {
        return Ok(None);
    }
    let parse = |v: &str| -> Option<Vec<i64>> { v.split(':').map(|x| x.parse().ok()).collect() };
    let (Some(then), Some(now)) = (parse(&stored), parse(&data_version(conn)?)) else {
        return Ok(None);
    };
    if then.len() != now.len() || then.iter().zip(&now).skip(1).any(|(a, b)| b < a) {
        return Ok(None);
    }
    let since = then[0];
    let sql = queries::text("session/refresh_size.sql").context("session/refresh_size.sql missing")?;
    let (written, total): (i64, i64) = conn.query_row(sql, [since], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok((written as f64 <= REFRESH_AT_MOST * total as f64).then_some(since))
}

/// Refresh the derived tables for the rows the batches after `since` wrote
/// (attribution_refresh.sql), check them and record the new data version, in
/// one transaction. The refresh narrows the macros' input with temp tables
/// named like the base tables; they are dropped whatever happens.
fn refresh(conn: &Connection, cfg: &Config, since: i64) -> Result<()> {
    let db = quoted_db(conn)?;
    let t = format!("{db}.main.{DERIVED_PREFIX}");
    let mut committing = None;
    let res = crate::warehouse::in_transaction(conn, "committing the derived tables", || {
        conn.execute_batch(&session_sql("attribution_macros.sql", &db, &t, cfg)?)
            .context("queries/session/attribution_macros.sql")?;
        let sql = session_sql("attribution_refresh.sql", &db, &t, cfg)?.replace("{since}", &since.to_string());
        for (i, stmt) in queries::statements(&sql).iter().enumerate() {
            let started = std::time::Instant::now();
            conn.execute_batch(stmt)
                .with_context(|| format!("queries/session/attribution_refresh.sql, statement {}", i + 1))?;
            // The profile of a refresh (-vv), as of a rebuild.
            crate::ui::verbose(
                2,
                format!(
                    "derived refresh: {}, {:.2} s",
                    stmt.trim().lines().next().unwrap_or_default(),
                    started.elapsed().as_secs_f64()
                ),
            );
        }
        check_attribution(conn, &db, &t, cfg, &Checked::Refreshed)?;
        record_built(conn, cfg)?;
        committing = Some(std::time::Instant::now());
        Ok(())
    });
    if let Some(at) = committing {
        crate::ui::verbose(
            2,
            format!("derived refresh: commit, {:.2} s", at.elapsed().as_secs_f64()),
        );
    }
    drop_refresh_tables(conn).context("dropping the refresh's temp tables")?;
    res
}

/// Drop the temp tables attribution_refresh.sql creates: those named
/// `refresh_*`, and those shadowing a base table.
fn drop_refresh_tables(conn: &Connection) -> Result<()> {
    let mut stmt = conn.prepare(
        "select table_name from duckdb_tables()
         where temporary and (starts_with(table_name, 'refresh_')
                              or table_name in ('incidents', 'changes', 'releases'))",
    )?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    for name in names {
        conn.execute_batch(&format!("drop table temp.main.\"{name}\""))?;
    }
    Ok(())
}

fn stored_meta(conn: &Connection) -> Result<Option<(String, String)>> {
    conn.query_row(
        "select settings, data_version from derived_meta where name = 'attribution'",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .map(Some)
    .or_else(|e| match e {
        duckdb::Error::QueryReturnedNoRows => Ok(None),
        e => Err(e.into()),
    })
}

/// Whether the stored derived tables were built for these settings from the
/// data as it is now.
fn derived_current(conn: &Connection, cfg: &Config) -> Result<bool> {
    Ok(match stored_meta(conn)? {
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
    let derived = attach_current(conn, cfg)?;
    if !cfg.attribution.materialize {
        crate::ui::verbose(
            1,
            "attribution.materialize = false: every query attributes through the macros",
        );
    } else if !derived {
        let db = quoted_db(conn)?;
        crate::ui::verbose(
            1,
            "derived tables missing, stale or for other settings: attributing in this process",
        );
        build_attribution(conn, &db, "temp.main.cache_", cfg)?;
    }
    Ok(derived)
}

/// `attach` when the derived tables are current (and to be used), else
/// nothing: whether the temp macros now read them.
pub fn attach_current(conn: &Connection, cfg: &Config) -> Result<bool> {
    if !(cfg.attribution.materialize && derived_current(conn, cfg)?) {
        return Ok(false);
    }
    let db = quoted_db(conn)?;
    let t = format!("{db}.main.{DERIVED_PREFIX}");
    conn.execute_batch(&session_sql("attribution_macros.sql", &db, &t, cfg)?)
        .context("queries/session/attribution_macros.sql")?;
    Ok(true)
}

#[cfg(test)]
mod derived_tests {
    use super::*;

    /// The change facts are sorted by actual_end only when `changes` is not
    /// stored close to that order already (changes_clustered.sql): 300,000
    /// changes a few minutes apart (three row groups), inserted in time order
    /// and scrambled; the facts hold every change either way.
    #[test]
    fn change_facts_sorted_only_when_changes_are_not() {
        for (order, clustered) in [("i", true), ("hash(i)", false)] {
            let dir = tempfile::tempdir().unwrap();
            let wh = crate::warehouse::Warehouse::open(&dir.path().join("w.duckdb"), crate::warehouse::Mode::ReadWrite)
                .unwrap();
            let conn = &wh.conn;
            conn.execute_batch(&format!(
                "insert into changes (source, change_id, actual_end)
                 select 'sn', 'C' || lpad(i::varchar, 7, '0'), timestamp '2023-01-01' + to_minutes(5 * i)
                 from range(300000) t(i) order by {order}"
            ))
            .unwrap();
            let cfg = Config::default();
            let db = quoted_db(conn).unwrap();
            let t = format!("{db}.main.{DERIVED_PREFIX}");
            assert_eq!(
                changes_clustered(conn, &db, &t, &cfg).unwrap(),
                clustered,
                "changes inserted in order of {order}"
            );
            build_attribution(conn, &db, &t, &cfg).unwrap();
            let (rows, sorted): (i64, bool) = conn
                .query_row(
                    "select count(*), bool_and(coalesce(actual_end >= before, true))
                     from (select actual_end, lag(actual_end) over (order by rowid) as before from derived_change_facts)",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            assert_eq!(rows, 300_000, "changes inserted in order of {order}");
            if !clustered {
                assert!(sorted, "scrambled changes: the facts are stored in actual_end order");
            }
        }
    }

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
        // Built again: the rows each CREATE TABLE AS reported writing.
        let written = build_attribution(conn, &db, &t, &cfg).unwrap();
        assert_eq!(written.get("incident_change_attribution").unwrap(), 2);
        assert_eq!(written.get("change_facts").unwrap(), 2);
        // The four tables, each with its macro; the temp tables on the way
        // (the unsorted links) back none and are gone.
        let mut names: Vec<&String> = written.0.keys().collect();
        names.sort();
        assert_eq!(
            names,
            [
                "change_facts",
                "incident_change_attribution",
                "incident_release_attribution",
                "release_facts"
            ]
        );
        let temp: i64 = conn
            .query_row("select count(*) from duckdb_tables() where temporary", [], |r| r.get(0))
            .unwrap();
        assert_eq!(temp, 0);
        let rebuilt = Checked::Rebuilt(written);
        check_attribution(conn, &db, &t, &cfg, &rebuilt).unwrap();
        // Each damage, in turn, is caught with the invariant it breaks.
        let caught = |damage: &str, broken: &str| {
            conn.execute_batch(damage).unwrap();
            let err = check_attribution(conn, &db, &t, &cfg, &rebuilt)
                .unwrap_err()
                .to_string();
            assert!(err.contains(broken), "{err}");
        };
        caught(
            "update derived_change_facts set incidents_caused = 0",
            "incidents caused, summed over the change facts, equal the links: expected 2, found 0",
        );
        caught(
            "delete from derived_incident_change_attribution",
            "incident-change links as written: expected 2, found 0",
        );
    }

    /// A small random warehouse: changes, their CIs, releases and incidents
    /// on few CIs and few distinct ends, so the CI window, its ties, explicit
    /// and dangling links, cancellations and releases of changes all meet.
    struct Random(u64);

    impl Random {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }
        /// A timestamp literal among 40 hours of 30 days (ends and openings collide).
        fn at(&mut self) -> String {
            let h = self.below(40) * 18 + self.below(2) * self.below(7);
            format!("timestamp '2025-01-01 00:00' + interval {h} hour")
        }
        fn opt(&mut self, percent: u64, v: impl FnOnce(&mut Self) -> String) -> String {
            if self.chance(percent) { v(self) } else { "null".into() }
        }
    }

    const SOURCES: [&str; 2] = ["sn", "jira"];

    /// The rows one batch writes, by key (a record written twice keeps the
    /// last), turned into a few statements: the test database is a debug
    /// build of DuckDB in CI, where each statement costs.
    #[derive(Default)]
    struct Rows {
        changes: std::collections::BTreeMap<(String, u64), (String, Vec<u64>)>,
        releases: std::collections::BTreeMap<(String, u64), String>,
        incidents: std::collections::BTreeMap<(String, u64), String>,
    }

    impl Rows {
        /// Change `i` of `src` and its CI list.
        fn change(&mut self, r: &mut Random, src: &str, i: u64, batch: i64, releases: u64) {
            let state = ["'closed'", "'closed'", "'cancelled'", "null", "'implement'"][r.below(5) as usize];
            let outcome = [
                "'successful'",
                "'successful'",
                "'unsuccessful'",
                "'rolled_back'",
                "'cancelled'",
                "null",
            ][r.below(6) as usize];
            let release = r.opt(40, |r| format!("'R{}'", r.below(releases + 2)));
            let service = r.opt(80, |r| format!("'ci{}'", r.below(4)));
            let end = r.opt(85, |r| r.at());
            let cis = (0..4).filter(|_| r.chance(25)).collect();
            let row = format!("('{src}', 'C{i}', {state}, {outcome}, {release}, {service}, {end}, {batch})");
            self.changes.insert((src.to_owned(), i), (row, cis));
        }

        fn release(&mut self, r: &mut Random, src: &str, i: u64, batch: i64) {
            let state = ["'deployed'", "'closed'", "'cancelled'", "null"][r.below(4) as usize];
            let outcome = ["'successful'", "'failed'", "'rolled_back'", "'cancelled'", "null"][r.below(5) as usize];
            let service = r.opt(85, |r| format!("'ci{}'", r.below(4)));
            let end = r.opt(85, |r| r.at());
            let row = format!("('{src}', 'R{i}', {state}, {outcome}, {service}, {end}, {batch})");
            self.releases.insert((src.to_owned(), i), row);
        }

        fn incident(&mut self, r: &mut Random, src: &str, i: u64, batch: i64, changes: u64, releases: u64) {
            let priority = 1 + r.below(5);
            let ci = r.opt(80, |r| format!("'ci{}'", r.below(4)));
            let cause_ci = r.opt(15, |r| format!("'ci{}'", r.below(4)));
            // Links to records that exist, and to some that do not yet.
            let caused = r.opt(20, |r| format!("'C{}'", r.below(changes + 5)));
            let related = r.opt(10, |r| format!("'R{}'", r.below(releases + 3)));
            let opened = r.opt(95, |r| r.at());
            // The links carry it (migration 12): a rewritten incident's changes.
            let resolved = r.opt(70, |r| r.at());
            let row = format!(
                "('{src}', 'I{i}', {priority}, {ci}, {cause_ci}, {caused}, {related}, {opened}, {resolved}, {batch})"
            );
            self.incidents.insert((src.to_owned(), i), row);
        }

        /// Write them (a stored row of the key, and a change's CI list, replaced).
        fn write(self, conn: &Connection) {
            let list = |rows: Vec<&String>| rows.into_iter().cloned().collect::<Vec<_>>().join(",\n");
            let mut sql = String::new();
            if !self.changes.is_empty() {
                let keys = self
                    .changes
                    .keys()
                    .map(|(s, i)| format!("('{s}', 'C{i}')"))
                    .collect::<Vec<_>>();
                sql += &format!(
                    "delete from changes where (source, change_id) in (select * from (values {keys}));
                     insert into changes (source, change_id, state, outcome, release_id, service, actual_end, batch_id)
                     values {};
                     delete from change_cis where (source, change_id) in (select * from (values {keys}));",
                    list(self.changes.values().map(|(row, _)| row).collect()),
                    keys = keys.join(", ")
                );
                let cis: Vec<String> = self
                    .changes
                    .iter()
                    .flat_map(|((s, i), (_, cis))| cis.iter().map(move |c| format!("('{s}', 'C{i}', 'ci{c}')")))
                    .collect();
                if !cis.is_empty() {
                    sql += &format!("insert into change_cis values {};", cis.join(", "));
                }
            }
            if !self.releases.is_empty() {
                let keys = self
                    .releases
                    .keys()
                    .map(|(s, i)| format!("('{s}', 'R{i}')"))
                    .collect::<Vec<_>>();
                sql += &format!(
                    "delete from releases where (source, release_id) in (select * from (values {}));
                     insert into releases (source, release_id, state, outcome, service, actual_end, batch_id)
                     values {};",
                    keys.join(", "),
                    list(self.releases.values().collect())
                );
            }
            if !self.incidents.is_empty() {
                let keys = self
                    .incidents
                    .keys()
                    .map(|(s, i)| format!("('{s}', 'I{i}')"))
                    .collect::<Vec<_>>();
                sql += &format!(
                    "delete from incidents where (source, incident_id) in (select * from (values {}));
                     insert into incidents (source, incident_id, priority, ci, cause_ci, caused_by_change,
                         related_release, opened_at, resolved_at, batch_id)
                     values {};",
                    keys.join(", "),
                    list(self.incidents.values().collect())
                );
            }
            conn.execute_batch(&sql).unwrap();
        }
    }

    fn new_batch(conn: &Connection) -> i64 {
        let batch: i64 = conn
            .query_row("select nextval('import_batch_seq')", [], |r| r.get(0))
            .unwrap();
        conn.execute(
            "insert into import_batches (batch_id, file_path, file_sha256, source, kind, profile, rows_read,
                 rows_inserted, rows_updated, rows_unchanged, rows_stale, rows_folded, rows_blank, rows_skipped,
                 rows_rejected, started_at, finished_at)
             values (?, 'f', 'x', 'sn', 'changes', 'p', 0, 0, 0, 0, 0, 0, 0, 0, 0, now()::timestamp, now()::timestamp)",
            [batch],
        )
        .unwrap();
        batch
    }

    const DERIVED: [&str; 4] = [
        "incident_change_attribution",
        "incident_release_attribution",
        "release_facts",
        "change_facts",
    ];

    /// Rows of derived table `name` not in `temp.refreshed_{name}`, and the other way round.
    fn differences(conn: &Connection, name: &str) -> i64 {
        conn.query_row(
            &format!(
                "select count(*) from (
                     (select * from derived_{name} except all select * from temp.refreshed_{name})
                     union all
                     (select * from temp.refreshed_{name} except all select * from derived_{name}))"
            ),
            [],
            |r| r.get(0),
        )
        .unwrap()
    }

    /// The refresh (attribution_refresh.sql) gives the tables a rebuild
    /// gives, after every one of several random batches of new and rewritten
    /// changes (rows and CI lists), releases and incidents, under two
    /// attribution settings; and it leaves no temp table shadowing a base table.
    #[test]
    fn refresh_equals_rebuild() {
        let mut checked = 0;
        for (seed, window_days, ci_window) in [(7u64, 7, true), (11, 3, true), (13, 7, false), (17, 14, true)] {
            let dir = tempfile::tempdir().unwrap();
            let wh = crate::warehouse::Warehouse::open(&dir.path().join("w.duckdb"), crate::warehouse::Mode::ReadWrite)
                .unwrap();
            let conn = &wh.conn;
            let mut cfg = Config::default();
            cfg.attribution.window_days = window_days;
            cfg.attribution.ci_window = ci_window;
            let mut r = Random(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let (mut changes, mut releases, mut incidents) = (60u64, 12u64, 90u64);
            let batch = new_batch(conn);
            let mut rows = Rows::default();
            for src in SOURCES {
                for i in 0..releases {
                    rows.release(&mut r, src, i, batch);
                }
                for i in 0..changes {
                    rows.change(&mut r, src, i, batch, releases);
                }
                for i in 0..incidents {
                    rows.incident(&mut r, src, i, batch, changes, releases);
                }
            }
            rows.write(conn);
            assert_eq!(
                derive(conn, &cfg).unwrap(),
                Derivation::Rebuilt,
                "nothing to refresh from"
            );
            for _round in 0..3 {
                let batch = new_batch(conn);
                let mut rows = Rows::default();
                for src in SOURCES {
                    // Rewritten records, then new ones.
                    for _ in 0..4 {
                        let (c, i) = (r.below(changes), r.below(incidents));
                        rows.change(&mut r, src, c, batch, releases);
                        rows.incident(&mut r, src, i, batch, changes, releases);
                    }
                    let rel = r.below(releases);
                    rows.release(&mut r, src, rel, batch);
                    rows.release(&mut r, src, releases, batch);
                    for i in changes..changes + 3 {
                        rows.change(&mut r, src, i, batch, releases + 1);
                    }
                    for i in incidents..incidents + 5 {
                        rows.incident(&mut r, src, i, batch, changes + 3, releases + 1);
                    }
                }
                releases += 1;
                changes += 3;
                incidents += 5;
                rows.write(conn);
                let since = batch - 1;
                refresh(conn, &cfg, since).unwrap();
                for name in DERIVED {
                    conn.execute_batch(&format!(
                        "create or replace temp table refreshed_{name} as select * from derived_{name}"
                    ))
                    .unwrap();
                }
                rebuild(conn, &cfg).unwrap();
                for name in DERIVED {
                    assert_eq!(
                        differences(conn, name),
                        0,
                        "{name} refreshed differs from rebuilt (seed {seed}, batch {batch})"
                    );
                }
                // Every link carries its incident's current times.
                let (links, stale): (i64, i64) = conn
                    .query_row(
                        "select count(*), count(*) filter (where a.opened_at is distinct from i.opened_at
                                                          or a.resolved_at is distinct from i.resolved_at)
                         from derived_incident_change_attribution a
                         join incidents i on i.source = a.source and i.incident_id = a.incident_id",
                        [],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .unwrap();
                assert_eq!(stale, 0, "of {links} links (seed {seed}, batch {batch})");
                checked += 1;
            }
            let shadows: i64 = conn
                .query_row(
                    "select count(*) from duckdb_tables() where temporary
                     and table_name in ('incidents', 'changes', 'releases', 'change_cis')",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(shadows, 0, "the refresh left a temp table shadowing a base table");
            let links: i64 = conn
                .query_row("select count(*) from derived_incident_change_attribution", [], |r| {
                    r.get(0)
                })
                .unwrap();
            assert!(links > 20, "few links to compare: {links}");
        }
        assert_eq!(checked, 12);
    }

    /// `derive` refreshes when a small batch follows the tables it built,
    /// rebuilds when the settings changed, and KPI runs then read them.
    #[test]
    fn derive_refreshes_small_batches() {
        let dir = tempfile::tempdir().unwrap();
        let wh =
            crate::warehouse::Warehouse::open(&dir.path().join("w.duckdb"), crate::warehouse::Mode::ReadWrite).unwrap();
        let conn = &wh.conn;
        let mut r = Random(5);
        let batch = new_batch(conn);
        let mut rows = Rows::default();
        for i in 0..200 {
            rows.change(&mut r, "sn", i, batch, 20);
            rows.incident(&mut r, "sn", i, batch, 200, 20);
        }
        rows.write(conn);
        let cfg = Config::default();
        assert_eq!(derive(conn, &cfg).unwrap(), Derivation::Rebuilt);
        let batch = new_batch(conn);
        let mut rows = Rows::default();
        rows.change(&mut r, "sn", 3, batch, 20);
        rows.incident(&mut r, "sn", 500, batch, 200, 20);
        rows.write(conn);
        assert_eq!(derive(conn, &cfg).unwrap(), Derivation::Refreshed { since: batch - 1 });
        assert!(derived_current(conn, &cfg).unwrap());
        let mut other = Config::default();
        other.attribution.window_days = 3;
        assert_eq!(derive(conn, &other).unwrap(), Derivation::Rebuilt, "other settings");
    }
}
