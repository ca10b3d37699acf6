//! The real HP Service Manager exports of the BPI Challenge 2014 (Rabobank),
//! imported as they are. Expected values come from separate queries over the raw
//! files (DuckDB's own CSV reader, in this test), not from relkpi's importer.

mod common;
use common::{Workdir, shared_data};

fn raw() -> duckdb::Connection {
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let ch = shared_data("bpi2014/Detail Change.csv.gz");
    let inc = shared_data("bpi2014/Detail Incident.csv.gz");
    conn.execute(
        "create table ch as select row_number() over () as rn, * from read_csv(?, delim = ';', header = true, all_varchar = true)",
        [ch.to_str().unwrap()],
    )
    .unwrap();
    conn.execute(
        "create table inc as select * from read_csv(?, delim = ';', header = true, all_varchar = true, null_padding = true) where \"Incident ID\" is not null",
        [inc.to_str().unwrap()],
    )
    .unwrap();
    conn
}

fn q(conn: &duckdb::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn bpi2014_changes_incidents_and_releases() {
    let raw = raw();
    let w = Workdir::new();
    let ch = shared_data("bpi2014/Detail Change.csv.gz");
    let inc = shared_data("bpi2014/Detail Incident.csv.gz");
    let r = w.run(&["import", ch.to_str().unwrap(), inc.to_str().unwrap()]).ok();
    assert!(
        r.stdout.contains("hpsm changes") && r.stdout.contains("hpsm incidents"),
        "{}",
        r.stdout
    );
    // 203 empty ';;;' rows at the end of the incident file are blank, not errors.
    assert!(
        r.stdout.contains("read 46809 = inserted 46606") && r.stdout.contains("blank 203 + skipped 0 + rejected 0"),
        "{}",
        r.stdout
    );

    assert_eq!(w.scalar("select count(*) from changes where source = 'hpsm'"), 18_000);
    assert_eq!(w.scalar("select count(*) from incidents where source = 'hpsm'"), 46_606);
    assert_eq!(
        w.scalar("select count(*) from change_cis"),
        q(
            &raw,
            "select count(*) from (select distinct \"Change ID\", \"CI Name (aff)\" from ch where \"CI Name (aff)\" is not null)"
        )
    );
    assert_eq!(
        w.scalar("select count(*) from releases"),
        q(
            &raw,
            "select count(distinct \"Change ID\") from ch where \"Change Type\" like 'Release Type%'"
        )
    );
    assert_eq!(
        w.scalar("select count(*) from changes where release_id = change_id"),
        w.scalar("select count(*) from releases")
    );

    // change_type from each change's first row: emergency, else standard/normal.
    let first = "create or replace table first as select * from ch qualify row_number() over (partition by \"Change ID\" order by rn) = 1";
    raw.execute_batch(first).unwrap();
    let emergency = q(&raw, "select count(*) from first where \"Emergency Change\" = 'Y'");
    let standard = q(
        &raw,
        "select count(*) from first where \"Emergency Change\" <> 'Y' and \"Change Type\" like 'Standard%'",
    );
    assert_eq!(
        w.scalar("select count(*) from changes where change_type = 'emergency'"),
        emergency
    );
    assert_eq!(
        w.scalar("select count(*) from changes where change_type = 'standard'"),
        standard
    );
    assert_eq!(
        w.scalar("select count(*) from changes where change_type = 'normal'"),
        18_000 - emergency - standard
    );
    assert_eq!(
        w.scalar("select count(*) from changes where risk = 'high'"),
        q(
            &raw,
            "select count(*) from first where \"Risk Assessment\" = 'Major Business Change'"
        )
    );
    assert_eq!(
        w.scalar("select count(*) from changes where cab_required"),
        q(&raw, "select count(*) from first where \"CAB-approval needed\" = 'Y'")
    );
    assert_eq!(
        w.scalar("select count(*) from changes where origin = 'incident'"),
        q(
            &raw,
            "select count(*) from first where \"Originated from\" = 'Incident'"
        )
    );
    assert_eq!(
        w.scalar("select count(*) from changes where outcome is not null or approved is not null"),
        0
    );
    // Actual end: first non-empty in file order.
    let with_end = q(
        &raw,
        "select count(distinct \"Change ID\") from ch where \"Actual End\" is not null",
    );
    assert_eq!(
        w.scalar("select count(*) from changes where actual_end is not null"),
        with_end
    );
    // One record by hand (first line of the file): C00000003, Release Type 11, Minor Change.
    let row = &w.sql(
        "select change_type, risk, origin, cab_required, strftime(planned_start, '%Y-%m-%d %H:%M') ps, \
         strftime(actual_end, '%Y-%m-%d %H:%M') ae, state from changes where change_id = 'C00000003'",
    )[0];
    assert_eq!(row["change_type"], "normal");
    assert_eq!(row["risk"], "low");
    assert_eq!(row["origin"], "problem");
    assert_eq!(row["cab_required"], false);
    assert_eq!(row["ps"], "2012-08-30 07:00");
    assert_eq!(row["ae"], "2013-12-18 16:15");
    assert_eq!(row["state"], "closed");

    // Incidents: priority, cause CI, and Related Change without the #MULTIVALUE placeholder.
    assert_eq!(
        w.scalar("select count(*) from incidents where caused_by_change is not null"),
        q(
            &raw,
            "select count(*) from inc where \"Related Change\" is not null and \"Related Change\" <> '#MULTIVALUE'"
        )
    );
    let f = w.run(&["check", "--format", "json"]).ok().json();
    let placeholder = f["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["check"] == "placeholder_links")
        .unwrap_or_else(|| panic!("{f}"))["count"]
        .as_i64();
    assert_eq!(
        placeholder,
        Some(q(
            &raw,
            "select count(*) from inc where \"Related Change\" = '#MULTIVALUE'"
        ))
    );
    assert_eq!(
        w.scalar("select count(*) from incidents where priority = 1"),
        q(&raw, "select count(*) from inc where \"Priority\" = '1'")
    );
    let row = &w.sql("select priority, cause_ci, strftime(opened_at, '%Y-%m-%d %H:%M:%S') o from incidents where incident_id = 'IM0000004'")[0];
    assert_eq!(row["priority"], 4);
    assert_eq!(row["cause_ci"], "SUB000508");
    assert_eq!(row["o"], "2012-02-05 13:32:57");

    // KPIs for a month, against separate queries over the raw files.
    raw.execute_batch(
        "create or replace table fc as select \"Change ID\" id,
            strptime(\"Actual End\", '%d-%m-%Y %H:%M') ae,
            strptime(\"Change record Open Time\", '%d-%m-%Y %H:%M') op,
            \"Emergency Change\" = 'Y' em, \"Change Type\" like 'Release Type%' rel
         from (select \"Change ID\", first(\"Actual End\" order by rn) filter (where \"Actual End\" is not null) as \"Actual End\",
                      first(\"Change record Open Time\" order by rn) filter (where \"Change record Open Time\" is not null) as \"Change record Open Time\",
                      first(\"Emergency Change\" order by rn) as \"Emergency Change\", first(\"Change Type\" order by rn) as \"Change Type\"
               from ch group by all)",
    )
    .unwrap();
    let v = w.run(&["kpi", "--period", "2013-11", "--format", "json"]).ok().json();
    let get = |id: &str| {
        v["kpis"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == id)
            .unwrap()
            .clone()
    };
    let month = "ae >= timestamp '2013-11-01' and ae < timestamp '2013-12-01'";
    let deployed = q(&raw, &format!("select count(*) from fc where rel and {month}"));
    assert_eq!(get("deployment_frequency")["value"].as_f64(), Some(deployed as f64));
    let implemented = q(&raw, &format!("select count(*) from fc where {month}"));
    let em = q(&raw, &format!("select count(*) from fc where em and {month}"));
    let k = get("emergency_change_rate");
    assert_eq!(
        (k["numerator"].as_i64(), k["denominator"].as_i64()),
        (Some(em), Some(implemented))
    );
    let median: f64 = raw
        .query_row(
            &format!("select quantile_cont(epoch(ae - op) / 86400, 0.5) from fc where {month} and ae >= op"),
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!((get("change_lead_time")["value"].as_f64().unwrap() - median).abs() < 1e-9);
    // No outcomes in HP SM: success and rollback rates are null, with the reason.
    let k = get("release_success_rate");
    assert!(k["value"].is_null());
    assert_eq!(k["note"], "no outcome data in source hpsm");
}
