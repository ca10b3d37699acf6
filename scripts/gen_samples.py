#!/usr/bin/env python3
"""Writes relkpi's bundled ServiceNow-style sample exports (sample-data/servicenow/).

Deterministic (fixed seed): re-running gives identical files. 18 months,
2024-01-01 .. 2025-06-30, four services. The story holds the events every KPI
must see: failed and rolled-back releases, emergency changes, incidents caused
by changes (explicit `caused_by` and by CI + time window), late and early
implementations, unapproved changes, a backlog of releases not yet deployed,
and satisfaction answers.

Formats, as ServiceNow writes them:
- change_request.csv: list export with field names as headers, every value
  quoted, stored values (state -5..4, close_code successful_issues, risk 1..4).
- rm_release.csv: list export with column labels as headers and display values.
- incident.json: Table API response {"result": [...]} with display values
  ("1 - Critical", "In Progress") and reference fields as objects.
- satisfaction.csv: relkpi's canonical CSV (survey answers come that way).
"""
import csv, json, random, datetime as dt, os

R = random.Random(20240101)
OUT = os.path.join(os.path.dirname(__file__), "..", "sample-data", "servicenow")
os.makedirs(OUT, exist_ok=True)

SERVICES = {
    "Payments": ("Team Alpha", ["pay-api", "pay-db", "pay-gateway"]),
    "Online Banking": ("Team Beta", ["ob-web", "ob-auth"]),
    "CRM": ("Team Gamma", ["crm-app", "crm-db"]),
    "Data Platform": ("Platform Ops", ["dp-etl", "dp-warehouse"]),
}
START = dt.datetime(2024, 1, 1)
END = dt.datetime(2025, 7, 1)
F = "%Y-%m-%d %H:%M:%S"

def fmt(t):
    return t.strftime(F) if t else ""

def at_hour(d, lo=8, hi=20):
    return d.replace(hour=R.randint(lo, hi), minute=R.choice([0, 15, 30, 45]), second=0)

releases, changes, incidents, answers = [], [], [], []
rel_n, chg_n, inc_n = 1000, 30000, 10000

def new_change(svc, kind, planned_start, release=None, fail=False, rollback=False):
    global chg_n
    chg_n += 1
    team, cis = SERVICES[svc]
    ci = R.choice(cis)
    opened = planned_start - dt.timedelta(days=R.uniform(2, 20) if kind != "emergency" else R.uniform(0.05, 0.5))
    planned_end = planned_start + dt.timedelta(hours=R.choice([1, 2, 4]))
    start_shift = dt.timedelta(minutes=R.choice([0, 0, 0, 5, 10, -30 if R.random() < 0.08 else 0]))
    work_start = planned_start + start_shift
    work_end = work_start + dt.timedelta(minutes=R.randint(20, 200))
    if R.random() < 0.12:
        work_end = planned_end + dt.timedelta(hours=R.uniform(0.5, 6))  # late
    approval = "approved"
    if kind in ("normal", "emergency") and R.random() < 0.06:
        approval = "not requested"  # implemented without approval
    if kind == "standard":
        approval = "not requested"
    close = "successful"
    if rollback:
        close = "rolled_back"
    elif fail:
        close = "unsuccessful"
    elif R.random() < 0.08:
        close = "successful_issues"
    state = "3"
    closed = work_end + dt.timedelta(hours=R.uniform(2, 72))
    if work_end >= END:
        return None
    if closed >= END:
        state, close, closed = "0", "", None
    no_close_code = state == "3" and R.random() < 0.03
    c = {
        "number": f"CHG{chg_n:07d}",
        "short_description": f"{'Deploy' if release else 'Update'} {ci} ({kind})",
        "type": kind,
        "risk": R.choice(["4", "4", "3", "3", "2", "1"]) if kind != "standard" else "4",
        "state": state,
        "close_code": "" if no_close_code else close,
        "approval": approval,
        "approval_set": fmt(opened + dt.timedelta(hours=R.uniform(1, 30))) if approval == "approved" else "",
        "cab_required": "true" if kind == "normal" and R.random() < 0.5 else "false",
        "u_release": release or "",
        "business_service": svc,
        "assignment_group": team,
        "cmdb_ci": ci,
        "opened_at": fmt(opened),
        "start_date": fmt(planned_start) if not (kind == "normal" and R.random() < 0.04) else "",
        "end_date": fmt(planned_end),
        "work_start": fmt(work_start),
        "work_end": fmt(work_end),
        "closed_at": fmt(closed),
        "sys_updated_on": fmt(closed or work_end),
    }
    if c["cab_required"] == "true" and R.random() < 0.1:
        c["approval_set"] = ""
    changes.append(c)
    return c

