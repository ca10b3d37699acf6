//! What a file's headers give the canonical table, and what the missing columns cost.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;

use super::Column;
use super::profile::{HeaderIndex, KindMap};

/// A file's headers against the canonical table: the columns used (canonical
/// column and the header feeding it), the headers ignored, the canonical
/// columns left empty, and the KPIs and policies that costs (`kpi::column_costs`).
#[derive(Debug, Clone, Serialize, Default)]
pub struct Coverage {
    pub used: Vec<ColumnUse>,
    pub ignored: Vec<String>,
    pub missing: Vec<String>,
    pub costs: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ColumnUse {
    pub column: String,
    pub header: String,
}

/// What `kind`'s mapping takes from a file with these headers (`resolved`:
/// canonical column -> header positions; `rules`: the canonical columns rules
/// set, with the header each reads).
pub(super) fn coverage(
    kind: &KindMap,
    columns: &[Column],
    headers: &[String],
    idx: &HeaderIndex,
    resolved: &BTreeMap<String, Vec<usize>>,
    rule_columns: &[(String, usize)],
) -> Result<Coverage> {
    let mut used: Vec<ColumnUse> = Vec::new();
    let mut taken = std::collections::BTreeSet::new();
    let mut take = |column: &str, pos: usize, used: &mut Vec<ColumnUse>| {
        taken.insert(pos);
        if !used.iter().any(|u| u.column == column) {
            used.push(ColumnUse {
                column: column.to_owned(),
                header: headers[pos].trim().to_owned(),
            });
        }
    };
    for c in columns {
        if let Some(pos) = resolved.get(&c.name) {
            for p in pos {
                take(&c.name, *p, &mut used);
            }
        }
    }
    for (col, pos) in rule_columns {
        take(col, *pos, &mut used);
    }
    // `ci` of changes feeds change_cis, not a column of the table.
    let ci = resolved.get("ci").filter(|_| !columns.iter().any(|c| c.name == "ci"));
    for p in ci.into_iter().flatten() {
        take("ci", *p, &mut used);
    }
    // Headers that steer the mapping without feeding a column are not ignored.
    for h in kind
        .version_by
        .iter()
        .chain(kind.filter.iter().map(|f| &f.header))
        .chain(kind.also_release.iter().map(|r| &r.when))
    {
        for p in idx.all(h) {
            taken.insert(*p);
        }
    }
    let ignored = headers
        .iter()
        .enumerate()
        .filter(|(i, h)| !h.trim().is_empty() && !taken.contains(i))
        .map(|(_, h)| h.trim().to_owned())
        .collect();
    let mut missing: Vec<String> = columns
        .iter()
        .map(|c| c.name.clone())
        .filter(|c| c != "source" && !used.iter().any(|u| &u.column == c))
        .collect();
    if kind.table == "changes" && ci.is_none() {
        missing.push("ci".to_owned());
    }
    let mut costs = crate::kpi::column_costs(&kind.table, &missing)?;
    if kind.table == "changes" && ci.is_none() && !used.iter().any(|u| u.column == "service") {
        costs.push(
            "incident attribution by CI window: no CI or service on these changes, explicit links only".to_owned(),
        );
    }
    Ok(Coverage {
        used,
        ignored,
        missing,
        costs,
    })
}
