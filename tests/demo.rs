//! `relkpi demo` and the bundled samples: the warehouse holds exactly what the
//! sample files hold (counted here from the files themselves).

mod common;
use common::Workdir;

fn csv_rows(name: &str) -> i64 {
    let p = common::project("sample-data/servicenow").join(name);
    csv::Reader::from_path(p).unwrap().records().count() as i64
}

#[test]
fn demo_builds_a_fresh_warehouse_from_the_samples() {
    let w = Workdir::new();
    let r = w.run(&["demo", "--dir", "demo"]).ok();
    assert!(r.stdout.contains("KPIs for 2025-06"), "{}", r.stdout);
    assert!(r.stdout.contains("Change failure rate"), "{}", r.stdout);
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::project("sample-data/servicenow/incident.json")).unwrap(),
    )
    .unwrap();
    let incidents = json["result"].as_array().unwrap().len() as i64;
    let db = w.path("demo/relkpi.duckdb");
    let db = db.to_str().unwrap();
    let count = |t: &str| {
        let r = w
            .run(&[
                "--db",
                db,
                "sql",
                "--format",
                "csv",
                &format!("select count(*) from {t}"),
            ])
            .ok();
        r.stdout.lines().nth(1).unwrap().parse::<i64>().unwrap()
    };
    assert_eq!(count("changes"), csv_rows("change_request.csv"));
    assert_eq!(count("releases"), csv_rows("rm_release.csv"));
    assert_eq!(count("satisfaction"), csv_rows("satisfaction.csv"));
    assert_eq!(count("incidents"), incidents);
    assert_eq!(count("import_rejects"), 0);
    // Every KPI has data in the samples' last month.
    let r = w
        .run(&["--db", db, "kpi", "--period", "2025-06", "--format", "json"])
        .ok()
        .json();
    for k in r["kpis"].as_array().unwrap() {
        assert!(
            k["value"].is_number(),
            "{} has no value in 2025-06: {}",
            k["id"],
            k["note"]
        );
    }
    // A second demo starts afresh.
    w.run(&["demo", "--dir", "demo"]).ok();
    assert_eq!(count("import_batches"), 4);
}
