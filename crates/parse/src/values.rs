//! Scalar values of export fields: yes/no flags, leading integers, and the
//! keyword rule for enumerated values no vocabulary knows.

/// `str::trim`, quicker for the usual value that starts and ends with a
/// visible ASCII character (nothing to trim): two byte tests instead of a
/// character decoded and classified at each end. The mapping trims every
/// value it reads; at 1M changes `str::trim` was about 5% of the import's CPU.
#[inline]
pub fn trim(s: &str) -> &str {
    match s.as_bytes() {
        [first, .., last] if first.is_ascii_graphic() && last.is_ascii_graphic() => s,
        [only] if only.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

/// `s` lower-cased, copied only when that changes it (it holds an upper-case
/// or a non-ASCII byte): most values an import compares are lower-case
/// already, and each copy was an allocation.
pub fn lowercase(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase() || !b.is_ascii()) {
        s.to_lowercase().into()
    } else {
        s.into()
    }
}

pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "1" => Some(true),
        "false" | "f" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// The leading integer of values such as `3 - Moderate`.
pub fn parse_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let end = t
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || (*i == 0 && *c == '-')))
        .map(|(i, _)| i)
        .unwrap_or(t.len());
    let n: i64 = t[..end].parse().ok()?;
    let rest = t[end..].trim_start();
    // "3 - Moderate", "3", "3.0"; not "3abc"
    if rest.is_empty() || rest.starts_with('-') || rest == ".0" {
        Some(n)
    } else {
        None
    }
}

/// The keyword rule (README, "Values no vocabulary knows"): for a value of an
/// enumerated column that neither the profile's vocabulary nor the canonical
/// vocabulary knows, the canonical value of the first rule whose keyword the
/// value contains (lower-cased, `_`/`-` read as spaces). The rules are in
/// order: more specific phrases first ("with issues" before "success",
/// "unsuccessful" before "success", "awaiting implementation" before
/// "implement"). Every value mapped so is reported per file.
pub fn keyword_value(table: &str, column: &str, raw: &str) -> Option<&'static str> {
    let v: String = raw
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c == '_' || c == '-' { ' ' } else { c })
        .collect();
    let rules: &[(&[&str], &'static str)] = match (table, column) {
        ("changes", "outcome") | ("releases", "outcome") => {
            let failed = if table == "releases" { "failed" } else { "unsuccessful" };
            return OUTCOME
                .iter()
                .find(|(keys, _)| keys.iter().any(|k| v.contains(k)))
                .map(|(_, val)| if *val == "unsuccessful" { failed } else { val });
        }
        ("changes", "state") => CHANGE_STATE,
        ("incidents", "state") => INCIDENT_STATE,
        ("releases", "state") => RELEASE_STATE,
        ("changes", "change_type") => CHANGE_TYPE,
        ("releases", "release_type") => RELEASE_TYPE,
        ("changes", "risk") => RISK,
        ("incidents", "priority") => PRIORITY,
        _ => return None,
    };
    rules
        .iter()
        .find(|(keys, _)| keys.iter().any(|k| v.contains(k)))
        .map(|(_, val)| *val)
}

/// The outcome a change's state names, where it names one ("Failed",
/// "Rolled back", "Backed out", "Closed incomplete"): `unsuccessful` or
/// `rolled_back` by the keyword rule; None for every other state, and for
/// numeric state codes.
pub fn outcome_of_state(raw: &str) -> Option<&'static str> {
    if !raw.bytes().any(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    keyword_value("changes", "outcome", raw).filter(|o| matches!(*o, "unsuccessful" | "rolled_back"))
}

const CANCELLED: &[&str] = &[
    "cancel",
    "reject",
    "declin",
    "withdrawn",
    "will not be performed",
    "not performed",
    "no longer required",
    "won't do",
    "wont do",
    "abandon",
];

