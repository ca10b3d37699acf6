//! Test helpers: a fresh folder per test and the real `relkpi` binary, in the
//! manner of xsv's Workdir.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Workdir {
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "exit {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", self.stdout, self.stderr))
    }
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        p
    }

    pub fn write_bytes(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_relkpi"));
        c.current_dir(self.dir.path());
        c.env_remove("RELKPI_DB").env_remove("RELKPI_CONFIG");
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let out: Output = self.cmd().args(args).output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Rows of a query as JSON objects.
    pub fn sql(&self, q: &str) -> Vec<serde_json::Value> {
        let r = self.run(&["sql", "--format", "json", q]).ok();
        r.json().as_array().unwrap().clone()
    }

    /// A single value of a one-row, one-column query.
    pub fn scalar(&self, q: &str) -> serde_json::Value {
        let rows = self.sql(q);
        assert_eq!(rows.len(), 1, "{q}: {rows:?}");
        rows[0].as_object().unwrap().values().next().unwrap().clone()
    }
}

/// The project's `../shared/data` folder (real exports, never copied into the repo).
pub fn shared_data(rel: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data").join(rel);
    assert!(
        p.exists(),
        "{} is missing: the tests need ../shared/data beside the project",
        p.display()
    );
    p
}
