//! `relkpi report`, `relkpi chart` and the demo's report: the view model for the
//! sample data (snapshot), the page in headless Chromium (loads with no console
//! output, every chart present and drawn, screenshot), hostile record text, the
//! PDF, and the lock that keeps two reports out of one folder.

mod common;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{Workdir, render_page, screenshot};
use serde_json::Value;

/// One demo warehouse (and its report) for every test of this file.
fn demo() -> &'static Path {
    static DEMO: OnceLock<PathBuf> = OnceLock::new();
    DEMO.get_or_init(|| {
        let w = Box::leak(Box::new(Workdir::new()));
        let r = w.run(&["demo", "--dir", "demo"]).ok();
        assert!(r.stdout.contains("report:"), "{}", r.stdout);
        w.path("demo")
    })
}

fn relkpi(args: &[&str]) -> common::Run {
    let w = Workdir::new();
    let out = w.cmd().current_dir(demo()).args(args).output().unwrap();
    common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Figures of one tile of the view model.
fn tile<'a>(m: &'a Value, id: &str) -> &'a Value {
    m["tiles"].as_array().unwrap().iter().find(|t| t["id"] == id).unwrap()
}

#[test]
fn view_model_of_the_samples() {
    let dir = demo();
    let out = dir.join("vm-report");
    relkpi(&[
        "report",
        "--period",
        "2025-06",
        "--months",
        "6",
        "--out",
        out.to_str().unwrap(),
        "--view-model",
        dir.join("vm.json").to_str().unwrap(),
    ])
    .ok();
    let mut m: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("vm.json")).unwrap()).unwrap();
    // The figures agree with `relkpi kpi` for the same month.
    let k = relkpi(&["kpi", "--period", "2025-06", "--format", "json"]).ok().json();
    for kpi in k["kpis"].as_array().unwrap() {
        let t = tile(&m, kpi["id"].as_str().unwrap());
        assert_eq!(t["title"], kpi["title"]);
        if kpi["unit"] == "ratio" {
            let want = format!("{:.1}%", kpi["value"].as_f64().unwrap() * 100.0);
            assert_eq!(t["value"], want.as_str(), "{}", kpi["id"]);
        }
    }
    // 16 tiles and 16 charts, each an SVG with a file of its own.
    assert_eq!(m["tiles"].as_array().unwrap().len(), 16);
    for c in m["charts"].as_array_mut().unwrap() {
        let svg = c["svg"].as_str().unwrap();
        assert!(svg.starts_with("<svg") && svg.len() > 2000, "{}", c["id"]);
        assert!(out.join(c["svg_file"].as_str().unwrap()).is_file());
        assert!(out.join(c["png_file"].as_str().unwrap()).is_file());
        // Drawn markup is checked above and in the page test; keep the snapshot readable.
        c["svg"] = Value::String(format!("<{} bytes of SVG>", svg.len() / 1000 * 1000));
    }
    // What depends on the clock or the temporary folder.
    m["generated_at"] = Value::Null;
    m["data_as_of"] = Value::Null;
    for b in m["batches"].as_array_mut().unwrap() {
        b["finished_at"] = Value::Null;
        let f = b["file"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
        b["file"] = Value::String(f);
    }
    insta::assert_json_snapshot!("view_model_2025_06", m);
}

#[test]
fn the_demo_report_renders_in_chromium() {
    let dir = demo();
    let index = dir.join("reports/demo/index.html");
    let html = std::fs::read_to_string(&index).unwrap();
    // Self-contained: no scripts, no external resources.
    assert!(!html.contains("<script"), "the page must not need JavaScript");
    let without_ns = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for bad in ["http://", "https://", "<link ", "src=\"", "url("] {
        assert!(!without_ns.contains(bad), "external reference {bad:?} in the page");
    }
    let page = render_page(&index);
    assert!(page.console.is_empty(), "console output: {:#?}", page.console);
    // Every KPI's chart is present and drawn: a figure with an SVG holding data marks.
    let figures: Vec<&str> = page.dom.split("<figure").skip(1).collect();
    assert_eq!(figures.len(), 16, "one chart per KPI");
    for f in &figures {
        let svg = &f[..f.find("</figure>").unwrap()];
        assert!(svg.contains("<svg"), "figure without SVG: {}", &svg[..200]);
        let marks = svg.matches("<polyline").count() + svg.matches("<circle").count() + svg.matches("<rect").count();
        assert!(marks > 3, "chart without data marks: {}", &svg[..200]);
    }
    for section in [
        "headlines",
        "trends",
        "breakdowns",
        "records",
        "quality",
        "methodology",
        "sources",
    ] {
        assert!(
            page.dom.contains(&format!("id=\"{section}\"")),
            "section {section} missing"
        );
    }
    let shot = dir.join("report-screenshot.png");
    screenshot(&index, &shot, 1280, 2400);
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 100_000,
        "screenshot looks empty"
    );
    // Kept for people to look at: target/tmp/report-screenshot.png.
    let keep = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-screenshot.png");
    std::fs::copy(&shot, keep).unwrap();
}

