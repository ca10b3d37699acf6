//! Trying hard to break relkpi: `sql` without `--write` against statements that
//! would change the warehouse, SIGKILL in the middle of imports and reports,
//! concurrent processes, and hostile files. Each ends with a clear error or a
//! correct result, never a panic or a half-loaded file.

mod common;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Workdir;

fn sha(path: &std::path::Path) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn no_panic(r: &common::Run) {
    assert!(!r.stderr.contains("panicked"), "panic: {}", r.stderr);
    assert!(
        r.code == 0 || r.code == 1 || r.code == 2,
        "exit {}: {}",
        r.code,
        r.stderr
    );
}

fn small_warehouse() -> Workdir {
    let w = Workdir::new();
    let f = w.write(
        "changes.csv",
        "source,change_id,change_type,state,outcome,opened_at,actual_end\n\
         t,C1,normal,closed,successful,2024-03-01 10:00,2024-03-02 10:00\n\
         t,C2,normal,closed,unsuccessful,2024-03-01 10:00,2024-03-03 10:00\n",
    );
    w.run(&["import", f.to_str().unwrap()]).ok();
    w
}

#[test]
fn sql_without_write_cannot_change_the_warehouse() {
    let w = small_warehouse();
    let db = w.path("relkpi.duckdb");
    let before = sha(&db);
    let other = w.path("other.duckdb");
    let copy_to = w.path("copy.csv");
    let refused = [
        "drop table changes".to_owned(),
        "delete from changes".to_owned(),
        "update changes set outcome = 'successful'".to_owned(),
        "insert into changes (source, change_id) values ('x', 'y')".to_owned(),
        "create table x (a int)".to_owned(),
        "create or replace macro release_facts() as table select 1".to_owned(),
        "alter table changes add column z int".to_owned(),
        format!("attach '{}' as o", other.display()),
        "install httpfs".to_owned(),
        "load httpfs".to_owned(),
        "detach relkpi".to_owned(),
    ];
    for q in &refused {
        let r = w.run(&["sql", q]);
        no_panic(&r);
        assert_eq!(r.code, 2, "{q} was not refused: {}", r.stdout);
        assert_eq!(sha(&db), before, "{q} changed the warehouse");
    }
    // Harmless: they run, and the warehouse file is byte for byte the same.
    let harmless = [
        format!("copy changes to '{}'", copy_to.display()),
        "checkpoint".to_owned(),
        "pragma force_checkpoint".to_owned(),
        "vacuum".to_owned(),
        "set threads = 1".to_owned(),
        "select * from duckdb_settings()".to_owned(),
    ];
    for q in &harmless {
        let r = w.run(&["sql", q]);
        no_panic(&r);
        assert_eq!(sha(&db), before, "{q} changed the warehouse");
    }
    assert!(!other.exists(), "attach created a file");
    assert!(!w.path("relkpi.duckdb.wal").exists());
    assert_eq!(w.scalar("select count(*) from changes"), 2);
    // With --write the same statements do change it.
    w.run(&["sql", "--write", "delete from changes where change_id = 'C1'"])
        .ok();
    assert_eq!(w.scalar("select count(*) from changes"), 1);
}

/// A data set whose import takes a few seconds: `relkpi generate`.
fn generated(w: &Workdir, changes: &str) -> Vec<String> {
    w.run(&["generate", "--changes", changes, "--out", "g"]).ok();
    ["change_request.csv", "incident.csv"]
        .iter()
        .map(|f| w.path("g").join(f).display().to_string())
        .collect()
}

fn count(w: &Workdir, db: &str, q: &str) -> i64 {
    let r = w.run(&["--db", db, "sql", "--format", "csv", q]).ok();
    r.stdout.lines().nth(1).unwrap().parse().unwrap()
}

