//! `relkpi schedule` and `relkpi review` on hand-worked fixtures, and their
//! pages in headless Chromium.

mod common;
use common::{Workdir, render_page};
use serde_json::Value;

/// The week of 4 March 2024 (Monday):
///
/// | item | service / CI | planned (local) | note |
/// |---|---|---|---|
/// | R1 release | Pay | Mon 10:00-12:00 | |
/// | R2 release | Pay | Mon 12:00-14:00 | adjacent to R1: no collision |
/// | R3 release | Web | Mon 11:00-13:00 | overlaps R1 in time, other service: none |
/// | CHG1 normal, approved | Pay | Mon 11:00-11:30 | collides with R1 only (ends before R2) |
/// | CHG2 normal, rejected, in R2 | Pay | Mon 12:30-13:00 | inside its own release: no collision; not approved |
/// | CHG3 emergency, no approval | DB, CI db1 | Tue 09:00-10:00 | collides with CHG4 on db1; not approved (the source records approvals) |
/// | CHG4 standard | Other, CI db1 | Tue 09:30-10:30 | collides with CHG3 |
/// | CHG5 normal, approved | Ops | Fri 23:00-Sat 01:00 | overlaps the freeze window that starts Sat 00:00 |
/// | CHG6 normal, approved | Ops | Sun 10:00-11:00 | inside the freeze window, ends in it |
/// | CHG7 normal, approved | Ops | Mon 11 Mar 00:00-01:00 | the freeze window ended at 00:00: not in it, and after --weeks 1 |
/// | CHG8 cancelled | Pay | Mon 10:00-12:00 | cancelled: not shown |
fn fixture() -> Workdir {
    let w = Workdir::new();
    let releases = w.write(
        "releases.csv",
        "source,release_id,title,service,state,planned_start,planned_end\n\
         servicenow,R1,Pay release 1,Pay,planned,2024-03-04 10:00,2024-03-04 12:00\n\
         servicenow,R2,Pay release 2,Pay,planned,2024-03-04 12:00,2024-03-04 14:00\n\
         servicenow,R3,Web release,Web,planned,2024-03-04 11:00,2024-03-04 13:00\n",
    );
    let changes = w.write(
        "change_request.csv",
        "number,short_description,type,risk,approval,state,business_service,cmdb_ci,release,start_date,end_date\n\
         CHG1,Pay fix,normal,low,approved,scheduled,Pay,,,2024-03-04 11:00:00,2024-03-04 11:30:00\n\
         CHG2,Pay part of R2,normal,low,rejected,scheduled,Pay,,R2,2024-03-04 12:30:00,2024-03-04 13:00:00\n\
         CHG3,DB patch,emergency,high,,scheduled,DB,db1,,2024-03-05 09:00:00,2024-03-05 10:00:00\n\
         CHG4,DB tune,standard,low,approved,scheduled,Other,db1,,2024-03-05 09:30:00,2024-03-05 10:30:00\n\
         CHG5,Late Friday,normal,low,approved,scheduled,Ops,,,2024-03-08 23:00:00,2024-03-09 01:00:00\n\
         CHG6,Sunday,normal,low,approved,scheduled,Ops,,,2024-03-10 10:00:00,2024-03-10 11:00:00\n\
         CHG7,Monday after,normal,low,approved,scheduled,Ops,,,2024-03-11 00:00:00,2024-03-11 01:00:00\n\
         CHG8,Cancelled,normal,low,approved,cancelled,Pay,,,2024-03-04 10:00:00,2024-03-04 12:00:00\n",
    );
    // One source for all, so that releases and changes can meet.
    w.run(&[
        "import",
        "--source",
        "canonical",
        "--source-name",
        "servicenow",
        "--kind",
        "releases",
        releases.to_str().unwrap(),
    ])
    .ok();
    w.run(&["import", "--source", "servicenow", changes.to_str().unwrap()])
        .ok();
    w.write(
        "relkpi.toml",
        "[[freeze_windows]]\nname = \"Weekend freeze\"\nfrom = \"2024-03-09 00:00\"\nto = \"2024-03-11 00:00\"\n",
    );
    w
}

fn item<'a>(s: &'a Value, id: &str) -> &'a Value {
    s["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("{id} missing: {s}"))
}