#[test]
fn the_console_check_sees_scripts() {
    // The control for the test above: a page that logs is caught.
    let w = Workdir::new();
    let p = w.write(
        "logs.html",
        "<!DOCTYPE html><p>x</p><script>console.error('boom')</script>",
    );
    let page = render_page(&p);
    assert_eq!(page.console.len(), 1, "{:?}", page.console);
}

#[test]
fn record_text_is_escaped() {
    let w = Workdir::new();
    let evil = "<script>document.title='pwned'</script><img src=x onerror=\"document.body.dataset.xss=1\">";
    let f = w.write(
        "changes.csv",
        &format!(
            "source,change_id,title,service,change_type,state,outcome,opened_at,actual_end\n\
             t,CHG1,\"{}\",\"<b>Pay</b>\",normal,closed,unsuccessful,2024-03-01 10:00,2024-03-02 10:00\n\
             t,CHG2,ok,Pay,normal,closed,successful,2024-02-01 10:00,2024-02-02 10:00\n",
            evil.replace('"', "\"\"")
        ),
    );
    w.run(&["import", f.to_str().unwrap()]).ok();
    w.run(&["report", "--period", "2024-03", "--months", "2", "--out", "r"])
        .ok();
    let html = std::fs::read_to_string(w.path("r/index.html")).unwrap();
    assert!(html.contains("&lt;script&gt;document.title="), "title not escaped");
    assert!(!html.contains("<script>"));
    assert!(!html.contains("<b>Pay</b>"));
    let page = render_page(&w.path("r/index.html"));
    assert!(page.console.is_empty(), "{:?}", page.console);
    assert!(!page.dom.contains("pwned</title>") && !page.dom.contains("data-xss"));
    assert!(!page.dom.contains("<img"), "the record's <img> became an element");
    assert!(page.dom.contains("CHG1"), "the failed change is listed");
}

#[test]
fn files_next_to_the_page() {
    let dir = demo().join("reports/demo");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("kpis.json")).unwrap()).unwrap();
    assert_eq!(json["period"]["label"], "2025-06");
    assert_eq!(json["against"]["label"], "2025-05");
    assert_eq!(json["kpis"].as_array().unwrap().len(), 16);
    assert_eq!(json["trend"][0]["points"].as_array().unwrap().len(), 12);
    let csv = std::fs::read_to_string(dir.join("kpis.csv")).unwrap();
    assert_eq!(csv.lines().count(), 17);
    assert!(csv.starts_with("id,title,unit,better,period,value"));
    for e in std::fs::read_dir(dir.join("charts")).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.starts_with('.'), "temporary file left: {name}");
    }
    assert_eq!(std::fs::read_dir(dir.join("charts")).unwrap().count(), 32);
}

