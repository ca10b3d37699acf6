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
    # Whole minutes: every system's export format can hold them (Jira's has no seconds).
    return t.replace(second=0, microsecond=0).strftime(F) if t else ""

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
        # A customised instance's origin field (no random draw: the rest of
        # the story is unchanged): emergency fixes follow incidents.
        "u_origin": "Incident" if kind == "emergency" else "Planned",
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

# ---------------------------------------------------------------------------
# The same story in the other systems' export formats (sample-data/<system>/),
# so the KPIs can be checked to agree across sources.
P = lambda s: dt.datetime.strptime(s, F) if s else None
BASE = os.path.join(os.path.dirname(__file__), "..", "sample-data")

def out(system, name):
    d = os.path.join(BASE, system)
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, name)

def jira_date(t):
    return t.strftime("%d/%b/%y %I:%M %p") if t else ""

def us_date(t):  # BMC exports in the US locale: 3/5/2024 2:15:00 PM
    return f"{t.month}/{t.day}/{t.year} {t.strftime('%I:%M:%S %p').lstrip('0')}" if t else ""

SN_PRIORITY = {"1 - Critical": 1, "2 - High": 2, "3 - Moderate": 3, "4 - Low": 4, "5 - Planning": 5}
RISK_WORD = {"1": "Very High", "2": "High", "3": "Medium", "4": "Low"}
rel_ids = {r["Number"] for r in releases}

# Jira: changes and incidents as issue CSV exports, releases as project versions JSON.
def jkey(prefix, number):
    return f"{prefix}-{int(number[3:])}"

with open(out("jira", "changes.csv"), "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["Summary", "Issue key", "Issue id", "Issue Type", "Status", "Priority", "Resolution", "Created", "Updated",
                "Resolved", "Fix Version/s", "Fix Version/s", "Custom field (Change type)", "Custom field (Change risk)",
                "Custom field (Change start date)", "Custom field (Change completion date)", "Custom field (Affected services)",
                "Custom field (Team)"])
    for i, c in enumerate(changes):
        closed = c["state"] == "3"
        res = {"successful": "Done", "successful_issues": "Done", "unsuccessful": "Failed", "rolled_back": "Rolled back"}.get(c["close_code"], "")
        status = {"3": "Completed", "0": "Peer review", "4": "Canceled"}.get(c["state"], "Implementing")
        w.writerow([c["short_description"], jkey("CHG", c["number"]), 20000 + i, "Change", status, "Medium",
                    res if closed else "", jira_date(P(c["opened_at"])), jira_date(P(c["sys_updated_on"])),
                    jira_date(P(c["work_end"])), c["u_release"], "", c["type"].capitalize(), RISK_WORD[c["risk"]],
                    jira_date(P(c["start_date"])), jira_date(P(c["end_date"])), c["cmdb_ci"], c["assignment_group"]])

def sn_ref(v):
    return v["display_value"] if isinstance(v, dict) else v

with open(out("jira", "incidents.csv"), "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["Summary", "Issue key", "Issue id", "Issue Type", "Status", "Priority", "Resolution", "Created", "Updated",
                "Resolved", "Custom field (Affected services)", "Custom field (Team)", "Inward issue link (Causes)"])
    pr = {1: "Highest", 2: "High", 3: "Medium", 4: "Low", 5: "Lowest"}
    for i, n in enumerate(incidents):
        cb = sn_ref(n["caused_by"])
        status = {"Closed": "Closed", "Resolved": "Resolved", "In Progress": "Work in progress"}[n["state"]]
        w.writerow([n["short_description"], jkey("INC", n["number"]), 40000 + i, "Incident", status,
                    pr[SN_PRIORITY[n["priority"]]], "Done" if n["resolved_at"] else "", jira_date(P(n["opened_at"])),
                    jira_date(P(n["sys_updated_on"])), jira_date(P(n["resolved_at"])), sn_ref(n["cmdb_ci"]),
                    sn_ref(n["assignment_group"]), jkey("CHG", cb) if cb else ""])
    # A service request in the same export: not an incident, skipped on import.
    w.writerow(["New laptop", "INC-99999", 99999, "Service request", "Done", "Medium", "Done", "01/Mar/24 09:00 AM",
                "01/Mar/24 10:00 AM", "01/Mar/24 10:00 AM", "", "", ""])

versions = []
for r in releases:
    deployed = bool(r["Actual end"])
    versions.append({"self": f"https://example.atlassian.net/rest/api/3/version/{r['Number'][4:]}", "id": r["Number"][4:],
                     "name": r["Number"], "description": r["Short description"], "archived": False, "released": deployed,
                     "releaseDate": (r["Actual end"] or r["Planned end date"])[:10], "startDate": r["Planned start date"][:10],
                     "projectId": 10000})
with open(out("jira", "versions.json"), "w", encoding="utf-8") as f:
    json.dump(versions, f, indent=1)

