//! The command line itself: every `--help` example runs and is in the README,
//! completions and manual pages, `--version`, `-q`/`-v`, colour only where it
//! belongs (a pseudo-terminal from `script`), progress bars on a terminal only,
//! and suggestions for misspellings.

mod common;
use std::process::Command;

use common::Workdir;

const COMMANDS: &[&str] = &[
    "import",
    "sql",
    "kpi",
    "compare",
    "trend",
    "report",
    "chart",
    "schedule",
    "review",
    "generate",
    "export",
    "check",
    "demo",
    "status",
    "completions",
    "man",
];

fn example(w: &Workdir, cmd: &str) -> String {
    let help = w.run(&[cmd, "--help"]).ok().stdout;
    let line = help
        .lines()
        .find_map(|l| l.trim().strip_prefix("Example: "))
        .unwrap_or_else(|| panic!("`relkpi {cmd} --help` has no example:\n{help}"));
    let summary = help.lines().next().unwrap_or_default();
    assert!(
        !summary.trim().is_empty() && summary.len() < 120,
        "{cmd}: one-line summary, got {summary:?}"
    );
    line.to_owned()
}

#[test]
fn every_help_example_is_in_the_readme_and_runs() {
    let w = Workdir::new();
    let readme = std::fs::read_to_string(common::project("README.md")).unwrap();
    // The examples' inputs: the demo warehouse in the current folder, and the sample files.
    w.run(&["demo", "--dir", "."]).ok();
    let samples = common::project("sample-data/servicenow").display().to_string();
    std::fs::copy(format!("{samples}/change_request.csv"), w.path("change_request.csv")).unwrap();
    let json = std::fs::read(format!("{samples}/incident.json")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &json).unwrap();
    w.write_bytes("incident.json.gz", &gz.finish().unwrap());
    for cmd in COMMANDS {
        let ex = example(&w, cmd);
        assert!(readme.contains(&ex), "README lacks the `{cmd}` example: {ex}");
        let line = ex.strip_prefix("relkpi ").unwrap();
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("\"$RELKPI\" {line}"))
            .env("RELKPI", env!("CARGO_BIN_EXE_relkpi"))
            .current_dir(w.dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{ex}: exit {:?}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(w.path("reports/2024-03/index.html").is_file());
    assert!(w.path("cfr.png").is_file());
    assert!(w.path("schedule.html").is_file());
    assert!(w.path("generated/change_request.csv").is_file());
    assert!(w.path("export/kpi_results").is_dir());
    assert!(w.path("reviews/2024-03/index.html").is_file());
    assert!(w.path("man/relkpi-report.1").is_file());
    assert!(
        std::fs::read_to_string(w.path("relkpi.bash"))
            .unwrap()
            .contains("relkpi__subcmd__report")
    );
}

#[test]
fn version_names_duckdb() {
    let w = Workdir::new();
    let v = w.run(&["--version"]).ok().stdout;
    assert!(v.starts_with("relkpi 0.") && v.contains("(DuckDB v"), "{v}");
}

#[test]
fn manual_page_and_completions() {
    let w = Workdir::new();
    let man = w.run(&["man"]).ok().stdout;
    assert!(
        man.starts_with(".ie") || man.contains(".TH relkpi"),
        "{}",
        &man[..200.min(man.len())]
    );
    assert!(man.contains("report"));
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let s = w.run(&["completions", shell]).ok().stdout;
        assert!(s.contains("relkpi") && s.contains("compare"), "{shell}");
    }
}

#[test]
fn misspellings_get_suggestions() {
    let w = Workdir::new();
    let r = w.run(&["stauts"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("similar subcommand exists: 'status'"), "{}", r.stderr);
    let r = w.run(&["kpi", "--by", "servce"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("similar value exists: 'service'"), "{}", r.stderr);
    let r = w.run(&["kpi"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("no warehouse at") && r.stderr.contains("relkpi import"),
        "{}",
        r.stderr
    );
}

/// Run relkpi under a pseudo-terminal (util-linux `script`), as a person would.
fn on_terminal(w: &Workdir, args: &str, env: &[(&str, &str)]) -> String {
    let mut c = Command::new("script");
    c.args([
        "-qec",
        &format!("\"{}\" {args}", env!("CARGO_BIN_EXE_relkpi")),
        "/dev/null",
    ])
    .current_dir(w.dir.path())
    .env_remove("NO_COLOR")
    .env_remove("CLICOLOR_FORCE")
    .env("TERM", "xterm-256color");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn colour_on_a_terminal_only_and_never_with_no_color() {
    let w = Workdir::new();
    let tty = on_terminal(&w, "--db missing.duckdb kpi", &[]);
    assert!(tty.contains("no warehouse at"), "{tty}");
    assert!(tty.contains("\x1b["), "an error on a terminal is coloured: {tty:?}");
    let no_color = on_terminal(&w, "--db missing.duckdb kpi", &[("NO_COLOR", "1")]);
    assert!(
        no_color.contains("no warehouse at") && !no_color.contains("\x1b["),
        "{no_color:?}"
    );
    let piped = w.run(&["--db", "missing.duckdb", "kpi"]);
    assert!(!piped.stderr.contains('\x1b'), "{:?}", piped.stderr);
}

/// 60,000 canonical changes: an import long enough for a bar to be drawn.
fn big_import(w: &Workdir) -> std::path::PathBuf {
    let mut csv = String::from("source,change_id,change_type,state,outcome,opened_at,actual_end\n");
    for i in 0..60_000 {
        csv.push_str(&format!(
            "t,C{i},normal,closed,successful,2024-03-01 10:00,2024-03-02 10:{:02}\n",
            i % 60
        ));
    }
    w.write("changes.csv", &csv)
}

#[test]
fn progress_on_a_terminal_quiet_and_verbose() {
    let w = Workdir::new();
    let f = big_import(&w);
    let f = f.to_str().unwrap();
    // The bar shows at once: a release build imports this in under the second
    // a bar waits by default.
    let tty = on_terminal(
        &w,
        &format!("--db t.duckdb import {f}"),
        &[("RELKPI_PROGRESS_DELAY_MS", "0")],
    );
    assert!(tty.contains("inserted 60000"), "{tty}");
    assert!(
        tty.contains("import [") && tty.contains("0/1"),
        "a progress bar on the terminal: {tty:?}"
    );
    // Piped: the summary, no bar.
    let piped = w.run(&["--db", "p.duckdb", "import", f]).ok();
    assert!(piped.stdout.contains("inserted 60000") && !piped.stderr.contains("import ["));
    // Quiet: nothing but errors; on a terminal too.
    let q = on_terminal(&w, &format!("--db q.duckdb -q import {f}"), &[]);
    assert!(!q.contains("inserted") && !q.contains("import ["), "{q:?}");
    // Verbose: timings on standard error.
    let v = w.run(&["--db", "v.duckdb", "-v", "import", f]).ok();
    assert!(v.stderr.contains("relkpi:") && v.stderr.contains(" s"), "{}", v.stderr);
}