const OUTCOME: &[(&[&str], &str)] = &[
    (CANCELLED, "cancelled"),
    (&["not required"], "cancelled"),
    (
        &[
            "rolled back",
            "roll back",
            "rollback",
            "backed out",
            "back out",
            "backout",
            "revert",
        ],
        "rolled_back",
    ),
    (
        &[
            "with issues",
            "partial",
            "unexpected impact",
            "with errors",
            "with problems",
            "with incident",
            "not as planned",
        ],
        "successful_with_issues",
    ),
    (
        &[
            "unsuccessful",
            "not successful",
            "no success",
            "fail",
            "abort",
            "incomplete",
            "not complete",
            "uncomplete",
            "not implemented",
            "not resolved",
            "unresolved",
            "not done",
            "not fixed",
            "caused outage",
            "caused an outage",
            "caused incident",
            "caused an incident",
        ],
        "unsuccessful",
    ),
    (
        &["success", "complete", "implemented", "done", "fixed", "resolved"],
        "successful",
    ),
];

const CHANGE_STATE: &[(&[&str], &str)] = &[
    (CANCELLED, "cancelled"),
    (&["closed", "complete", "done", "resolved", "finished"], "closed"),
    // Ended states that say how ("Failed", "Rolled back"); the outcome is
    // taken from them too (`outcome_of_state`).
    (&["fail", "rolled back", "backed out", "reverted"], "closed"),
    (&["review", "verif", "validat"], "review"),
    // Done, not yet reviewed or closed ("Implemented with issues", "Deployed").
    (&["implemented", "deployed"], "review"),
    (
        &[
            "awaiting implementation",
            "scheduled",
            "pending implementation",
            "ready",
        ],
        "scheduled",
    ),
    (
        &["implement", "progress", "working", "deploy", "assigned", "execut"],
        "implement",
    ),
    (&["approv", "authori", "cab"], "authorize"),
    (&["assess", "plan", "analys", "evaluat", "scop"], "assess"),
    (
        &["new", "open", "draft", "submitted", "request", "registered", "logged"],
        "new",
    ),
];

const INCIDENT_STATE: &[(&[&str], &str)] = &[
    (CANCELLED, "cancelled"),
    (&["closed", "complete", "done", "finished"], "closed"),
    (&["resolved", "fixed", "solved", "restored"], "resolved"),
    (
        &["hold", "pending", "waiting", "awaiting", "suspend", "deferred"],
        "on_hold",
    ),
    (
        &[
            "progress",
            "working",
            "assigned",
            "investigat",
            "diagnos",
            "active",
            "acknowledg",
            "escalat",
        ],
        "in_progress",
    ),
    (&["new", "open", "logged", "submitted", "queued", "registered"], "new"),
];

const RELEASE_STATE: &[(&[&str], &str)] = &[
    (CANCELLED, "cancelled"),
    (&["closed", "complete", "done", "finished", "archived"], "closed"),
    (&["deployed", "released", "live", "in production"], "deployed"),
    (
        &["progress", "build", "test", "deploying", "working", "implement"],
        "in_progress",
    ),
    (
        &[
            "plan",
            "draft",
            "new",
            "open",
            "approv",
            "schedul",
            "scop",
            "registered",
            "pending",
        ],
        "planned",
    ),
];

const CHANGE_TYPE: &[(&[&str], &str)] = &[
    (&["emergency", "urgent", "expedite", "ecab"], "emergency"),
    (
        &["standard", "pre approved", "preapproved", "routine", "catalog"],
        "standard",
    ),
    (&["normal", "comprehensive", "major", "minor", "significant"], "normal"),
];

const RELEASE_TYPE: &[(&[&str], &str)] = &[
    (&["emergency", "hotfix", "hot fix", "urgent"], "emergency"),
    (&["major"], "major"),
    (&["minor"], "minor"),
    (&["patch", "fix", "maintenance"], "patch"),
];

/// Priorities as words (`P1`, `Critical`, `Highest`): the canonical 1..5.
const PRIORITY: &[(&[&str], &str)] = &[
    (&["p1", "critical", "highest", "urgent", "blocker", "very high"], "1"),
    (&["p2", "high", "major"], "2"),
    (&["p3", "medium", "moderate", "normal"], "3"),
    (&["p5", "lowest", "planning", "trivial"], "5"),
    (&["p4", "low", "minor"], "4"),
];

