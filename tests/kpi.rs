//! The KPI engine on a hand-worked fixture (period 2024-03, W = 7 days, major <= 2).
//! Every expected number below is derived by hand in the comments, from the
//! definitions in spec/KPIS.md, not from relkpi's output.

mod common;
use common::Workdir;
use serde_json::Value;

const RELEASES: &str = "\
source,release_id,title,release_type,state,outcome,service,team,requested_at,planned_end,actual_end,closed_at
t,R1,r1,minor,closed,successful,Pay,A,2024-02-20 00:00,2024-03-05 00:00,2024-03-05 00:00,2024-03-06 00:00
t,R2,r2,major,closed,rolled_back,Pay,A,2024-02-01 00:00,2024-03-10 00:00,2024-03-10 12:00,2024-03-11 00:00
t,R3,r3,patch,closed,successful,CRM,C,2024-03-01 00:00,2024-03-21 00:00,2024-03-20 00:00,2024-03-21 00:00
t,R4,r4,minor,closed,cancelled,CRM,C,2024-03-01 00:00,,2024-03-15 00:00,2024-03-15 00:00
t,R5,r5,minor,in_progress,,CRM,C,2024-03-10 00:00,,2024-04-01 00:00,
t,R6,r6,patch,closed,successful_with_issues,Pay,A,2024-03-02 00:00,,2024-03-01 00:00,2024-03-02 00:00
t,R7,r7,minor,planned,,Pay,A,2024-03-15 00:00,,,
t,R8,r8,minor,closed,successful,Pay,A,2024-01-01 00:00,,2024-04-05 00:00,2024-04-06 00:00
t,R9,r9,minor,cancelled,,Pay,A,2024-02-01 00:00,,,2024-03-20 00:00
";

const CHANGES: &str = "\
source,change_id,change_type,state,outcome,origin,approved,cab_required,approved_at,release_id,service,team,opened_at,planned_start,planned_end,actual_start,actual_end
t,C1,normal,closed,successful,planned,true,true,2024-03-01 00:00,R1,pay-api,A,2024-02-25 00:00,2024-03-04 21:00,2024-03-05 00:00,2024-03-04 20:00,2024-03-04 23:00
t,C2,normal,closed,rolled_back,planned,true,true,,R2,pay-api,A,2024-03-01 00:00,2024-03-10 08:00,2024-03-10 10:00,2024-03-10 08:00,2024-03-10 12:00
t,C3,emergency,closed,successful,incident,false,false,,R3,crm-app,C,2024-03-19 00:00,2024-03-19 20:00,2024-03-20 00:00,2024-03-19 20:00,2024-03-19 23:00
t,C4,standard,cancelled,,,,,,,pay-api,A,2024-03-01 00:00,,,,2024-03-12 00:00
t,C5,standard,closed,successful,incident,,false,,,pay-api,A,2024-03-10 00:00,2024-03-10 17:00,2024-03-10 19:00,2024-03-10 17:00,2024-03-10 18:00
t,C6,normal,closed,successful,planned,true,false,,,crm-db,C,2024-03-25 00:00,2024-03-31 22:00,2024-04-01 02:00,2024-03-31 22:00,2024-04-01 00:00
t,C7,normal,closed,,planned,true,false,,,crm-db,C,2024-03-28 00:00,,,,2024-03-31 00:00
";

const INCIDENTS: &str = "\
source,incident_id,priority,state,ci,caused_by_change,related_release,opened_at,resolved_at
t,I1,1,resolved,crm-app,,,2024-03-21 00:00,2024-03-21 06:00
t,I2,3,resolved,pay-api,C1,,2024-03-06 00:00,2024-03-06 02:00
t,I3,2,resolved,pay-api,,R1,2024-03-20 00:00,2024-03-20 05:00
t,I4,4,resolved,pay-api,,,2024-03-11 00:00,2024-03-11 10:00
t,I5,2,resolved,pay-api,C404,,2024-03-06 00:00,2024-03-06 01:00
t,I6,3,new,crm-app,,,2024-03-27 00:00,
t,I7,3,new,crm-app,C2,,2024-03-21 12:00,
";

