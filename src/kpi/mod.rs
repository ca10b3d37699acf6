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
pub use parallel::{compute_many, par_map};
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
}

impl Prepared {
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
    })
}