def new_incident(svc, ci, opened, priority, caused_by="", desc="Service degraded"):
    global inc_n
    if opened >= END:
        return
    inc_n += 1
    team, _ = SERVICES[svc]
    resolve_h = {1: R.uniform(0.5, 6), 2: R.uniform(2, 24), 3: R.uniform(4, 72)}.get(priority, R.uniform(8, 200))
    resolved = opened + dt.timedelta(hours=resolve_h)
    closed = resolved + dt.timedelta(days=3)
    state = "Closed"
    if closed >= END:
        state, closed = "Resolved", None
    if resolved >= END:
        state, resolved = "In Progress", None
    labels = {1: "1 - Critical", 2: "2 - High", 3: "3 - Moderate", 4: "4 - Low", 5: "5 - Planning"}
    incidents.append({
        "number": f"INC{inc_n:07d}",
        "short_description": f"{desc} on {ci}",
        "priority": labels[priority],
        "state": state,
        "impact": labels[min(priority, 3)],
        "urgency": labels[min(priority, 3)],
        "cmdb_ci": {"display_value": ci, "link": f"https://example.service-now.com/api/now/table/cmdb_ci/{ci}"},
        "business_service": {"display_value": svc, "link": ""},
        "assignment_group": {"display_value": team, "link": ""},
        "caused_by": {"display_value": caused_by, "link": ""} if caused_by else "",
        "rfc": "",
        "opened_at": fmt(opened),
        "resolved_at": fmt(resolved),
        "closed_at": fmt(closed),
        "sys_updated_on": fmt(closed or resolved or opened),
    })

# Releases: about three a month per service, some still in the pipeline at the end.
month = START
while month < END:
    for svc in SERVICES:
        for _ in range(R.choice([0, 1, 1, 1, 2])):
            rel_n += 1
            rid = f"RLSE{rel_n:07d}"
            team, cis = SERVICES[svc]
            kind = R.choices(["major", "minor", "patch", "emergency"], [1, 4, 3, 1])[0]
            requested = at_hour(month + dt.timedelta(days=R.randint(0, 27)))
            approved = requested + dt.timedelta(days=R.uniform(1, 6))
            planned_start = at_hour(requested + dt.timedelta(days=R.uniform(7, 40) if kind != "emergency" else R.uniform(0.5, 2)), 18, 22)
            planned_end = planned_start + dt.timedelta(hours=R.choice([2, 4, 6]))
            roll = R.random()
            outcome = "Successful"
            if roll < 0.07:
                outcome = "Rolled back"
            elif roll < 0.14:
                outcome = "Unsuccessful"
            elif roll < 0.24:
                outcome = "Successful with issues"
            late = R.random() < 0.2
            work_start = planned_start + dt.timedelta(minutes=R.choice([0, 10, 20]))
            work_end = planned_end + (dt.timedelta(hours=R.uniform(1, 30)) if late else -dt.timedelta(minutes=R.randint(5, 60)))
            cancelled = R.random() < 0.04
            rel = {
                "Number": rid,
                "Short description": f"{svc} {kind} release {rel_n}",
                "Release type": kind.capitalize(),
                "State": "Cancelled" if cancelled else "Completed",
                "Close code": "" if cancelled else outcome,
                "Business service": svc,
                "Assignment group": team,
                "Opened": fmt(requested),
                "Approval set": fmt(approved),
                "Planned start date": fmt(planned_start),
                "Planned end date": fmt(planned_end),
                "Actual start": "" if cancelled else fmt(work_start),
                "Actual end": "" if cancelled else fmt(work_end),
                "Closed": fmt(work_end + dt.timedelta(days=2)) if not cancelled else fmt(planned_start),
                "Updated": fmt(work_end + dt.timedelta(days=2)),
            }
            if work_end >= END or work_start >= END:  # still in the pipeline
                rel.update({"State": "Testing" if work_start < END else "Planning", "Close code": "", "Actual start": "",
                            "Actual end": "", "Closed": "", "Updated": fmt(min(requested + dt.timedelta(days=3), END - dt.timedelta(hours=1)))})
                releases.append(rel)
                continue
            releases.append(rel)
            if cancelled:
                continue
            # The release's changes, implemented inside its window.
            bundled = []
            for k in range(R.randint(2, 4)):
                c = new_change(svc, "emergency" if kind == "emergency" else "normal",
                               planned_start + dt.timedelta(minutes=10 * k), release=rid,
                               fail=(outcome == "Unsuccessful" and k == 0),
                               rollback=(outcome == "Rolled back" and k == 0))
                if c:
                    c["work_end"] = fmt(min(work_end, dt.datetime.strptime(c["work_end"], F)))
                    bundled.append(c)
            # Incidents after a bad release: major ones, some linked explicitly.
            if outcome in ("Rolled back", "Unsuccessful", "Successful with issues") and bundled:
                for j in range(R.randint(1, 3)):
                    c = R.choice(bundled)
                    opened = dt.datetime.strptime(c["work_end"], F) + dt.timedelta(hours=R.uniform(0.2, 120))
                    pr = 1 if outcome != "Successful with issues" and j == 0 else R.choice([2, 3, 3])
                    new_incident(svc, c["cmdb_ci"], opened, pr, caused_by=c["number"] if R.random() < 0.5 else "",
                                 desc="Errors after release")
            # Satisfaction with the release.
            for _ in range(R.randint(2, 5)):
                base = {"Successful": 4.3, "Successful with issues": 3.4, "Unsuccessful": 2.2, "Rolled back": 2.0}[outcome]
                score = max(1, min(5, round(R.gauss(base, 0.8))))
                submitted = work_end + dt.timedelta(days=R.uniform(1, 14))
                if submitted < END:
                    answers.append({"source": "servicenow", "response_id": f"SURV{len(answers) + 1:06d}",
                                    "release_id": rid, "service": svc, "submitted_at": fmt(submitted),
                                    "score": score, "comment": R.choice(["", "", "Smooth", "Some downtime", "Slow after go-live", "Great, thanks"])})
    month = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)