const SATISFACTION: &str = "\
source,response_id,release_id,submitted_at,score
t,S1,R1,2024-03-06 00:00,5
t,S2,R1,2024-03-07 00:00,4
t,S3,R2,2024-03-12 00:00,2
t,S4,R3,2024-03-25 00:00,3
t,S5,R3,2024-04-01 00:00,1
";

fn fixture() -> Workdir {
    let w = Workdir::new();
    let files: Vec<String> = [
        ("releases.csv", RELEASES),
        ("changes.csv", CHANGES),
        ("incidents.csv", INCIDENTS),
        ("satisfaction.csv", SATISFACTION),
    ]
    .iter()
    .map(|(n, t)| w.write(n, t).display().to_string())
    .collect();
    let mut args = vec!["import"];
    args.extend(files.iter().map(String::as_str));
    w.run(&args).ok();
    w
}

fn kpis(w: &Workdir, extra: &[&str]) -> Value {
    let mut args = vec!["kpi", "--period", "2024-03", "--format", "json"];
    args.extend_from_slice(extra);
    w.run(&args).ok().json()
}

fn get<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["kpis"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id)
        .unwrap_or_else(|| panic!("no {id}"))
}

fn close(v: &Value, want: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("expected {want}, got {v}"));
    assert!((got - want).abs() < 1e-9, "expected {want}, got {got}");
}

