//! Independent KPI runs shared among connections to one warehouse.

use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};
use duckdb::Connection;

use super::defs::KpiDef;
use super::params::Params;
use super::run::{KpiReport, KpiResult, assemble, compute, run_kept, run_kpi, selected_defs};
use super::{Prepared, prepare};
use crate::config::Config;
use crate::period::Period;
use crate::warehouse::Session;

/// A worker connection, handed back, and its jobs' results by job index.
type WorkerDone<T> = ((Connection, Prepared), Vec<(usize, T)>);

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

/// One period's KPIs, as `compute` gives them, shared with a second
/// connection when there are cores to spare: that one only points its temp
/// macros at the derived tables (when they are current; else it does
/// nothing) and starts at once on the KPIs that read no policy verdicts,
/// while this one runs the policies (`Session::prepared`: 0.6-0.8 s at 10M
/// changes), then the KPIs that read them, then takes the rest from the same
/// queue. One KPI query keeps little more than one core busy: at 10M changes
/// all KPIs for 24 months went from 4.2-4.3 s to 3.8-4.0 s (the same hour).
pub fn compute_shared(s: &Session, period: &Period, by: Option<&str>, ids: &[String]) -> Result<KpiReport> {
    let (conn, cfg) = (s.conn(), &s.config);
    let defs = selected_defs(ids)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (own, mut free): (Vec<usize>, Vec<usize>) = (0..defs.len()).partition(|i| defs[*i].reads_policies());
    if cores < 2 || defs.len() < 2 || free.is_empty() || s.is_prepared() {
        return compute(conn, cfg, s.prepared()?, period, by, ids);
    }
    // The costliest first, so that neither connection is left with one long
    // query at the end: those that join the incidents, then medians (every
    // value held); at 10M changes the recovery time (both) took 1.5-2 s of 4.
    free.sort_by_key(|i| std::cmp::Reverse(defs[*i].weight()));
    let helper_conn = conn
        .try_clone()
        .context("opening another connection to the warehouse")?;
    let next = AtomicUsize::new(0);
    let (defs, next, free) = (&defs, &next, &free);
    // Take KPIs from `free` until none is left: (index, result).
    let take = |conn: &Connection, run: &dyn Fn(&Connection, &KpiDef) -> Result<Vec<KpiResult>>| {
        let phases = crate::ui::Phases::start(format!("kpi {}", period.label));
        let mut done = Vec::new();
        while let Some(&i) = free.get(next.fetch_add(1, Ordering::Relaxed)) {
            done.push((i, run(conn, &defs[i])));
            phases.lap(&defs[i].id);
        }
        done
    };
    let (prep, mut runs) = std::thread::scope(|sc| -> Result<_> {
        let helper = sc.spawn(move || -> Result<HelperRuns> {
            if !crate::warehouse::derived::attach_current(&helper_conn, cfg)? {
                return Ok(Vec::new());
            }
            let params = Params::new(period, by, cfg, None);
            Ok(take(&helper_conn, &|c, def| run_kpi(c, def, &params, by, cfg)))
        });
        let prep = s.prepared()?;
        let params = prep.params(period, by, cfg);
        let run = |c: &Connection, def: &KpiDef| run_kept(c, prep, def, &params, period, by, cfg);
        let phases = crate::ui::Phases::start(format!("kpi {}", period.label));
        let mut runs: Vec<(usize, Result<Vec<KpiResult>>)> = own
            .iter()
            .map(|&i| {
                let r = run(conn, &defs[i]);
                phases.lap(&defs[i].id);
                (i, r)
            })
            .collect();
        runs.extend(take(conn, &run));
        let helped = helper
            .join()
            .map_err(|_| anyhow::anyhow!("the second KPI connection's thread panicked"))??;
        for (i, r) in &helped {
            if let Ok(r) = r {
                prep.keep_run(period, by, &defs[*i].id, r);
            }
        }
        runs.extend(helped);
        Ok((prep, runs))
    })?;
    runs.sort_by_key(|(i, _)| *i);
    let runs = runs.into_iter().map(|(_, r)| r).collect();
    Ok(assemble(cfg, prep, period, by, defs, runs))
}

/// What the second connection of `compute_shared` ran: (index, result).
type HelperRuns = Vec<(usize, Result<Vec<KpiResult>>)>;

/// `f` over independent jobs, results in job order. With cores to spare and
/// the derived tables current, the jobs are shared among connections to the
/// same warehouse, each set up like this one (temp macros and policies: about
/// 0.2 s at a million changes, 0.6 s at 10M) and kept in `prep` for the next
/// call, since one KPI query keeps little more than one core busy. Each
/// connection takes the next job not yet taken, so a long job does not hold
/// up the ones dealt after it. Otherwise the jobs run on this connection in
/// turn.
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
    // Connections prepared by an earlier call, then new ones for the rest
    // (prepared on their own thread).
    let mut workers_of: Vec<(Connection, Option<Prepared>)> = {
        let mut pool = prep
            .workers
            .lock()
            .map_err(|_| anyhow::anyhow!("the KPI workers' pool is poisoned"))?;
        let n = pool.len().min(workers - 1);
        pool.drain(..n).map(|(c, p)| (c, Some(p))).collect()
    };
    while workers_of.len() < workers - 1 {
        let clone = conn
            .try_clone()
            .context("opening another connection to the warehouse")?;
        workers_of.push((clone, None));
    }
    let next = AtomicUsize::new(0);
    let next = &next;
    let f = &f;
    // Take jobs until none is left: (job index, result).
    let work = move |conn: &Connection, prep: &Prepared| -> Result<Vec<(usize, T)>> {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(job) = jobs.get(i) else {
                return Ok(done);
            };
            done.push((i, f(conn, prep, job)?));
        }
    };
    let mut out: Vec<Option<T>> = jobs.iter().map(|_| None).collect();
    let returned = std::thread::scope(|s| -> Result<Vec<(Connection, Prepared)>> {
        let handles: Vec<_> = workers_of
            .into_iter()
            .map(|(clone, cprep)| {
                s.spawn(move || -> Result<WorkerDone<T>> {
                    let cprep = match cprep {
                        Some(p) => p,
                        None => prepare(&clone, cfg)?.sharing_runs_of(prep),
                    };
                    let done = work(&clone, &cprep)?;
                    Ok(((clone, cprep), done))
                })
            })
            .collect();
        for (i, r) in work(conn, prep)? {
            out[i] = Some(r);
        }
        let mut returned = Vec::new();
        for h in handles {
            let (worker, done) = h
                .join()
                .map_err(|_| anyhow::anyhow!("a KPI worker thread panicked"))??;
            for (i, r) in done {
                out[i] = Some(r);
            }
            returned.push(worker);
        }
        Ok(returned)
    })?;
    if let Ok(mut pool) = prep.workers.lock() {
        pool.extend(returned);
    }
    Ok(out.into_iter().map(|r| r.expect("every job ran")).collect())
}
