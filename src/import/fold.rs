//! Fold the versions and rows of one record into one: newest `updated_at`
//! wins; grouped rows (one row per CI) merge.

use std::collections::HashMap;

use super::map::add_cis;
use super::{Cell, Record};

/// Fold the rows of one record: grouped rows of one version merge (first
/// non-empty value wins, all CIs kept), and the latest version's rows win;
/// otherwise the latest version wins (updated_at, then the profile's version
/// headers, then file order). Returns (records, folded, exact duplicates).
pub(super) fn fold(records: Vec<Record>, key: usize, updated: Option<usize>, group: bool) -> (Vec<Record>, u64, u64) {
    // Most files hold each record once: when every key is distinct text there is
    // nothing to fold, and the records stay as they are (no keyed copy of them).
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::with_capacity(records.len());
    let distinct = records.iter().all(|r| match &r.values[key] {
        Cell::Text(s) => seen.insert(&**s),
        _ => false,
    });
    drop(seen);
    if distinct {
        return (records, 0, 0);
    }
    let key_of = |r: &Record| match &r.values[key] {
        Cell::Text(s) => s.to_string(),
        v => format!("{v:?}"),
    };
    let stamp = |x: &Record| match updated.map(|u| &x.values[u]) {
        Some(Cell::Timestamp(t)) => *t,
        _ => i64::MIN,
    };
    let mut order: Vec<String> = Vec::new();
    let mut by_key: HashMap<String, Record> = HashMap::with_capacity(records.len());
    let (mut folded, mut dups) = (0u64, 0u64);
    for r in records {
        let k = key_of(&r);
        match by_key.get_mut(&k) {
            None => {
                order.push(k.clone());
                by_key.insert(k, r);
            }
            Some(kept) if group => {
                folded += 1;
                // The rows of one version merge; a newer version's rows
                // replace an older one's (CIs too), an older one's are dropped.
                match (stamp(&r), &r.version).partial_cmp(&(stamp(kept), &kept.version)) {
                    Some(std::cmp::Ordering::Greater) => {
                        *kept = r;
                        continue;
                    }
                    Some(std::cmp::Ordering::Less) => continue,
                    _ => {}
                }
                for (a, b) in kept.values.iter_mut().zip(r.values) {
                    if a.is_null() {
                        *a = b;
                    }
                }
                add_cis(&mut kept.cis, r.cis);
                kept.release |= r.release;
            }
            Some(kept) => {
                if kept.values == r.values {
                    if r.cis.iter().all(|c| kept.cis.contains(c)) {
                        dups += 1;
                        continue;
                    }
                    // The same record again with other CIs (one row per CI):
                    // one record affecting all of them.
                    add_cis(&mut kept.cis, r.cis);
                    folded += 1;
                    continue;
                }
                folded += 1;
                // Ties go to the later row.
                let order = (stamp(&r), &r.version).partial_cmp(&(stamp(kept), &kept.version));
                if order != Some(std::cmp::Ordering::Less) {
                    *kept = r;
                }
            }
        }
    }
    let out = order.into_iter().filter_map(|k| by_key.remove(&k)).collect();
    (out, folded, dups)
}
