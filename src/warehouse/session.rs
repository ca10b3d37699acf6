//! One `Session` per command: the configuration, the open warehouse, and the
//! attribution and policies prepared once for every KPI run of the process.

use std::cell::OnceCell;
use std::path::Path;

use anyhow::Result;
use duckdb::Connection;

use super::{Mode, Warehouse};
use crate::config::Config;
use crate::kpi::{self, Prepared};

pub struct Session {
    pub config: Config,
    pub warehouse: Warehouse,
    prepared: OnceCell<Prepared>,
}

impl Session {
    /// Open the warehouse at `db` and load its configuration (`config`, else
    /// the relkpi.toml beside the warehouse or in the working folder).
    pub fn open(db: &Path, config: Option<&Path>, mode: Mode) -> Result<Session> {
        let config = Config::load(config, db)?;
        let warehouse = Warehouse::open(db, mode)?;
        Ok(Session::with(config, warehouse))
    }

    pub fn with(config: Config, warehouse: Warehouse) -> Session {
        Session {
            config,
            warehouse,
            prepared: OnceCell::new(),
        }
    }

    pub fn conn(&self) -> &Connection {
        &self.warehouse.conn
    }

    /// Whether `prepared` has run.
    pub fn is_prepared(&self) -> bool {
        self.prepared.get().is_some()
    }

    /// The attribution and the policies' verdicts (`kpi::prepare`), set up on
    /// first use.
    pub fn prepared(&self) -> Result<&Prepared> {
        if let Some(p) = self.prepared.get() {
            return Ok(p);
        }
        let p = kpi::prepare(self.conn(), &self.config)?;
        Ok(self.prepared.get_or_init(|| p))
    }
}
