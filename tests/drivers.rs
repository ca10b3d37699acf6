//! `relkpi compare --drivers` and `relkpi trend --limits` on fixtures whose
//! decomposition and limits are worked out by hand below.

mod common;
use common::Workdir;
use serde_json::Value;

/// Simpson's paradox. Changes by team, every one closed, failed when unsuccessful:
///   Feb 2024: team A 100 changes, 10 failed (10%); team B  20 changes, 10 failed (50%): 20/120
///   Mar 2024: team A  20 changes,  1 failed ( 5%); team B 100 changes, 40 failed (40%): 41/120
/// Both teams improved, yet the rate rose by 21/120 = 0.175: the work moved to B.
/// Weights w = share of the changes, rates r; symmetric Kitagawa split:
///   A: rate (0.05 - 0.10) * (5/6 + 1/6) / 2 = -0.025; mix (1/6 - 5/6) * (0.10 + 0.05) / 2 = -0.05
///   B: rate (0.40 - 0.50) * (1/6 + 5/6) / 2 = -0.05;  mix (5/6 - 1/6) * (0.50 + 0.40) / 2 = +0.30
///   totals: A -0.075, B +0.25; sum +0.175.
/// Releases (deployment frequency, a count) by service: Feb X 3, Y 1; Mar X 2, Y 5 (+3: X -1, Y +4).
fn simpson() -> Workdir {
    let w = Workdir::new();
    let mut csv = String::from("source,change_id,team,state,outcome,opened_at,actual_end\n");
    let mut n = 0;
    for (month, team, total, failed) in [(2, "A", 100, 10), (2, "B", 20, 10), (3, "A", 20, 1), (3, "B", 100, 40)] {
        for i in 0..total {
            n += 1;
            let day = 1 + i % 27;
            csv.push_str(&format!(
                "t,C{n},{team},closed,{},2024-{month:02}-{day:02} 08:00,2024-{month:02}-{day:02} 10:00\n",
                if i < failed { "unsuccessful" } else { "successful" }
            ));
        }
    }
    let changes = w.write("changes.csv", &csv);
    let mut rel = String::from("source,release_id,service,state,actual_end\n");
    for (month, service, count) in [(2, "X", 3), (2, "Y", 1), (3, "X", 2), (3, "Y", 5)] {
        for i in 0..count {
            rel.push_str(&format!(
                "t,R{month}{service}{i},{service},closed,2024-{month:02}-{:02} 12:00\n",
                i + 2
            ));
        }
    }
    let releases = w.write("releases.csv", &rel);
    w.run(&["import", changes.to_str().unwrap(), releases.to_str().unwrap()])
        .ok();
    w
}

fn kpi<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["kpis"].as_array().unwrap().iter().find(|k| k["id"] == id).unwrap()
}

fn close(v: &Value, want: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("expected {want}, got {v}"));
    assert!((got - want).abs() < 1e-12, "expected {want}, got {got}");
}

fn driver<'a>(k: &'a Value, dimension: &str, group: &str) -> &'a Value {
    k["drivers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["dimension"] == dimension && d["group"] == group)
        .unwrap_or_else(|| panic!("no driver {dimension}={group} in {}", k["drivers"]))
}