#[test]
fn sigkill_during_import_leaves_before_or_after_per_file() {
    let w = Workdir::new();
    let files = generated(&w, "20000");
    // The whole import, for the "after" figures and the time it takes.
    // Files past 3,000 records spill as they are mapped: a first import's
    // records go straight into their table in a transaction open from the
    // first batch to the load (src/import/spill.rs).
    let t0 = Instant::now();
    let out = w
        .cmd()
        .env("RELKPI_SPILL_ROWS", "3000")
        .args(["--db", "full.duckdb", "import", &files[0], &files[1]])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let full = t0.elapsed();
    let changes = count(&w, "full.duckdb", "select count(*) from changes");
    let incidents = count(&w, "full.duckdb", "select count(*) from incidents");
    // 12 kills spread over the import's duration (and one right at the start).
    for k in 0..12u32 {
        let db = format!("k{k}.duckdb");
        let delay = full.mul_f64(f64::from(k) / 11.0);
        let mut child = w
            .cmd()
            .env("RELKPI_SPILL_ROWS", "3000")
            .args(["--db", &db, "import", &files[0], &files[1]])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        if !w.path(&db).exists() {
            continue; // killed before the warehouse was created
        }
        // The warehouse opens, and holds each file entirely or not at all.
        let st = w.run(&["--db", &db, "status", "--format", "json"]);
        assert_eq!(
            st.code, 0,
            "kill after {delay:?}: the warehouse does not open: {}",
            st.stderr
        );
        let c = count(&w, &db, "select count(*) from changes");
        let i = count(&w, &db, "select count(*) from incidents");
        assert!(c == 0 || c == changes, "kill after {delay:?}: {c} of {changes} changes");
        assert!(
            i == 0 || i == incidents,
            "kill after {delay:?}: {i} of {incidents} incidents"
        );
        assert!(i == 0 || c == changes, "files load in order");
        let batches = count(&w, &db, "select count(*) from import_batches");
        assert_eq!(batches, i64::from(c > 0) + i64::from(i > 0), "a batch per loaded file");
        let check = w.run(&["--db", &db, "sql", "pragma verify_integrity"]);
        assert!(!check.stderr.contains("panicked"));
        // And the import, run again, completes it.
        w.run(&["--db", &db, "import", &files[0], &files[1]]).ok();
        assert_eq!(count(&w, &db, "select count(*) from changes"), changes);
        assert_eq!(count(&w, &db, "select count(*) from incidents"), incidents);
    }
}

#[test]
fn sigkill_during_report_never_leaves_half_a_page() {
    let w = small_warehouse();
    let t0 = Instant::now();
    w.run(&["report", "--period", "2024-03", "--months", "2", "--out", "r"])
        .ok();
    let full = t0.elapsed();
    let good = std::fs::read_to_string(w.path("r/index.html")).unwrap();
    assert!(good.trim_end().ends_with("</html>"));
    for k in 0..5u32 {
        let out = format!("r{k}");
        let mut child = w
            .cmd()
            .args(["report", "--period", "2024-03", "--months", "2", "--out", &out])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(full.mul_f64(f64::from(k) / 4.0));
        let _ = child.kill();
        let _ = child.wait();
        let index = w.path(&out).join("index.html");
        if index.exists() {
            let page = std::fs::read_to_string(&index).unwrap();
            assert!(
                page.trim_end().ends_with("</html>"),
                "a half-written index.html after kill {k}"
            );
        }
    }
    // A new report into a folder of a killed one works (the lock died with the process).
    w.run(&["report", "--period", "2024-03", "--months", "1", "--out", "r2"])
        .ok();
    assert!(w.path("r2/index.html").is_file());
}

