//! The real ServiceNow incident audit log (UCI dataset 498) imports as is.
//! Expected values are computed here from the raw file, independently of
//! relkpi's reader: latest version per `number` by (sys_updated_at, sys_mod_count).

mod common;
use std::collections::HashMap;
use std::io::Read;

use common::{Workdir, shared_data};

struct Latest {
    stamp: (i32, u32, u32, u32, u32),
    mod_count: i64,
    state: String,
    priority: String,
    caused_by: String,
    group: String,
    ci: String,
}

fn stamp(s: &str) -> (i32, u32, u32, u32, u32) {
    // d/m/yyyy HH:MM
    let (d, t) = s.split_once(' ').unwrap();
    let dm: Vec<&str> = d.split('/').collect();
    let hm: Vec<&str> = t.split(':').collect();
    (
        dm[2].parse().unwrap(),
        dm[1].parse().unwrap(),
        dm[0].parse().unwrap(),
        hm[0].parse().unwrap(),
        hm[1].parse().unwrap(),
    )
}

#[test]
fn servicenow_incident_log_imports_as_24918_incidents() {
    let path = shared_data("servicenow-incident-log/incident_event_log.csv.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let h = rdr.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (num, st, pr, mc, up, cb, ag, ci) = (
        col("number"),
        col("incident_state"),
        col("priority"),
        col("sys_mod_count"),
        col("sys_updated_at"),
        col("caused_by"),
        col("assignment_group"),
        col("cmdb_ci"),
    );
    let mut latest: HashMap<String, Latest> = HashMap::new();
    let mut rows = 0;
    for r in rdr.records() {
        let r = r.unwrap();
        rows += 1;
        let cand = Latest {
            stamp: stamp(&r[up]),
            mod_count: r[mc].parse().unwrap(),
            state: r[st].to_string(),
            priority: r[pr].to_string(),
            caused_by: r[cb].to_string(),
            group: r[ag].to_string(),
            ci: r[ci].to_string(),
        };
        let e = latest.entry(r[num].to_string());
        match e {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(cand);
            }
            std::collections::hash_map::Entry::Occupied(mut o) => {
                if (cand.stamp, cand.mod_count) >= (o.get().stamp, o.get().mod_count) {
                    o.insert(cand);
                }
            }
        }
    }
    assert_eq!(rows, 141_712);
    assert_eq!(latest.len(), 24_918);
    let closed = latest.values().filter(|l| l.state == "Closed").count() as i64;
    let resolved = latest.values().filter(|l| l.state == "Resolved").count() as i64;
    let critical = latest.values().filter(|l| l.priority.starts_with("1 ")).count() as i64;
    let caused = latest.values().filter(|l| l.caused_by != "?").count() as i64;
    let with_ci = latest.values().filter(|l| l.ci != "?").count() as i64;

    let w = Workdir::new();
    let r = w.run(&["import", path.to_str().unwrap()]).ok();
    assert!(r.stdout.contains("servicenow incidents"), "{}", r.stdout);
    assert!(r.stdout.contains("read 141712 = inserted 24918"), "{}", r.stdout);
    assert_eq!(w.scalar("select count(*) from incidents"), 24_918);
    assert_eq!(
        w.scalar("select count(*) from incidents where state = 'closed'"),
        closed
    );
    assert_eq!(
        w.scalar("select count(*) from incidents where state = 'resolved'"),
        resolved
    );
    assert_eq!(w.scalar("select count(*) from incidents where priority = 1"), critical);
    assert_eq!(
        w.scalar("select count(*) from incidents where caused_by_change is not null"),
        caused
    );
    assert_eq!(w.scalar("select count(*) from incidents where ci is not null"), with_ci);
    // A few records field by field.
    for id in ["INC0000045", "INC0000047", "INC0010000"] {
        let Some(l) = latest.get(id) else { continue };
        let row = &w.sql(&format!(
            "select priority, team, coalesce(caused_by_change, '?') cb from incidents where incident_id = '{id}'"
        ))[0];
        assert_eq!(row["priority"].as_i64().unwrap().to_string(), l.priority[..1]);
        assert_eq!(row["team"].as_str().unwrap_or("?"), l.group);
        assert_eq!(row["cb"], l.caused_by.as_str());
    }
    // The dates: INC0000045 was opened 29/2/2016 01:16.
    assert_eq!(
        w.scalar("select strftime(opened_at, '%Y-%m-%d %H:%M') from incidents where incident_id = 'INC0000045'"),
        "2016-02-29 01:16"
    );
    // Re-importing changes nothing (exact duplicate rows inside the file count as unchanged too).
    let before = w.sql("select * exclude (batch_id) from incidents order by incident_id limit 500");
    let r = w.run(&["import", path.to_str().unwrap()]).ok();
    assert!(
        r.stdout.contains("read 141712 = inserted 0 + updated 0 + unchanged"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("stale 0"), "{}", r.stdout);
    assert_eq!(w.scalar("select count(*) from incidents"), 24_918);
    assert_eq!(
        w.sql("select * exclude (batch_id) from incidents order by incident_id limit 500"),
        before
    );
}