const RISK: &[(&[&str], &str)] = &[
    (&["very high", "critical", "extreme"], "very_high"),
    (&["high"], "high"),
    (&["medium", "moderate"], "moderate"),
    (&["low", "minor", "none"], "low"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_as_str_trim() {
        for v in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "\ta\n",
            "abc",
            "a b",
            "\u{a0}x\u{a0}",
            "\u{3000}x",
            "x\u{2003}",
            "é",
            " é ",
            "\u{85}x",
            "\r\n",
            "ab\u{a0}",
            "\u{feff}x",
        ] {
            assert_eq!(trim(v), v.trim(), "{v:?}");
        }
    }

    #[test]
    fn leading_integers() {
        assert_eq!(parse_int("3 - Moderate"), Some(3));
        assert_eq!(parse_int("1"), Some(1));
        assert_eq!(parse_int("4.0"), Some(4));
        assert_eq!(parse_int("4.5"), None);
        assert_eq!(parse_int("high"), None);
        assert_eq!(parse_int("-"), None);
    }

    #[test]
    fn flags() {
        assert_eq!(parse_bool(" Yes "), Some(true));
        assert_eq!(parse_bool("N"), Some(false));
        assert_eq!(parse_bool("maybe"), None);
    }

    #[test]
    fn outcome_named_by_a_state() {
        assert_eq!(outcome_of_state("Failed"), Some("unsuccessful"));
        assert_eq!(outcome_of_state("Rolled Back"), Some("rolled_back"));
        assert_eq!(outcome_of_state("Closed Incomplete"), Some("unsuccessful"));
        assert_eq!(outcome_of_state("Closed"), None);
        assert_eq!(outcome_of_state("Completed"), None);
        assert_eq!(outcome_of_state("Cancelled"), None);
        assert_eq!(outcome_of_state("-1"), None);
    }

    #[test]
    fn keyword_rule() {
        for (t, c, raw, want) in [
            (
                "changes",
                "outcome",
                "Implemented - with issues",
                Some("successful_with_issues"),
            ),
            ("changes", "outcome", "Unsuccessful", Some("unsuccessful")),
            ("changes", "outcome", "Failed - rolled back", Some("rolled_back")),
            ("changes", "outcome", "Change will not be performed", Some("cancelled")),
            ("changes", "outcome", "Successful", Some("successful")),
            ("changes", "outcome", "Not completed", Some("unsuccessful")),
            (
                "changes",
                "outcome",
                "Implemented - not as planned",
                Some("successful_with_issues"),
            ),
            ("changes", "outcome", "Aborted", Some("unsuccessful")),
            ("changes", "outcome", "Change not required", Some("cancelled")),
            ("changes", "outcome", "No success", Some("unsuccessful")),
            ("changes", "outcome", "Unresolved", Some("unsuccessful")),
            ("changes", "outcome", "Completed - Caused Outage", Some("unsuccessful")),
            (
                "changes",
                "outcome",
                "Successful - Caused Incident",
                Some("unsuccessful"),
            ),
            (
                "changes",
                "outcome",
                "Successful with incident",
                Some("successful_with_issues"),
            ),
            ("changes", "state", "Implemented with issues", Some("review")),
            ("changes", "state", "Failed", Some("closed")),
            ("changes", "state", "Rolled Back", Some("closed")),
            ("changes", "state", "Awaiting implementation", Some("scheduled")),
            ("changes", "state", "Implementation in progress", Some("implement")),
            ("releases", "outcome", "Deployment failed", Some("failed")),
            ("changes", "state", "Awaiting Implementation", Some("scheduled")),
            ("changes", "state", "Work In Progress", Some("implement")),
            ("changes", "state", "Pending approval", Some("authorize")),
            ("incidents", "state", "Working On Case", Some("in_progress")),
            ("incidents", "state", "Waiting for customer", Some("on_hold")),
            ("changes", "change_type", "Pre-approved", Some("standard")),
            ("changes", "change_type", "Comprehensive", Some("normal")),
            ("changes", "risk", "Very High", Some("very_high")),
            ("changes", "state", "xyz", None),
            ("incidents", "priority", "P2 - High", Some("2")),
            ("incidents", "priority", "Lowest", Some("5")),
            ("incidents", "priority", "Highest", Some("1")),
            ("incidents", "title", "closed", None),
        ] {
            assert_eq!(keyword_value(t, c, raw), want, "{t}.{c} {raw:?}");
        }
    }
}