# BMC Helix / Remedy: US dates, labels with *+ markers.
with open(out("bmc", "changes.csv"), "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["Change ID*+", "Summary", "Class", "Risk Level", "Status", "Status Reason", "Service", "Support Group Name",
                "CI", "Submit Date", "Scheduled Start Date", "Scheduled End Date", "Actual Start Date", "Actual End Date",
                "Closed Date", "Last Modified Date", "Release ID"])
    risk = {"1": "Risk Level 5", "2": "Risk Level 4", "3": "Risk Level 3", "4": "Risk Level 1"}
    for c in changes:
        status = {"3": "Closed", "0": "Completed", "4": "Cancelled"}.get(c["state"], "Implementation In Progress")
        reason = {"successful": "Successful", "successful_issues": "Successful with Issues", "unsuccessful": "Unsuccessful",
                  "rolled_back": "Backed Out"}.get(c["close_code"], "")
        w.writerow([c["number"].replace("CHG", "CRQ"), c["short_description"], c["type"].capitalize(), risk[c["risk"]], status,
                    reason, c["business_service"], c["assignment_group"], c["cmdb_ci"], us_date(P(c["opened_at"])),
                    us_date(P(c["start_date"])), us_date(P(c["end_date"])), us_date(P(c["work_start"])),
                    us_date(P(c["work_end"])), us_date(P(c["closed_at"])), us_date(P(c["sys_updated_on"])),
                    c["u_release"].replace("RLSE", "RLM")])

with open(out("bmc", "incidents.csv"), "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["Incident ID*+", "Summary", "Priority", "Status", "CI", "Service", "Assigned Group", "Caused By Change",
                "Reported Date", "Last Resolved Date", "Closed Date", "Last Modified Date"])
    pr = {1: "Critical", 2: "High", 3: "Medium", 4: "Low", 5: "Low"}
    for n in incidents:
        cb = sn_ref(n["caused_by"])
        w.writerow([n["number"], n["short_description"], pr[SN_PRIORITY[n["priority"]]], n["state"], sn_ref(n["cmdb_ci"]),
                    sn_ref(n["business_service"]), sn_ref(n["assignment_group"]), cb.replace("CHG", "CRQ") if cb else "",
                    us_date(P(n["opened_at"])), us_date(P(n["resolved_at"])), us_date(P(n["closed_at"])),
                    us_date(P(n["sys_updated_on"]))])

with open(out("bmc", "releases.csv"), "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["Release ID*+", "Summary", "Release Type", "Status", "Status Reason", "Service", "Coordinator Group",
                "Submit Date", "Scheduled Start Date", "Scheduled End Date", "Actual Start Date", "Actual End Date",
                "Closed Date", "Last Modified Date"])
    for r in releases:
        status = {"Completed": "Completed", "Cancelled": "Cancelled", "Testing": "Test", "Planning": "Planning"}[r["State"]]
        reason = {"Successful": "Successful", "Successful with issues": "Successful with Issues", "Unsuccessful": "Unsuccessful",
                  "Rolled back": "Backed Out", "": ""}[r["Close code"]]
        w.writerow([r["Number"].replace("RLSE", "RLM"), r["Short description"], r["Release type"] + " Release"
                    if r["Release type"] in ("Major", "Minor", "Emergency") else r["Release type"], status, reason,
                    r["Business service"], r["Assignment group"], us_date(P(r["Opened"])), us_date(P(r["Planned start date"])),
                    us_date(P(r["Planned end date"])), us_date(P(r["Actual start"])), us_date(P(r["Actual end"])),
                    us_date(P(r["Closed"])), us_date(P(r["Updated"]))])

# Freshservice: changes and a ticket export that mixes incidents with service requests.
with open(out("freshservice", "changes.csv"), "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["Change ID", "Subject", "Change Type", "Risk", "Status", "Outcome", "Group", "Impacted Services", "Assets",
                "Created Date", "Planned Start Date", "Planned End Date", "Closed Date", "Last Updated"])
    for c in changes:
        ctype = {"standard": "Standard", "emergency": "Emergency"}.get(c["type"], "Major" if c["risk"] in ("1", "2") else "Minor")
        status = {"3": "Closed", "0": "Pending Review", "4": "Rejected"}.get(c["state"], "Pending Release")
        outcome = {"successful": "Successful", "successful_issues": "Successful with issues", "unsuccessful": "Failed",
                   "rolled_back": "Rolled back"}.get(c["close_code"], "")
        w.writerow([c["number"].replace("CHG", "CHN-"), c["short_description"], ctype, RISK_WORD[c["risk"]], status, outcome,
                    c["assignment_group"], c["business_service"], c["cmdb_ci"], c["opened_at"], c["start_date"], c["end_date"],
                    c["work_end"], c["sys_updated_on"]])

with open(out("freshservice", "tickets.csv"), "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["Ticket Id", "Subject", "Type", "Status", "Priority", "Group", "Impacted Services", "Assets",
                "Change Causing Incident", "Created Date", "Resolved Time", "Closed Time", "Last Updated Time"])
    pr = {1: "Urgent", 2: "High", 3: "Medium", 4: "Low", 5: "Low"}
    for n in incidents:
        cb = sn_ref(n["caused_by"])
        status = {"Closed": "Closed", "Resolved": "Resolved", "In Progress": "Open"}[n["state"]]
        w.writerow([n["number"].replace("INC", "INC-"), n["short_description"], "Incident", status,
                    pr[SN_PRIORITY[n["priority"]]], sn_ref(n["assignment_group"]), sn_ref(n["business_service"]),
                    sn_ref(n["cmdb_ci"]), cb.replace("CHG", "CHN-") if cb else "", n["opened_at"], n["resolved_at"],
                    n["closed_at"], n["sys_updated_on"]])
    for k in range(5):
        w.writerow([f"SR-{k + 1}", "Password reset", "Service Request", "Closed", "Low", "Service Desk", "", "", "",
                    "2024-03-01 09:00:00", "2024-03-01 09:30:00", "2024-03-02 09:30:00", "2024-03-02 09:30:00"])
print("other systems written")