#[test]
fn every_kpi_on_the_hand_worked_fixture() {
    let w = fixture();
    let v = kpis(&w, &[]);
    assert_eq!(v["period"]["label"], "2024-03");
    assert_eq!(v["period"]["from"], "2024-03-01T00:00:00");
    assert_eq!(v["period"]["to"], "2024-04-01T00:00:00");

    // Deployed in March: R1, R2, R3 and R6 (on the 03-01 00:00 boundary); R4 is
    // cancelled, R5 ends on 04-01 00:00 (April). 4 per 31 days = 4 / (31/7) a week.
    let k = get(&v, "deployment_frequency");
    close(&k["value"], 4.0);
    close(&k["extra"]["per_week"], 4.0 / (31.0 / 7.0));
    assert_eq!(k["better"], "higher");

    // R2 rolled back; R3 failed by I1 (priority 1, CI window via C3, 1 day after
    // R3's end). R1 and R6 succeeded (I2 is priority 3; I3 is outside W). 2/4.
    let k = get(&v, "release_success_rate");
    close(&k["value"], 0.5);
    assert_eq!((k["numerator"].as_i64(), k["denominator"].as_i64()), (Some(2), Some(4)));
    assert_eq!(k["unit"], "ratio");

    // Lead times: R1 14 d, R2 38.5 d, R3 19 d; R6 is negative (excluded).
    // median 19; p85 = 19 + 0.7 * (38.5 - 19) = 32.65; mean 71.5 / 3.
    let k = get(&v, "release_lead_time");
    close(&k["value"], 19.0);
    close(&k["extra"]["p85"], 32.65);
    close(&k["extra"]["mean"], 71.5 / 3.0);
    assert_eq!(k["extra"]["negative_excluded"], 1);
    assert_eq!(k["count"], 3);

    // Defects: I2 -> R1 (explicit, via C1, within W); I1 -> R3 (CI window via C3).
    // I3 -> R1 explicitly but 15 days later; I4 goes to C5 (latest of C2/C5), not a release.
    let k = get(&v, "defects_introduced");
    close(&k["value"], 2.0);
    close(&k["extra"]["per_release"], 0.5);
    assert_eq!(
        (k["extra"]["explicit"].as_i64(), k["extra"]["ci_window"].as_i64()),
        (Some(1), Some(1))
    );

    // Implemented in March: C1, C2, C3, C5, C7 (C4 cancelled, C6 ends 04-01 00:00).
    // Failed: C1 (I2 explicit), C2 (rolled back; also I7 explicit), C3 (I1 by window),
    // C5 (I4 by window, later than C2). 4/5.
    let k = get(&v, "change_failure_rate");
    close(&k["value"], 0.8);
    assert_eq!((k["numerator"].as_i64(), k["denominator"].as_i64()), (Some(4), Some(5)));
    assert_eq!(k["better"], "lower");

    // Backlog at 04-01: R5 (ends at 04-01, age 22 d), R7 (17 d), R8 (ends 04-05, 91 d).
    // R9 was closed on 03-20. Median age 22.
    let k = get(&v, "pending_release_backlog");
    close(&k["value"], 3.0);
    close(&k["extra"]["median_age_days"], 22.0);

    close(&get(&v, "rollback_rate")["value"], 0.25);
    close(&get(&v, "change_rollback_rate")["value"], 0.2);

    // Satisfaction: S1..S4 (S5 is on 04-01): mean 14/4, csat 2/4.
    let k = get(&v, "user_satisfaction");
    close(&k["value"], 3.5);
    close(&k["extra"]["csat"], 0.5);
    assert_eq!(k["count"], 4);

    // Policies: C1 early_start, C2 cab_not_recorded, C3 unapproved_change,
    // C7 no_outcome + no_schedule; only C5 complies: 1/5.
    let k = get(&v, "policy_compliance_rate");
    close(&k["value"], 0.2);

    // Releases with planned_end: R1 (exactly on time), R2 (12 h late), R3 (early): 2/3.
    let k = get(&v, "schedule_adherence_rate");
    close(&k["value"], 2.0 / 3.0);
    close(&k["extra"]["mean_slip_hours"], 12.0);
    assert_eq!(k["extra"]["without_planned_end"], 1);
    // Changes with planned_end: C1, C3, C5 on time, C2 2 h late: 3/4.
    let k = get(&v, "change_schedule_adherence_rate");
    close(&k["value"], 0.75);
    close(&k["extra"]["mean_slip_hours"], 2.0);

    // Change lead times: 0.75, 23/24, 3, 7 + 23/24, 9.5 -> median 3.
    close(&get(&v, "change_lead_time")["value"], 3.0);
    close(&get(&v, "emergency_change_rate")["value"], 0.2);
    // Rework: C3 emergency, C5 origin incident: 2/5.
    close(&get(&v, "rework_rate")["value"], 0.4);
    // Recovery: I2 2 h (C1), I1 6 h (C3), I4 10 h (C5); I7 unresolved. Median 6 h.
    let k = get(&v, "failed_deployment_recovery_time");
    close(&k["value"], 6.0);
    assert_eq!(k["unit"], "hours");
    assert!(k["extra"]["dora_band"].is_string());
}

#[test]
fn attribution_view_records_methods() {
    let w = fixture();
    let rows = w.sql("select incident_id, change_id, method from incident_change_links order by 1");
    let got: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{}:{}:{}",
                r["incident_id"].as_str().unwrap(),
                r["change_id"].as_str().unwrap(),
                r["method"].as_str().unwrap()
            )
        })
        .collect();
    // I5's explicit link dangles (C404): never attributed by window. I6 is past the
    // window of C3 (03-19 23:00 + 7 d = 03-26 23:00). I7's explicit C2 beats the window (C3).
    assert_eq!(
        got,
        vec!["I1:C3:ci_window", "I2:C1:explicit", "I4:C5:ci_window", "I7:C2:explicit"]
    );
    let rows = w.sql("select incident_id, release_id, method from incident_release_links order by 1");
    let got: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{}:{}:{}",
                r["incident_id"].as_str().unwrap(),
                r["release_id"].as_str().unwrap(),
                r["method"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        got,
        vec!["I1:R3:ci_window", "I2:R1:explicit", "I3:R1:explicit", "I7:R2:explicit"]
    );
}

