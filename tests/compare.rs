//! `relkpi compare` and `relkpi trend` on a generated fixture whose figures are
//! known by construction. p-values were computed outside relkpi with SciPy 1.x:
//!   two-proportion z (pooled): 6/40 vs 20/40 -> z = -3.3419, p = 0.000832162;
//!                              6/40 vs 4/40  -> z = 0.67612, p = 0.498962;
//!   mannwhitneyu(i/2, i; i = 1..40, two-sided, continuity, asymptotic) -> U = 390, p = 8.1184e-05.

mod common;
use common::Workdir;
use serde_json::Value;

/// 40 changes in Feb 2024 and 40 in Mar 2024. Change i of a month: lead time i days
/// (Feb) or i/2 days (Mar); failed (unsuccessful) when i <= 20 (Feb) or i <= 6 (Mar);
/// emergency when i % 10 == 0 (Feb: 4) or i % 7 == 0 or i == 1 (Mar: 6).
fn fixture() -> Workdir {
    let w = Workdir::new();
    let mut csv = String::from("source,change_id,change_type,state,outcome,opened_at,actual_end\n");
    for (month, day0) in [("02", 1), ("03", 1)] {
        for i in 1..=40u32 {
            let end = chrono::NaiveDate::from_ymd_opt(2024, month.parse().unwrap(), day0)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                + chrono::Duration::hours(12 * i as i64);
            let lead_hours = if month == "02" { 24 * i as i64 } else { 12 * i as i64 };
            let opened = end - chrono::Duration::hours(lead_hours);
            let failed = if month == "02" { i <= 20 } else { i <= 6 };
            let emergency = if month == "02" {
                i % 10 == 0
            } else {
                i % 7 == 0 || i == 1
            };
            csv.push_str(&format!(
                "t,{month}-{i},{},closed,{},{},{}\n",
                if emergency { "emergency" } else { "normal" },
                if failed { "unsuccessful" } else { "successful" },
                opened.format("%Y-%m-%d %H:%M"),
                end.format("%Y-%m-%d %H:%M"),
            ));
        }
    }
    let f = w.write("changes.csv", &csv);
    w.run(&["import", f.to_str().unwrap()]).ok();
    w
}

fn get<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["kpis"].as_array().unwrap().iter().find(|k| k["id"] == id).unwrap()
}

fn close(v: &Value, want: f64, tol: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("expected {want}, got {v}"));
    assert!((got - want).abs() < tol, "expected {want}, got {got}");
}

#[test]
fn significant_improvement_insignificant_move_and_direction() {
    let w = fixture();
    let v = w
        .run(&[
            "compare",
            "--period",
            "2024-03",
            "--against",
            "previous",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(v["against"]["label"], "2024-02");

    // Change failure rate fell from 0.5 to 0.15: lower is better, so improved, significantly.
    let k = get(&v, "change_failure_rate");
    close(&k["value"], 0.15, 1e-12);
    close(&k["against"]["value"], 0.5, 1e-12);
    close(&k["delta"], -0.35, 1e-12);
    close(&k["delta_rel"], -0.7, 1e-12);
    assert_eq!(k["verdict"], "improved");
    assert_eq!(k["test"], "two_proportion_z");
    close(&k["p_value"], 0.000832162, 1e-8);
    // The records behind it: the 6 failed changes of March, the 20 of February.
    assert_eq!(k["records"]["current"].as_array().unwrap().len(), 6);
    assert_eq!(k["records"]["against"].as_array().unwrap().len(), 20);

    // Emergency change rate rose 0.10 -> 0.15 (worse) but not significantly.
    let k = get(&v, "emergency_change_rate");
    assert_eq!(k["direction"], "worsened");
    assert_eq!(k["verdict"], "not significant");
    close(&k["p_value"], 0.498962, 1e-5);

    // Change lead time: median 20.5 d -> 10.25 d, improved, Mann-Whitney U.
    let k = get(&v, "change_lead_time");
    close(&k["value"], 10.25, 1e-9);
    close(&k["against"]["value"], 20.5, 1e-9);
    assert_eq!(k["test"], "mann_whitney_u");
    close(&k["p_value"], 8.1184e-05, 1e-8);
    assert_eq!(k["verdict"], "improved");

    // No releases at all: no data, not a verdict.
    assert_eq!(get(&v, "release_success_rate")["verdict"], "no data");
}

#[test]
fn tiny_and_empty_periods_get_no_verdict() {
    let w = fixture();
    // 2024-03-01 .. 03-03 holds 3 changes (ends at 12:00, 00:00, 12:00 on 03-01 .. 03-02).
    let v = w
        .run(&[
            "compare",
            "--from",
            "2024-03-01",
            "--to",
            "2024-03-03",
            "--against-from",
            "2024-02-01",
            "--against-to",
            "2024-02-03",
            "--format",
            "json",
        ])
        .ok()
        .json();
    let k = get(&v, "change_failure_rate");
    assert_eq!(k["count"], 3);
    assert_eq!(k["verdict"], "too few records");
    // --min-records lowers the bar.
    let v = w
        .run(&[
            "compare",
            "--from",
            "2024-03-01",
            "--to",
            "2024-03-03",
            "--against-from",
            "2024-02-01",
            "--against-to",
            "2024-02-03",
            "--min-records",
            "2",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_ne!(get(&v, "change_failure_rate")["verdict"], "too few records");

    let v = w
        .run(&[
            "compare",
            "--period",
            "2023-01",
            "--against",
            "year-ago",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(v["against"]["label"], "2022-01");
    assert_eq!(get(&v, "change_failure_rate")["verdict"], "no data");
    // The warehouse holds no releases at all: deployment frequency is null, so no verdict.
    assert_eq!(get(&v, "deployment_frequency")["verdict"], "no data");
}

#[test]
fn trend_gives_months_and_a_rolling_value() {
    let w = fixture();
    let v = w
        .run(&[
            "kpi",
            "--period",
            "2024-03",
            "--months",
            "3",
            "--kpi",
            "change_failure_rate",
            "--format",
            "json",
        ])
        .ok()
        .json();
    let s = &v["series"][0];
    assert_eq!(s["id"], "change_failure_rate");
    let labels: Vec<&str> = s["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["period"]["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, vec!["2024-01", "2024-02", "2024-03"]);
    assert!(s["points"][0]["value"].is_null());
    close(&s["points"][1]["value"], 0.5, 1e-12);
    // Rolling 3 months ending March: (20 + 6) / 80.
    close(&s["points"][2]["rolling_3m"], 26.0 / 80.0, 1e-12);
}