#[test]
fn concurrent_processes_succeed_or_say_why() {
    let w = Workdir::new();
    let files = generated(&w, "6000");
    let spawn = |args: &[&str]| {
        w.cmd()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Two imports at once: both finish, or one says the warehouse is in use.
    let a = spawn(&["import", &files[0]]);
    let b = spawn(&["import", &files[1]]);
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    for o in [&a, &b] {
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success() || err.contains("is in use"), "{err}");
        assert!(!err.contains("panicked"));
    }
    assert!(a.status.success() || b.status.success());
    // Whatever failed loads now; the result is the same as one after the other.
    w.run(&["import", &files[0], &files[1]]).ok();
    let changes = w.scalar("select count(*) from changes").as_i64().unwrap();
    assert_eq!(changes, 6000);
    assert_eq!(w.scalar("select count(*) from import_rejects"), 0);
    // A KPI run during an import: it runs, or says the warehouse is in use.
    let imp = spawn(&["import", &files[0], &files[1]]);
    std::thread::sleep(Duration::from_millis(300));
    let k = w.run(&[
        "kpi",
        "--period",
        "2025-06",
        "--kpi",
        "deployment_frequency",
        "--format",
        "json",
    ]);
    let imp = imp.wait_with_output().unwrap();
    assert!(k.code == 0 || k.stderr.contains("is in use"), "{}", k.stderr);
    assert!(imp.status.success() || String::from_utf8_lossy(&imp.stderr).contains("is in use"));
    assert_eq!(w.scalar("select count(*) from changes"), 6000);
    // Two reports into one folder at once: both write it, or one waits its turn.
    let r1 = spawn(&["report", "--period", "2025-06", "--months", "1", "--out", "same"]);
    let r2 = spawn(&["report", "--period", "2025-06", "--months", "1", "--out", "same"]);
    let (r1, r2) = (r1.wait_with_output().unwrap(), r2.wait_with_output().unwrap());
    for o in [&r1, &r2] {
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            o.status.success() || err.contains("another relkpi report is writing"),
            "{err}"
        );
    }
    let page = std::fs::read_to_string(w.path("same/index.html")).unwrap();
    assert!(page.trim_end().ends_with("</html>"));
}

