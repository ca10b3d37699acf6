//! The KPI engine. Loads `queries/kpi/*.sql` and `queries/policies/*.sql`,
//! binds the period and settings as named parameters, runs them and returns
//! typed results; compares periods, builds trends and their process-behaviour
//! limits, and explains a change by its drivers. Holds no KPI logic: every
//! number comes from the SQL files, and what Rust needs to know of a KPI (its
//! unit, direction, test, place on the page) comes from its file's header.
//!
//! Reading order: `defs` (what a KPI is), `params` (what a run binds), `run`
//! (one period), `compare` and `trend` (several), `stats`, `drivers`, `limits`.

use anyhow::Result;
use duckdb::Connection;

use crate::config::Config;

pub mod compare;
pub mod defs;
pub mod drivers;
pub mod explain;
pub mod limits;
mod parallel;
pub mod params;
pub mod policies;
pub mod records;
pub mod run;
pub mod stats;
pub mod trend;

pub use defs::{Better, KpiDef, Rolling, SigTest, Unit, column_costs, kpi_defs};
pub use parallel::{compute_many, compute_shared, par_map};
pub use params::{Params, PeriodRequest, resolve_period};
pub use policies::PolicyStatus;
pub use records::{RecordRow, records};
pub use run::{KpiError, KpiReport, KpiResult, PeriodOut, Rag, Settings, compute};

/// What every KPI run of one process shares: the policies' verdicts on the
/// changes (in the temp table `policy_violations`; they do not depend on the
/// period), run once by `prepare`.
pub struct Prepared {
    pub policies: Vec<PolicyStatus>,
    evaluated: i64,
    /// The attribution reads the warehouse's derived tables (so another
    /// connection can share it for the cost of its temp macros).
    derived: bool,
    /// Further connections to the warehouse, each prepared like this one,
    /// kept between `par_map` calls: preparing one runs the policies again
    /// (0.5-0.6 s at 10M changes), and a report shares work among them
    /// four times.
    workers: std::sync::Mutex<Vec<(Connection, Prepared)>>,
    /// Each KPI's results by (period, breakdown), shared by this connection
    /// and its workers (`run::compute`): a report asks for the same run more
    /// than once (the compared months are also trend months; the drivers'
    /// breakdowns by service and team are also its breakdown columns).
    runs: RunMemo,
}

/// KPI results by (period start, period end, breakdown, KPI id).
type RunKey = (chrono::NaiveDateTime, chrono::NaiveDateTime, Option<String>, String);
fn run_key(period: &crate::period::Period, by: Option<&str>, id: &str) -> RunKey {
    (period.from, period.to, by.map(str::to_owned), id.to_owned())
}

type RunMemo = std::sync::Arc<std::sync::Mutex<std::collections::HashMap<RunKey, Vec<KpiResult>>>>;

impl Prepared {
    /// This connection's preparation, reading and filling `other`'s KPI results.
    fn sharing_runs_of(mut self, other: &Prepared) -> Prepared {
        self.runs = std::sync::Arc::clone(&other.runs);
        self
    }

    /// The results of a run of KPI `id` over `period`, broken down `by`, if one
    /// was made in this process.
    pub(super) fn run_done(
        &self,
        period: &crate::period::Period,
        by: Option<&str>,
        id: &str,
    ) -> Option<Vec<KpiResult>> {
        self.runs.lock().ok()?.get(&run_key(period, by, id)).cloned()
    }

    /// Keep the results of a run (`run_done`).
    pub(super) fn keep_run(&self, period: &crate::period::Period, by: Option<&str>, id: &str, results: &[KpiResult]) {
        if let Ok(mut runs) = self.runs.lock() {
            runs.insert(run_key(period, by, id), results.to_vec());
        }
    }

    /// The parameters of a run over `period`, broken down `by` a dimension.
    pub fn params(&self, period: &crate::period::Period, by: Option<&str>, cfg: &Config) -> Params {
        Params::new(period, by, cfg, Some(self))
    }
}

/// Set up the attribution for the configured settings (see
/// `warehouse::derived::attach`) and run the policies, once per process and
/// connection: the warehouse does not change while relkpi computes.
pub fn prepare(conn: &Connection, cfg: &Config) -> Result<Prepared> {
    let phases = crate::ui::Phases::start("kpi");
    let derived = crate::warehouse::derived::attach(conn, cfg)?;
    phases.lap(if derived {
        "attribution (derived tables)"
    } else {
        "attribution (built)"
    });
    let statuses = policies::evaluate(conn, cfg)?;
    phases.lap("policies");
    let evaluated = statuses.iter().filter(|s| !s.evaluated.is_empty()).count() as i64;
    Ok(Prepared {
        policies: statuses,
        evaluated,
        derived,
        workers: std::sync::Mutex::new(Vec::new()),
        runs: RunMemo::default(),
    })
}