#[test]
fn collisions_freeze_and_approval_by_hand() {
    let w = fixture();
    let s = w
        .run(&["schedule", "--from", "2024-03-04", "--weeks", "1", "--format", "json"])
        .ok()
        .json();
    let ids: Vec<&str> = s["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["R1", "CHG1", "R3", "R2", "CHG2", "CHG3", "CHG4", "CHG5", "CHG6"],
        "{s}"
    );
    assert_eq!(item(&s, "R1")["collides_with"], "CHG1 on Pay");
    assert_eq!(item(&s, "CHG1")["collides_with"], "R1 on Pay");
    assert!(
        item(&s, "R2")["collides_with"].is_null(),
        "adjacent windows do not collide"
    );
    assert!(item(&s, "R3")["collides_with"].is_null(), "other service");
    assert!(item(&s, "CHG2")["collides_with"].is_null(), "inside its own release");
    assert_eq!(item(&s, "CHG3")["collides_with"], "CHG4 on db1");
    assert_eq!(item(&s, "CHG4")["collides_with"], "CHG3 on db1");
    assert_eq!(item(&s, "CHG5")["freeze"], "Weekend freeze");
    assert_eq!(item(&s, "CHG6")["freeze"], "Weekend freeze");
    for id in ["CHG2", "CHG3"] {
        assert_eq!(item(&s, id)["unapproved"], true, "{id}");
    }
    for id in ["CHG1", "CHG4", "CHG5", "R1"] {
        assert_eq!(item(&s, id)["unapproved"], false, "{id}");
    }
    assert_eq!(s["collisions"], 4);
    assert_eq!(s["in_freeze"], 2);
    assert_eq!(s["unapproved"], 2);
    // The freeze window's end is exclusive: CHG7 (Monday 00:00) is outside it.
    let s2 = w
        .run(&["schedule", "--from", "2024-03-11", "--weeks", "1", "--format", "json"])
        .ok()
        .json();
    assert!(item(&s2, "CHG7")["freeze"].is_null());
    // CSV and the table carry the same flags.
    let csv = w
        .run(&["schedule", "--from", "2024-03-04", "--weeks", "1", "--format", "csv"])
        .ok()
        .stdout;
    assert!(csv.contains("collides with CHG4 on db1; not approved"), "{csv}");
    let table = w.run(&["schedule", "--from", "2024-03-04", "--weeks", "1"]).ok().stdout;
    assert!(
        table.starts_with(
            "9 items planned 2024-03-04 00:00 .. 2024-03-11 00:00: 4 colliding, 2 in a freeze window, 2 not approved"
        ),
        "{table}"
    );
}

#[test]
fn the_calendar_page_renders() {
    let w = fixture();
    w.run(&[
        "schedule",
        "--from",
        "2024-03-04",
        "--weeks",
        "2",
        "--format",
        "html",
        "--out",
        "cal.html",
    ])
    .ok();
    let page = render_page(&w.path("cal.html"));
    assert!(page.console.is_empty(), "{:?}", page.console);
    // Two weeks, Monday to Sunday; CHG3 on Tuesday 5 March, flagged.
    assert_eq!(page.dom.matches("data-date=").count(), 14);
    let tue = page.dom.split("data-date=\"2024-03-05\"").nth(1).unwrap();
    let tue = &tue[..tue.find("</td>").unwrap()];
    assert!(tue.contains("CHG3") && tue.contains("flagged"), "{tue}");
}