#[test]
fn configuration_changes_window_switch_and_freeze() {
    let w = fixture();
    // CI window off: I1 and I4 lose their links. Releases: R2 failed only: 3/4.
    // Changes: C1 (I2), C2 (rolled back, I7) failed: 2/5. Defects: I2 only.
    w.write("relkpi.toml", "[attribution]\nci_window = false\n");
    let v = kpis(&w, &[]);
    close(&get(&v, "release_success_rate")["value"], 0.75);
    close(&get(&v, "change_failure_rate")["value"], 0.4);
    close(&get(&v, "defects_introduced")["value"], 1.0);

    // W = 1 day: I1 (25 h after C3) drops out, I4 (6 h after C5) stays; I2 is
    // exactly 1 day after R1's end, outside [end, end + 1 d): no defects.
    w.write("relkpi.toml", "[attribution]\nwindow_days = 1\n");
    let v = kpis(&w, &[]);
    close(&get(&v, "change_failure_rate")["value"], 0.6);
    close(&get(&v, "defects_introduced")["value"], 0.0);

    // A freeze on 03-10 catches C2 and C5: nothing complies.
    let cfg = w.write(
        "other.toml",
        "[[freeze_windows]]\nname = \"audit\"\nfrom = \"2024-03-10\"\nto = \"2024-03-11\"\n[targets.change_failure_rate]\ngreen = 0.1\namber = 0.5\n",
    );
    let v = kpis(&w, &["--config", cfg.to_str().unwrap()]);
    close(&get(&v, "policy_compliance_rate")["value"], 0.0);
    assert_eq!(get(&v, "change_failure_rate")["rag"], "red");

    let bad = w.write("bad.toml", "[attribution]\nwindow_days = \"seven\"\n");
    let r = w.run(&["kpi", "--period", "2024-03", "--config", bad.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("bad.toml: line 2"), "{}", r.stderr);
}

#[test]
fn breakdown_by_service_and_empty_period() {
    let w = fixture();
    let v = kpis(
        &w,
        &["--by", "service", "--kpi", "deployment_frequency,change_failure_rate"],
    );
    let df: Vec<(String, f64)> = v["kpis"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["id"] == "deployment_frequency")
        .map(|k| {
            (
                k["group"]["service"].as_str().unwrap().to_owned(),
                k["value"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(df, vec![("CRM".to_owned(), 1.0), ("Pay".to_owned(), 3.0)]);
    // Changes by service: crm-app C3 failed (1/1); crm-db C7 ok (0/1); pay-api C1, C2, C5 failed (3/3).
    let cfr: Vec<(String, f64)> = v["kpis"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["id"] == "change_failure_rate")
        .map(|k| {
            (
                k["group"]["service"].as_str().unwrap().to_owned(),
                k["value"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        cfr,
        vec![("crm-app".into(), 1.0), ("crm-db".into(), 0.0), ("pay-api".into(), 1.0)]
    );

    // January 2023: nothing deployed: counts are 0, rates are null with a reason.
    let r = w.run(&["kpi", "--period", "2023-01", "--format", "json"]).ok().json();
    close(&get(&r, "deployment_frequency")["value"], 0.0);
    let k = get(&r, "release_success_rate");
    assert!(k["value"].is_null());
    assert_eq!(k["note"], "no releases deployed in the period");
    assert!(get(&r, "change_failure_rate")["value"].is_null());

    // Unknown KPI ids suggest the closest one.
    let r = w.run(&["kpi", "--kpi", "change_failur_rate"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("did you mean change_failure_rate"), "{}", r.stderr);
}

#[test]
fn missing_outcomes_give_null_with_reason_and_policies_not_evaluated() {
    let w = Workdir::new();
    let f = w.write(
        "releases.csv",
        "source,release_id,requested_at,actual_end\nh,X1,2024-03-01 00:00,2024-03-05 00:00\nh,X2,2024-03-01 00:00,2024-03-06 00:00\n",
    );
    let c = w.write(
        "changes.csv",
        "source,change_id,change_type,state,actual_end\nh,K1,normal,closed,2024-03-05 00:00\n",
    );
    w.run(&["import", f.to_str().unwrap(), c.to_str().unwrap()]).ok();
    let v = kpis(&w, &[]);
    let k = get(&v, "release_success_rate");
    assert!(k["value"].is_null());
    assert_eq!(k["note"], "no outcome data in source h");
    assert!(get(&v, "rollback_rate")["value"].is_null());
    // approved, outcome, planned times are all NULL for source h: those policies are
    // not evaluated, and the rest find nothing.
    let p: Vec<&str> = v["policies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["not_evaluated"].as_array().unwrap().iter().any(|s| s == "h"))
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(
        p.contains(&"unapproved_change") && p.contains(&"no_outcome") && p.contains(&"early_start"),
        "{p:?}"
    );
    let r = w.run(&["check", "--format", "json"]).ok().json();
    assert!(r["policies_not_evaluated"].as_array().unwrap().len() >= 3);
}

#[test]
fn check_reports_findings_with_examples() {
    let w = fixture();
    let v = w.run(&["check", "--format", "json"]).ok().json();
    let f = v["findings"].as_array().unwrap();
    let find = |check: &str, detail: &str| {
        f.iter()
            .find(|x| x["check"] == check && x["detail"].as_str().unwrap().contains(detail))
            .unwrap_or_else(|| panic!("no {check} {detail}: {f:?}"))
    };
    let d = find("dangling_links", "caused_by_change");
    assert_eq!(d["count"], 1);
    assert_eq!(d["examples"], "I5");
    let n = find("negative_durations", "releases with actual_end before requested_at");
    assert_eq!(n["examples"], "R6");
    // Unattributed: I5 (p2) and I6 (p3).
    let u: i64 = f
        .iter()
        .filter(|x| x["check"] == "unattributed_incidents")
        .map(|x| x["count"].as_i64().unwrap())
        .sum();
    assert_eq!(u, 2);
}

/// The canonical tables have no primary-key index (migration 10): a record
/// written twice by hand is found by `relkpi check`; the import never writes one.
#[test]
fn check_finds_a_record_held_twice() {
    let w = fixture();
    let v = w.run(&["check", "--format", "json"]).ok().json();
    let dups = |v: &serde_json::Value| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["check"] == "duplicate_keys")
            .cloned()
            .collect::<Vec<_>>()
    };
    assert!(dups(&v).is_empty(), "{:?}", dups(&v));
    w.run(&[
        "sql",
        "--write",
        "insert into incidents select * from incidents where incident_id = 'I5'",
    ])
    .ok();
    let v = w.run(&["check", "--format", "json"]).ok().json();
    let d = dups(&v);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0]["count"], 1);
    assert_eq!(d[0]["examples"], "I5");
    assert!(d[0]["detail"].as_str().unwrap().contains("incidents"), "{d:?}");
}

#[test]
fn kpi_files_are_runnable_by_hand_with_named_parameters() {
    // The analyst's path: read a KPI file, bind the parameters, run it in DuckDB.
    let w = fixture();
    let sql = std::fs::read_to_string(common::project("queries/kpi/change_failure_rate.sql")).unwrap();
    let conn = duckdb::Connection::open(w.path("relkpi.duckdb")).unwrap();
    let mut stmt = conn.prepare(&sql).unwrap();
    let names: Vec<String> = (1..=stmt.parameter_count())
        .map(|i| stmt.parameter_name(i).unwrap())
        .collect();
    for (i, n) in names.iter().enumerate() {
        let v: duckdb::types::Value = match n.as_str() {
            "period_from" => duckdb::types::Value::Text("2024-03-01".into()),
            "period_to" => duckdb::types::Value::Text("2024-04-01".into()),
            "by" => duckdb::types::Value::Text("none".into()),
            "window_days" => duckdb::types::Value::Int(7),
            "ci_window" => duckdb::types::Value::Boolean(true),
            other => panic!("unexpected parameter {other}"),
        };
        stmt.raw_bind_parameter(i + 1, v).unwrap();
    }
    stmt.raw_execute().unwrap();
    let mut rows = stmt.raw_query();
    let row = rows.next().unwrap().unwrap();
    let value: f64 = row.get(1).unwrap();
    assert!((value - 0.8).abs() < 1e-9);
}

#[test]
fn user_policies_from_files_and_a_broken_one() {
    let w = fixture();
    // A user's own policy: emergency changes on pay-api are not allowed (none in the fixture),
    // and one that flags C5 (the only compliant change) by id; plus a broken file.
    w.write(
        "policies/no_c5.sql",
        "-- policy: no_c5\n-- requires: change_type\nselect source, change_id, 'no_c5' as policy, 'test' as detail from changes where change_id = 'C5'\n",
    );
    w.write(
        "policies/broken.sql",
        "-- policy: broken\nselect nonsense from nowhere\n",
    );
    w.write("relkpi.toml", "[policies]\ndirs = [\"policies\"]\n");
    let r = w.run(&["kpi", "--period", "2024-03", "--format", "json"]);
    assert_eq!(r.code, 1, "a failing policy is a partial failure: {}", r.stderr);
    assert!(r.stderr.contains("broken.sql"), "{}", r.stderr);
    let v = r.json();
    // Now C5 violates too: 0/5; the broken policy did not stop the others.
    close(&get(&v, "policy_compliance_rate")["value"], 0.0);
    close(&get(&v, "change_failure_rate")["value"], 0.8);
}

#[test]
fn compare_lists_releases_entering_and_leaving_the_backlog() {
    // Pending at 03-01 (end of February): R1 (deployed 03-05), R2 (03-10), R8 (04-05),
    // R9 (closed 03-20). Pending at 04-01: R5, R7, R8. Entered: R5, R7; left: R1, R2, R9.
    let w = fixture();
    let v = w
        .run(&[
            "compare",
            "--period",
            "2024-03",
            "--kpi",
            "pending_release_backlog",
            "--format",
            "json",
        ])
        .ok()
        .json();
    let k = &v["kpis"][0];
    let ids = |key: &str| -> Vec<String> {
        k["records"][key]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["record_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids("against"), vec!["R8", "R2", "R9", "R1"]); // ordered by request time
    assert_eq!(ids("entered"), vec!["R5", "R7"]);
    assert_eq!(ids("left"), vec!["R2", "R9", "R1"]);
    close(&k["value"], 3.0);
    close(&k["against"]["value"], 4.0);
    assert_eq!(k["verdict"], "too few records");
}

/// The trend rolls ratios from the months' numerators and denominators
/// (`-- rolling: ratio`); that must equal each KPI computed over the 3 months.
#[test]
fn rolling_ratios_equal_the_kpi_over_three_months() {
    let w = Workdir::new();
    let data = w.path("gen");
    w.run(&[
        "generate",
        "--changes",
        "1500",
        "--months",
        "12",
        "--out",
        data.to_str().unwrap(),
    ])
    .ok();
    let mut args = vec!["import".to_owned()];
    for f in [
        "change_request.csv",
        "incident.csv",
        "rm_release.csv",
        "satisfaction.csv",
    ] {
        args.push(data.join(f).display().to_string());
    }
    w.run(&args.iter().map(String::as_str).collect::<Vec<_>>()).ok();
    let trend = w
        .run(&["trend", "--period", "2024-10", "--months", "3", "--format", "json"])
        .ok()
        .json();
    let ratio_ids: Vec<&str> = RATIO_KPIS.to_vec();
    let mut compared = 0;
    let mut with_values = 0;
    for (month, from, to) in [
        ("2024-08", "2024-06-01", "2024-09-01"),
        ("2024-09", "2024-07-01", "2024-10-01"),
        ("2024-10", "2024-08-01", "2024-11-01"),
    ] {
        let window = w
            .run(&["kpi", "--from", from, "--to", to, "--format", "json"])
            .ok()
            .json();
        for s in trend["series"].as_array().unwrap() {
            let id = s["id"].as_str().unwrap();
            let p = s["points"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["period"]["label"] == month)
                .unwrap_or_else(|| panic!("{id}: no point for {month}"));
            let want = &get(&window, id)["value"];
            if ratio_ids.contains(&id) || !matches!(s["unit"].as_str(), Some("count")) {
                match (p["rolling_3m"].as_f64(), want.as_f64()) {
                    (Some(a), Some(b)) => {
                        assert!((a - b).abs() < 1e-9, "{id} {month}: rolled {a}, over 3 months {b}");
                        with_values += 1;
                    }
                    (a, b) => assert_eq!(a, b, "{id} {month}"),
                }
                compared += 1;
            }
        }
    }
    assert!(compared >= 3 * RATIO_KPIS.len(), "compared {compared}");
    // The generated data gives every ratio a value each month.
    assert!(
        with_values >= 3 * RATIO_KPIS.len(),
        "{with_values} of {compared} had values"
    );
}

const RATIO_KPIS: [&str; 9] = [
    "change_failure_rate",
    "change_rollback_rate",
    "change_schedule_adherence_rate",
    "emergency_change_rate",
    "policy_compliance_rate",
    "release_success_rate",
    "rework_rate",
    "rollback_rate",
    "schedule_adherence_rate",
];

#[test]
fn derived_tables_are_used_while_current_and_give_the_same_figures() {
    let w = fixture();
    const OWN: &str = "attributing in this process";
    // The import built them for the default settings from this data.
    let meta = w.sql("select settings, data_version from derived_meta");
    assert_eq!(meta.len(), 1);
    assert_eq!(meta[0]["settings"], "window_days=7 ci_window=true major_priority=2");
    let from_derived = w.run(&["-v", "kpi", "--period", "2024-03", "--format", "json"]).ok();
    assert!(!from_derived.stderr.contains(OWN), "{}", from_derived.stderr);
    // A write through `sql --write` marks them out of date: the run attributes for itself.
    w.run(&[
        "sql",
        "--write",
        "update changes set title = title where change_id = 'C1'",
    ])
    .ok();
    assert_eq!(w.sql("select * from derived_meta").len(), 0);
    let own = w.run(&["-v", "kpi", "--period", "2024-03", "--format", "json"]).ok();
    assert!(own.stderr.contains(OWN), "{}", own.stderr);
    assert_eq!(from_derived.json(), own.json());
    close(&get(&own.json(), "change_failure_rate")["value"], 0.8);
    // The next import rebuilds them; other settings bypass them.
    let f = w.write(
        "more.csv",
        "source,release_id,requested_at,actual_end\nt,R99,2024-05-01,\n",
    );
    w.run(&["import", "--kind", "releases", f.to_str().unwrap()]).ok();
    assert_eq!(w.sql("select * from derived_meta").len(), 1);
    let again = w.run(&["-v", "kpi", "--period", "2024-03", "--format", "json"]).ok();
    assert!(!again.stderr.contains(OWN), "{}", again.stderr);
    assert_eq!(from_derived.json(), again.json());
    w.write("relkpi.toml", "[attribution]\nwindow_days = 14\n");
    let other = w.run(&["-v", "kpi", "--period", "2024-03", "--format", "json"]).ok();
    assert!(other.stderr.contains(OWN), "{}", other.stderr);
}