# Standalone standard and emergency changes, and background incidents.
t = START
while t < END:
    svc = R.choice(list(SERVICES))
    kind = R.choices(["standard", "normal", "emergency"], [6, 2, 1])[0]
    c = new_change(svc, kind, at_hour(t, 6, 22), fail=R.random() < 0.04)
    if c and kind == "emergency" and R.random() < 0.5:
        # An emergency fix often follows an incident on the same CI.
        new_incident(svc, c["cmdb_ci"], dt.datetime.strptime(c["opened_at"], F) - dt.timedelta(hours=2), 2, desc="Outage")
    if c and R.random() < 0.15:
        opened = dt.datetime.strptime(c["work_end"], F) + dt.timedelta(hours=R.uniform(1, 160))
        new_incident(svc, c["cmdb_ci"], opened, R.choice([2, 3, 3, 4]), desc="Errors after change")
    t += dt.timedelta(hours=R.uniform(20, 44))

t = START
while t < END:
    svc = R.choice(list(SERVICES))
    _, cis = SERVICES[svc]
    new_incident(svc, R.choice(cis), at_hour(t, 0, 23), R.choices([2, 3, 4, 5], [1, 5, 5, 1])[0], desc="User reported issue")
    t += dt.timedelta(hours=R.uniform(10, 40))

incidents.sort(key=lambda i: i["number"])
with open(os.path.join(OUT, "change_request.csv"), "w", newline="", encoding="utf-8") as f:
    w = csv.DictWriter(f, fieldnames=list(changes[0].keys()), quoting=csv.QUOTE_ALL)
    w.writeheader(); w.writerows(changes)
with open(os.path.join(OUT, "rm_release.csv"), "w", newline="", encoding="utf-8") as f:
    w = csv.DictWriter(f, fieldnames=list(releases[0].keys()))
    w.writeheader(); w.writerows(releases)
with open(os.path.join(OUT, "incident.json"), "w", encoding="utf-8") as f:
    json.dump({"result": incidents}, f, separators=(",", ":"))
with open(os.path.join(OUT, "satisfaction.csv"), "w", newline="", encoding="utf-8") as f:
    w = csv.DictWriter(f, fieldnames=list(answers[0].keys()))
    w.writeheader(); w.writerows(answers)
print(f"releases {len(releases)}, changes {len(changes)}, incidents {len(incidents)}, answers {len(answers)}")
