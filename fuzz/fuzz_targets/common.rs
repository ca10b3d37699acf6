// Shared by the targets: relkpi's built-in profiles, and the header detection
// and per-row vocabulary work the importer does with them.
use relkpi_parse::profile::{HeaderIndex, Profile};
use relkpi_parse::read::RawTable;

pub fn builtin_profiles() -> Vec<Profile> {
    [
        include_str!("../../profiles/servicenow.toml"),
        include_str!("../../profiles/hpsm.toml"),
        include_str!("../../profiles/jira.toml"),
        include_str!("../../profiles/bmc.toml"),
        include_str!("../../profiles/freshservice.toml"),
    ]
    .iter()
    .map(|t| Profile::from_toml(t, "built-in").expect("built-in profiles parse"))
    .collect()
}

/// Header detection and mapping as `relkpi import` does it, on a table read.
#[allow(dead_code)] // not every target reads tables
pub fn detect_and_map(profiles: &[Profile], table: &RawTable) {
    let idx = HeaderIndex::new(&table.headers);
    let first: Option<Vec<String>> = table.rows.first().map(|r| r.fields.iter().map(str::to_owned).collect());
    for p in profiles {
        for k in &p.kinds {
            if k.fit(&idx, first.as_deref()).is_some() {
                let resolved = k.resolve(&idx);
                for row in table.rows.iter().take(50) {
                    for (col, srcs) in &resolved {
                        for s in srcs {
                            let v = row.fields.get(*s).unwrap_or("");
                            let _ = k.vocab(col, v);
                        }
                    }
                }
            }
        }
    }
}