/// A report makes each KPI run once (the compared months are also trend
/// months; the drivers' breakdowns are also its breakdown columns: the runs
/// kept by `kpi::Prepared`): every trend month from 2025-04 and both compared
/// values equal `relkpi kpi` run on its own for that month, and the rows of
/// the breakdowns are the groups of `relkpi kpi --by` (a run kept under the
/// wrong breakdown would give none, or another dimension's).
#[test]
fn a_report_reuses_no_run_of_another_period_or_breakdown() {
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(demo().join("reports/demo/kpis.json")).unwrap()).unwrap();
    let months = ["2025-04", "2025-05", "2025-06"];
    let alone: Vec<Value> = months
        .iter()
        .map(|m| relkpi(&["kpi", "--period", m, "--format", "json"]).ok().json())
        .collect();
    let own = |month: &str, id: &Value| -> Value {
        let k = &alone[months.iter().position(|m| *m == month).unwrap()];
        k["kpis"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| &k["id"] == id)
            .unwrap()
            .clone()
    };
    // Equal, but for the last digits of a mean DuckDB may sum in another order.
    let same = |a: &Value, b: &Value| match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(1.0),
        _ => a == b,
    };
    let mut checked = 0;
    for series in json["trend"].as_array().unwrap() {
        let id = &series["id"];
        for p in series["points"].as_array().unwrap() {
            let month = p["period"]["label"].as_str().unwrap();
            if !months.contains(&month) {
                continue;
            }
            let own = own(month, id);
            for f in ["value", "numerator", "denominator", "count"] {
                assert!(same(&p[f], &own[f]), "{id} {month} {f}: {} against {}", p[f], own[f]);
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 16 * 3);
    for tile in json["kpis"].as_array().unwrap() {
        let id = &tile["id"];
        assert!(same(&tile["value"], &own("2025-06", id)["value"]), "{id}");
        assert!(same(&tile["against"]["value"], &own("2025-05", id)["value"]), "{id}");
    }
    // The breakdown's rows are the groups `kpi --by` finds (the snapshot of
    // `view_model_of_the_samples` holds their figures).
    let model = demo().join("vm-by.json");
    let out = demo().join("by-report");
    relkpi(&[
        "report",
        "--period",
        "2025-06",
        "--months",
        "3",
        "--out",
        out.to_str().unwrap(),
        "--view-model",
        model.to_str().unwrap(),
    ])
    .ok();
    let m: Value = serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    for (dim, label) in [("service", "Service"), ("team", "Team")] {
        let k = relkpi(&["kpi", "--period", "2025-06", "--by", dim, "--format", "json"])
            .ok()
            .json();
        let groups: std::collections::BTreeSet<String> = k["kpis"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|k| k["group"][dim].as_str().map(str::to_owned))
            .collect();
        let b = m["breakdowns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["dimension"] == label)
            .unwrap();
        let rows: Vec<&str> = b["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert!(rows.len() > 1, "{dim}: {rows:?}");
        assert!(
            rows.iter().all(|r| groups.contains(*r)),
            "{dim}: {rows:?} against {groups:?}"
        );
    }
}

#[test]
fn chart_command_writes_svg_and_png() {
    let dir = demo();
    let svg = dir.join("cfr.svg");
    let png = dir.join("cfr.png");
    relkpi(&[
        "chart",
        "change_failure_rate",
        "--period",
        "2025-06",
        "--months",
        "4",
        "--against",
        "year-ago",
        "-o",
        svg.to_str().unwrap(),
    ])
    .ok();
    let s = std::fs::read_to_string(&svg).unwrap();
    assert!(s.contains("Change failure rate") && s.contains("2024-06") && s.contains("green target"));
    relkpi(&[
        "chart",
        "deployment_frequency",
        "--period",
        "2025-06",
        "--months",
        "3",
        "-o",
        png.to_str().unwrap(),
    ])
    .ok();
    assert_eq!(&std::fs::read(&png).unwrap()[1..4], b"PNG");
    let bad = relkpi(&["chart", "change_failure_rate", "-o", "x.gif"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains(".svg or .png"), "{}", bad.stderr);
    let typo = relkpi(&["chart", "change_failur_rate", "-o", "x.svg"]);
    assert!(
        typo.stderr.contains("did you mean change_failure_rate"),
        "{}",
        typo.stderr
    );
}

#[test]
fn pdf_is_printed() {
    let dir = demo();
    let out = dir.join("pdf-report");
    relkpi(&[
        "report",
        "--period",
        "2025-06",
        "--months",
        "2",
        "--out",
        out.to_str().unwrap(),
        "--pdf",
    ])
    .ok();
    let pdf = std::fs::read(out.join("report.pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    assert!(pdf.len() > 20_000);
    // Without a browser the error says how to get one.
    let mut c = Workdir::new().cmd();
    let r = c
        .current_dir(demo())
        .env("PATH", "/nonexistent")
        .args(["report", "--months", "1", "--out", out.to_str().unwrap(), "--pdf"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2));
    assert!(err.contains("apt-get install chromium"), "{err}");
}

#[test]
fn a_second_report_into_the_same_folder_waits_its_turn() {
    let dir = demo();
    let out = dir.join("locked");
    std::fs::create_dir_all(&out).unwrap();
    let f = std::fs::File::create(out.join(".relkpi-report.lock")).unwrap();
    f.try_lock().unwrap();
    let r = relkpi(&["report", "--months", "1", "--out", out.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("another relkpi report is writing into"),
        "{}",
        r.stderr
    );
    assert!(!out.join("index.html").exists());
    f.unlock().unwrap();
    relkpi(&["report", "--months", "1", "--out", out.to_str().unwrap()]).ok();
    assert!(out.join("index.html").is_file());
}