#[test]
fn every_team_improves_yet_the_rate_worsens_and_the_split_says_mix() {
    let w = simpson();
    let v = w
        .run(&["compare", "--period", "2024-03", "--drivers", "--format", "json"])
        .ok()
        .json();
    let k = kpi(&v, "change_failure_rate");
    close(&k["delta"], 41.0 / 120.0 - 20.0 / 120.0);
    assert_eq!(k["drivers_method"], "rate_mix");
    let a = driver(k, "team", "A");
    close(&a["rate_effect"], -0.025);
    close(&a["mix_effect"], -0.05);
    close(&a["total"], -0.075);
    close(&a["from"]["numerator"], 10.0);
    close(&a["from"]["denominator"], 100.0);
    close(&a["to"]["numerator"], 1.0);
    close(&a["to"]["denominator"], 20.0);
    let b = driver(k, "team", "B");
    close(&b["rate_effect"], -0.05);
    close(&b["mix_effect"], 0.30);
    close(&b["total"], 0.25);
    // Every group's rate improved; the whole worsening is mix.
    let team: Vec<&Value> = k["drivers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["dimension"] == "team")
        .collect();
    assert_eq!(team.len(), 2);
    assert!(team.iter().all(|d| d["rate_effect"].as_f64().unwrap() < 0.0));
    let sum = |f: &str| team.iter().map(|d| d[f].as_f64().unwrap()).sum::<f64>();
    assert!((sum("total") - 0.175).abs() < 1e-12);
    assert!(sum("mix_effect") > sum("rate_effect").abs());
    // Dimensions with one group in both periods (one source, no service,
    // change type or risk) explain nothing and are left out.
    assert!(
        k["drivers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["dimension"] == "team")
    );
    // B, the largest contribution, comes first.
    assert_eq!(k["drivers"][0]["group"], "B");

    // A count splits by group directly: X 3 -> 2, Y 1 -> 5.
    let df = kpi(&v, "deployment_frequency");
    assert_eq!(df["drivers_method"], "by_group");
    close(&driver(df, "service", "Y")["total"], 4.0);
    close(&driver(df, "service", "Y")["mix_effect"], 0.0);
    close(&driver(df, "service", "X")["total"], -1.0);
    close(&df["delta"], 3.0);

    // A median has no decomposition: each group's median and share instead.
    let lt = kpi(&v, "change_lead_time");
    assert_eq!(lt["drivers_method"], "medians");
    assert_eq!(lt["drivers"].as_array().unwrap().len(), 0);
    let b = lt["group_medians"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["group"] == "B")
        .unwrap();
    close(&b["to"]["share"], 100.0 / 120.0);
    assert_eq!(b["to"]["records"], 100);

    // Without --drivers, compare carries no drivers; the table shows the top N.
    let plain = w
        .run(&["compare", "--period", "2024-03", "--format", "json"])
        .ok()
        .json();
    assert!(kpi(&plain, "change_failure_rate").get("drivers").is_none());
    let table = w.run(&["compare", "--period", "2024-03", "--drivers", "1"]).ok().stdout;
    assert!(
        table.contains("team B: +25.0 pp (rate -5.0 pp, mix +30.0 pp; 10/20 → 40/100)"),
        "{table}"
    );
    assert!(!table.contains("team A: -7.5 pp"), "{table}");
}

/// Deployments per month, Jan..Dec 2024: 5 7 6 8 5 7 | 6 8 5 7 6 20; baseline the first 6.
/// XmR: centre 38/6 = 6.3333; moving ranges 2 1 2 3 2, mean 2; limits 6.3333 +- 2.66 * 2
/// = 1.0133 .. 11.6533. December (20) is outside; no other month signals.
#[test]
fn xmr_limits_and_a_signal_by_hand() {
    let w = Workdir::new();
    let counts = [5, 7, 6, 8, 5, 7, 6, 8, 5, 7, 6, 20];
    let mut rel = String::from("source,release_id,state,actual_end\n");
    for (m, c) in counts.iter().enumerate() {
        for i in 0..*c {
            rel.push_str(&format!("t,R{m}-{i},closed,2024-{:02}-{:02} 12:00\n", m + 1, i + 1));
        }
    }
    let f = w.write("releases.csv", &rel);
    w.run(&["import", f.to_str().unwrap()]).ok();
    w.write("relkpi.toml", "[limits]\nbaseline_months = 6\n");
    let config = w.path("relkpi.toml");
    let trend = [
        "--config",
        config.to_str().unwrap(),
        "trend",
        "--period",
        "2024-12",
        "--months",
        "12",
        "--kpi",
        "deployment_frequency",
        "--limits",
    ];
    let v = w.run(&[&trend[..], &["--format", "json"]].concat()).ok().json();
    let l = &v["series"][0]["limits"];
    assert_eq!(l["kind"], "xmr");
    close(&l["centre"], 38.0 / 6.0);
    close(&l["mean_moving_range"], 2.0);
    assert_eq!(l["baseline_points"], 6);
    let p = l["points"].as_array().unwrap();
    close(&p[0]["upper"], 38.0 / 6.0 + 5.32);
    close(&p[0]["lower"], 38.0 / 6.0 - 5.32);
    assert_eq!(p[11]["signals"], serde_json::json!(["outside_limits"]));
    assert!(p[..11].iter().all(|x| x["signals"].as_array().unwrap().is_empty()));
    // The table names the signal.
    let t = w.run(&trend).ok().stdout;
    assert!(
        t.contains("XmR chart") && t.contains("signals: 2024-12 (outside the limits)"),
        "{t}"
    );
}

/// The report names the largest drivers under a tile that worsened, and links
/// to the records behind them.
#[test]
fn the_report_tile_names_the_drivers() {
    let w = simpson();
    let vm = w.path("vm.json");
    w.run(&[
        "report",
        "--period",
        "2024-03",
        "--months",
        "2",
        "--out",
        w.path("rep").to_str().unwrap(),
        "--view-model",
        vm.to_str().unwrap(),
    ])
    .ok();
    let m: Value = serde_json::from_str(&std::fs::read_to_string(vm).unwrap()).unwrap();
    let t = m["tiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "change_failure_rate")
        .unwrap();
    assert_eq!(t["verdict"], "worsened");
    // B: +25.0 pp, mostly mix (its changes 20 -> 100); A: -7.5 pp, also mostly mix.
    assert_eq!(
        t["drivers"],
        "Largest drivers: B (team) +25.0 pp of mix, 20 → 100 records; A (team) -7.5 pp of mix, 100 → 20 records."
    );
    assert_eq!(t["drivers_link"], "#drill-change_failure_rate");
    // Two months are too few for limits: no signal chip.
    assert_eq!(t["behaviour"], "");
}