#[test]
fn hostile_files_end_in_a_clear_error_or_a_correct_import() {
    let w = Workdir::new();
    let import = |name: &str, extra: &[&str]| {
        let mut args = vec!["import"];
        args.extend_from_slice(extra);
        let p = w.path(name).display().to_string();
        args.push(&p);
        let r = w.run(&args);
        no_panic(&r);
        r
    };
    // A directory and a FIFO (which would block a naive reader forever).
    std::fs::create_dir_all(w.path("adir")).unwrap();
    let r = import("adir", &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("is a directory"), "{}", r.stderr);
    let fifo = w.path("fifo.csv");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let r = import("fifo.csv", &[]);
    assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
    // 10,000 columns: no known layout, said with the headers.
    let mut wide = (0..10_000).map(|i| format!("c{i}")).collect::<Vec<_>>().join(",");
    wide.push('\n');
    wide.push_str(&vec!["1"; 10_000].join(","));
    wide.push('\n');
    w.write("wide.csv", &wide);
    let r = import("wide.csv", &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("cannot tell which system"),
        "{}",
        &r.stderr[..300.min(r.stderr.len())]
    );
    // A field of 10 MB loads whole.
    let big = "x".repeat(10 << 20);
    w.write(
        "bigfield.csv",
        &format!("source,change_id,title,actual_end\nt,C1,{big},2024-03-01 10:00\n"),
    );
    import("bigfield.csv", &[]).ok();
    assert_eq!(
        w.scalar("select length(title) from changes where change_id = 'C1'"),
        10 << 20
    );
    // NUL bytes inside a field: loaded as they are, or the row rejected with a reason.
    w.write_bytes(
        "nul.csv",
        b"source,change_id,title,actual_end\nt,C2,bad\0title,2024-03-01 10:00\nt,C3,fine,2024-03-01 10:00\n",
    );
    let r = import("nul.csv", &[]);
    assert!(r.stdout.contains("read 2 ="), "{}{}", r.stdout, r.stderr);
    assert_eq!(w.scalar("select count(*) from changes where change_id = 'C3'"), 1);
    assert_eq!(
        w.scalar("select field || ': ' || line from import_rejects where reason like '%NUL byte%'"),
        "title: 2"
    );
    // Invalid UTF-8 in the middle of a UTF-8 file: nothing lost, nothing silently garbled
    // in the valid rows.
    w.write_bytes(
        "utf8.csv",
        b"source,change_id,title,actual_end\nt,U1,Z\xc3\xbcrich,2024-03-01 10:00\nt,U2,bad \xff byte,2024-03-01 10:00\n",
    );
    let r = import("utf8.csv", &[]);
    assert!(r.stdout.contains("read 2 ="), "{}{}", r.stdout, r.stderr);
    let u1 = w.scalar("select title from changes where change_id = 'U1'");
    assert_eq!(u1, "Zürich", "a valid row was garbled");
    assert_eq!(
        w.scalar("select field || ': ' || line from import_rejects where reason like '%not UTF-8%'"),
        "title: 3"
    );
    // A gzip bomb: 4 GiB of zeros in 64 gzip members of a few KB each stops with a
    // clear error in bounded memory (under 1 GiB).
    {
        let mut member = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![b'0'; 1 << 20];
        for _ in 0..64 {
            member.write_all(&zeros).unwrap();
        }
        let member = member.finish().unwrap();
        let mut f = std::fs::File::create(w.path("bomb.csv.gz")).unwrap();
        let mut head = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        head.write_all(b"source,change_id\n").unwrap();
        f.write_all(&head.finish().unwrap()).unwrap();
        for _ in 0..64 {
            f.write_all(&member).unwrap();
        }
    }
    let r = peak("bomb.csv.gz", &w);
    assert!(r.1.contains("gzip bomb"), "{}", r.1);
    assert!(r.0 < 1 << 20, "peak memory {} KiB for the gzip bomb", r.0);
    // JSON nested 100,000 levels deep.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    w.write("deep.json", &deep);
    let r = import("deep.json", &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("deep.json"), "{}", r.stderr);
    // An "XLSX" that is a zip of something else.
    {
        let f = std::fs::File::create(w.path("fake.xlsx")).unwrap();
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b"not a workbook").unwrap();
        let mut zip = b"PK\x03\x04".to_vec();
        zip.extend(z.finish().unwrap());
        std::io::Write::write_all(&mut &f, &zip).unwrap();
    }
    let r = import("fake.xlsx", &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("fake.xlsx"), "{}", r.stderr);
    // An XLSX whose cells span Excel's whole grid (A1 to XFD1048576): read cell
    // by cell, not as the 17-billion-cell rectangle between them.
    {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for (i, h) in ["number", "type", "closed_at"].iter().enumerate() {
            ws.write_string(0, i as u16, *h).unwrap();
        }
        ws.write_string(1, 0, "CHG1").unwrap();
        ws.write_string(1, 1, "Normal").unwrap();
        ws.write_string(1_048_575, 16_383, "far away").unwrap();
        wb.save(w.path("sparse.xlsx")).unwrap();
    }
    let r = peak("sparse.xlsx", &w);
    assert!(r.0 < 300 << 10, "peak memory {} KiB for a sparse XLSX", r.0);
    let r = import("sparse.xlsx", &[]);
    assert!(r.stdout.contains("read 2 = inserted 1 "), "{}", r.stdout);
    assert!(r.stdout.contains("rejected 1"), "{}", r.stdout);
    // A 1 GB file on one line: refused after reading its first MiB, in bounded memory.
    {
        let f = std::fs::File::create(w.path("oneline.csv")).unwrap();
        let mut b = std::io::BufWriter::new(f);
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..1024 {
            b.write_all(&chunk).unwrap();
        }
    }
    let r = peak("oneline.csv", &w);
    assert!(r.1.contains("no line break in the first 1 MiB"), "{}", r.1);
    assert!(r.0 < 200 << 10, "peak memory {} KiB for a 1 GB line", r.0);
    std::fs::remove_file(w.path("oneline.csv")).unwrap();
}

/// (peak KiB, stderr) of importing a file into a scratch warehouse.
fn peak(name: &str, w: &Workdir) -> (u64, String) {
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(env!("CARGO_BIN_EXE_relkpi"))
        .args(["--db", "peak.duckdb", "import"])
        .arg(w.path(name))
        .current_dir(w.dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let kib = err.trim().lines().last().unwrap().trim().parse().unwrap();
    assert!(!err.contains("panicked"), "{err}");
    (kib, err)
}