/// A release with everything a card shows, worked out by hand.
///
/// REL9 (Pay): planned end 2024-03-10 12:00, actual end 14:30 -> slip +2.5 h, late
/// (tolerance 0); requested 2024-03-01 14:30 -> lead time 9.0 days; outcome
/// successful but incident I1 (priority 1, explicit link, opened 2024-03-11) is a
/// major incident within 7 days -> failed. I2 (priority 3) caused by change C91 of the
/// release -> attributed through it; opened 2024-03-12 08:00, resolved 10:00 -> 2.0 h.
/// I3 opened 2024-03-30, explicit link: attributed but outside the 7-day window.
/// Changes C91 (caused I2 -> failed) and C92 (successful). Satisfaction 4 and 2 ->
/// mean 3. Peers: Pay releases deployed in the 6 months before: P1 (lead 5 d, slip
/// +1 h, successful) and P2 (lead 7 d, slip +3 h, successful), P3 of another service
/// and P4 deployed 8 months before are not peers -> medians 6 d and +2 h; success
/// rate 100%.
fn card_fixture() -> Workdir {
    let w = Workdir::new();
    let rel = w.write(
        "releases.csv",
        "source,release_id,title,service,state,outcome,requested_at,planned_end,actual_end\n\
         t,REL9,<i>Pay 9</i>,Pay,closed,successful,2024-03-01 14:30,2024-03-10 12:00,2024-03-10 14:30\n\
         t,P1,Pay 1,Pay,closed,successful,2024-01-01 00:00,2024-01-05 23:00,2024-01-06 00:00\n\
         t,P2,Pay 2,Pay,closed,successful,2024-02-01 00:00,2024-02-07 21:00,2024-02-08 00:00\n\
         t,P3,Web 3,Web,closed,failed,2024-02-01 00:00,2024-02-02 00:00,2024-02-02 00:00\n\
         t,P4,Pay 4,Pay,closed,failed,2023-06-01 00:00,2023-07-01 00:00,2023-07-01 00:00\n",
    );
    let chg = w.write(
        "changes.csv",
        "source,change_id,title,release_id,change_type,state,outcome,service,actual_end\n\
         t,C91,Deploy pay-api,REL9,normal,closed,successful,Pay,2024-03-10 13:00\n\
         t,C92,Deploy pay-db,REL9,normal,closed,successful,Pay,2024-03-10 14:00\n",
    );
    let inc = w.write(
        "incidents.csv",
        "source,incident_id,title,priority,related_release,caused_by_change,ci,opened_at,resolved_at\n\
         t,I1,Payments down,1,REL9,,Pay,2024-03-11 09:00,2024-03-11 12:00\n\
         t,I2,Slow payments,3,,C91,Pay,2024-03-12 08:00,2024-03-12 10:00\n\
         t,I3,Late question,4,REL9,,Pay,2024-03-30 09:00,\n",
    );
    let sat = w.write(
        "satisfaction.csv",
        "source,response_id,release_id,score,submitted_at\nt,S1,REL9,4,2024-03-12 09:00\nt,S2,REL9,2,2024-03-13 09:00\n",
    );
    for (f, kind) in [
        (rel, "releases"),
        (chg, "changes"),
        (inc, "incidents"),
        (sat, "satisfaction"),
    ] {
        w.run(&[
            "import",
            "--source",
            "canonical",
            "--source-name",
            "t",
            "--kind",
            kind,
            f.to_str().unwrap(),
        ])
        .ok();
    }
    w
}

#[test]
fn a_review_card_worked_out_by_hand() {
    let w = card_fixture();
    w.run(&["review", "REL9", "--out", "cards"]).ok();
    let c: Value = serde_json::from_str(&std::fs::read_to_string(w.path("cards/t-REL9.json")).unwrap()).unwrap();
    let f = &c["figures"];
    assert_eq!(f["slip_hours"], 2.5);
    assert_eq!(f["late"], true);
    assert_eq!(f["lead_time_days"], 9.0);
    assert_eq!(f["failed"], true);
    assert_eq!(f["major_incidents"], 1);
    assert_eq!(f["defects"], 2, "I1 and I2 within the window; I3 outside");
    assert_eq!(f["satisfaction_mean"], 3.0);
    assert_eq!(f["peers"]["releases"], 2);
    assert_eq!(f["peers"]["lead_time_days"], 6.0);
    assert_eq!(f["peers"]["slip_hours"], 2.0);
    assert_eq!(f["peers"]["success_rate"], 1.0);
    assert_eq!(c["result"], "failed: 1 major incident(s) within 7 days");
    let inc = c["incidents"].as_array().unwrap();
    assert_eq!(inc.len(), 3);
    assert_eq!(inc[0]["method"], "explicit");
    assert_eq!(inc[1]["incident_id"], "I2");
    assert_eq!(inc[1]["method"], "explicit");
    assert_eq!(inc[1]["via_change"], "C91");
    assert_eq!(inc[1]["recovery_hours"], 2.0);
    assert_eq!(inc[2]["within_window"], false);
    let ch = c["changes"].as_array().unwrap();
    assert_eq!(
        (ch[0]["change_id"].as_str(), ch[0]["failed"].as_bool()),
        (Some("C91"), Some(true))
    );
    assert_eq!(
        (ch[1]["change_id"].as_str(), ch[1]["failed"].as_bool()),
        (Some("C92"), Some(false))
    );
    let cmp = c["comparison"].as_array().unwrap();
    assert_eq!(cmp[0]["verdict"], "worse", "lead time 9 d against 6 d");
    assert_eq!(cmp[1]["verdict"], "worse", "slip 2.5 h against 2 h");
    // The page: escaped title, no console output.
    let page = render_page(&w.path("cards/t-REL9.html"));
    assert!(page.console.is_empty(), "{:?}", page.console);
    assert!(page.dom.contains("&lt;i&gt;Pay 9&lt;/i&gt;") && !page.dom.contains("<i>Pay 9"));
    // A period: one card per release deployed in it, and an index.
    w.run(&["review", "--period", "2024-03", "--out", "p"]).ok();
    let index = std::fs::read_to_string(w.path("p/index.html")).unwrap();
    assert!(index.contains("href=\"t-REL9.html\""));
    assert!(!w.path("p/t-P1.html").exists());
    let bad = w.run(&["review", "NOPE"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("no release \"NOPE\""), "{}", bad.stderr);
}
