//! The terminal side of relkpi: how much to say (`-q`, `-v`), colour (only on
//! a terminal, never with NO_COLOR, through anstream as clap does), and
//! progress bars that appear only on a terminal and only for work that takes
//! more than a second.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::Duration;

use anstyle::{AnsiColor, Style};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

static QUIET: AtomicBool = AtomicBool::new(false);
static VERBOSITY: AtomicU8 = AtomicU8::new(0);

pub fn init(quiet: bool, verbose: u8) {
    QUIET.store(quiet, Ordering::Relaxed);
    VERBOSITY.store(if quiet { 0 } else { verbose }, Ordering::Relaxed);
}

pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

pub fn verbosity() -> u8 {
    VERBOSITY.load(Ordering::Relaxed)
}

const ERROR: Style = AnsiColor::Red.on_default().bold();
const NOTE: Style = AnsiColor::Cyan.on_default();

/// `error: ...` on standard error, the prefix in red on a terminal.
pub fn error(msg: impl std::fmt::Display) {
    let mut e = anstream::stderr().lock();
    let _ = writeln!(e, "{ERROR}error:{ERROR:#} {msg}");
}

/// A note for the user on standard error (unless `--quiet`).
pub fn info(msg: impl std::fmt::Display) {
    if !quiet() {
        let mut e = anstream::stderr().lock();
        let _ = writeln!(e, "{NOTE}relkpi:{NOTE:#} {msg}");
    }
}

/// A detail shown with `-v` (level 1) or `-vv` (level 2), on standard error.
pub fn verbose(level: u8, msg: impl std::fmt::Display) {
    if verbosity() >= level {
        let mut e = anstream::stderr().lock();
        let _ = writeln!(e, "{NOTE}relkpi:{NOTE:#} {msg}");
    }
}

/// A progress bar over `len` steps. Hidden unless standard error is a
/// terminal and not `--quiet`; even then it appears only once the work has
/// taken a second, so quick commands print nothing extra.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    pub fn new(len: u64, what: &str) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} {prefix} [{bar:30}] {pos}/{len} {wide_msg} {elapsed}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(what.to_owned());
        if !quiet() && std::io::stderr().is_terminal() {
            let weak = bar.downgrade();
            // RELKPI_PROGRESS_DELAY_MS: how long the work runs before the bar
            // shows (the tests show it at once, whatever the build's speed).
            let delay = std::env::var("RELKPI_PROGRESS_DELAY_MS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(1000);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(delay));
                if let Some(bar) = weak.upgrade()
                    && !bar.is_finished()
                {
                    bar.set_draw_target(ProgressDrawTarget::stderr());
                    bar.enable_steady_tick(Duration::from_millis(120));
                }
            });
        }
        Progress { bar }
    }

    pub fn set(&self, pos: u64) {
        self.bar.set_position(pos);
    }

    pub fn inc_length(&self, n: u64) {
        self.bar.inc_length(n);
    }

    /// One step done; `next` says what comes next.
    pub fn step(&self, next: impl Into<String>) {
        self.bar.inc(1);
        self.bar.set_message(next.into());
        verbose(2, self.bar.message());
    }

    pub fn message(&self, msg: impl Into<String>) {
        self.bar.set_message(msg.into());
        verbose(2, self.bar.message());
    }

    /// Print a line above the bar without tearing it.
    pub fn println(&self, line: impl AsRef<str>) {
        self.bar.suspend(|| println!("{}", line.as_ref()));
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// Time spent in each phase of a job, shown with `-vv`.
pub struct Phases {
    what: String,
    last: std::cell::Cell<std::time::Instant>,
}

impl Phases {
    pub fn start(what: impl std::fmt::Display) -> Phases {
        Phases {
            what: what.to_string(),
            last: std::cell::Cell::new(std::time::Instant::now()),
        }
    }

    /// Report the time since the previous lap (or the start) as `phase`, and
    /// the process's peak memory so far where the system tells it.
    pub fn lap(&self, phase: &str) {
        let now = std::time::Instant::now();
        let took = now - self.last.replace(now);
        if verbosity() < 2 {
            return;
        }
        let peak = memory_mb()
            .map(|(now, peak)| format!(" (now {now} MB, peak {peak} MB)"))
            .unwrap_or_default();
        verbose(2, format!("{}: {phase} {:.2} s{peak}", self.what, took.as_secs_f64()));
    }
}

/// The process's resident memory now and at its peak, in MB (Linux: VmRSS
/// and VmHWM in /proc/self/status, read once); `None` where there is no /proc.
fn memory_mb() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let mb = |field: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(field))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024)
    };
    Some((mb("VmRSS:")?, mb("VmHWM:")?))
}
