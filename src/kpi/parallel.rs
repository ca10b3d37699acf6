//! Independent KPI runs shared among connections to one warehouse.

use anyhow::{Context, Result};
use duckdb::Connection;

use super::run::{KpiReport, compute};
use super::{Prepared, prepare};
use crate::config::Config;
use crate::period::Period;

/// Connections `par_map` uses at most.
const MAX_WORKERS: usize = 4;

/// Run independent KPI computations (a period and its KPIs, all when empty;
/// no breakdown), results in job order (see `par_map`).
pub fn compute_many(
    conn: &Connection,
    cfg: &Config,
    prep: &Prepared,
    jobs: &[(Period, Vec<String>)],
) -> Result<Vec<KpiReport>> {
    par_map(conn, cfg, prep, jobs, |conn, prep, (p, ids)| {
        compute(conn, cfg, prep, p, None, ids)
    })
}

/// `f` over independent jobs, results in job order. With cores to spare and
/// the derived tables current, the jobs are shared among connections to the
/// same warehouse, each set up like this one (temp macros and policies: about
/// 0.2 s at a million changes), since one KPI query keeps little more than one
/// core busy. Otherwise they run on this connection in turn.
pub fn par_map<J, T, F>(conn: &Connection, cfg: &Config, prep: &Prepared, jobs: &[J], f: F) -> Result<Vec<T>>
where
    J: Sync,
    T: Send,
    F: Fn(&Connection, &Prepared, &J) -> Result<T> + Sync,
{
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = cores.min(MAX_WORKERS).min(jobs.len());
    if workers < 2 || !prep.derived {
        return jobs.iter().map(|j| f(conn, prep, j)).collect();
    }
    let clones = (1..workers)
        .map(|_| conn.try_clone().context("opening another connection to the warehouse"))
        .collect::<Result<Vec<_>>>()?;
    // Job i goes to worker i % workers; worker 0 is this connection.
    let share = |w: usize| jobs.iter().enumerate().filter(move |(i, _)| i % workers == w);
    let f = &f;
    let mut out: Vec<Option<T>> = jobs.iter().map(|_| None).collect();
    std::thread::scope(|s| -> Result<()> {
        let handles: Vec<_> = clones
            .into_iter()
            .enumerate()
            .map(|(n, clone)| {
                s.spawn(move || -> Result<Vec<(usize, T)>> {
                    let prep = prepare(&clone, cfg)?;
                    share(n + 1).map(|(i, j)| Ok((i, f(&clone, &prep, j)?))).collect()
                })
            })
            .collect();
        for (i, j) in share(0) {
            out[i] = Some(f(conn, prep, j)?);
        }
        for h in handles {
            let done = h
                .join()
                .map_err(|_| anyhow::anyhow!("a KPI worker thread panicked"))??;
            for (i, r) in done {
                out[i] = Some(r);
            }
        }
        Ok(())
    })?;
    Ok(out.into_iter().map(|r| r.expect("every job ran")).collect())
}
