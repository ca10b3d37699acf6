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

/// A path in the project. The folder is read when the test runs (cargo sets
/// `CARGO_MANIFEST_DIR` then too), not baked in at compile time: cargo reuses a
/// test binary built from the same sources in another clone that shares the
/// target directory, and that clone may be gone.
#[allow(dead_code)]
pub fn project(rel: &str) -> PathBuf {
    let root = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    root.join(rel)
}

/// The project's `../shared/data` folder (real exports, never copied into the repo).
pub fn shared_data(rel: &str) -> PathBuf {
    let p = project("../shared/data").join(rel);
    assert!(
        p.exists(),
        "{} is missing: the tests need ../shared/data beside the project",
        p.display()
    );
    p
}

/// Headless Chromium for the page tests: `RELKPI_CHROMIUM` or `chromium` on
/// PATH (`.ci/run` installs Debian's). Missing, the test fails saying how to
/// install it.
pub fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("RELKPI_CHROMIUM") {
        return PathBuf::from(p);
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!("these tests render pages in headless Chromium: apt-get install chromium (or set RELKPI_CHROMIUM)");
}

/// What Chromium made of a page: the DOM after load, and every console
/// message (a page without scripts should log none).
pub struct Rendered {
    pub dom: String,
    pub console: Vec<String>,
}

fn chromium_cmd(profile: &Path) -> Command {
    let mut c = Command::new(chromium());
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
    ]);
    c.arg(format!("--user-data-dir={}", profile.display()));
    c
}

pub fn render_page(page: &Path) -> Rendered {
    let profile = tempfile::tempdir().unwrap();
    let out = chromium_cmd(profile.path())
        .arg("--dump-dom")
        .arg(format!("file://{}", page.canonicalize().unwrap().display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Rendered {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        console: String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| l.contains(":CONSOLE"))
            .map(str::to_owned)
            .collect(),
    }
}

/// A PNG screenshot of the page at the given window size.
pub fn screenshot(page: &Path, png: &Path, width: u32, height: u32) {
    let profile = tempfile::tempdir().unwrap();
    let out = chromium_cmd(profile.path())
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.canonicalize().unwrap().display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
}
