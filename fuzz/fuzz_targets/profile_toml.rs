#![no_main]
//! Mapping profiles (`--profile FILE`): any TOML, then detection, mapping and
//! vocabulary lookups with the profile that parsed.
use libfuzzer_sys::fuzz_target;
use relkpi_parse::profile::{HeaderIndex, Profile};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let Ok(p) = Profile::from_toml(s, "fuzz.toml") else {
        return;
    };
    let _ = p.source_name();
    // Headers drawn from the profile itself, so detection succeeds sometimes.
    let mut headers: Vec<String> = Vec::new();
    for k in &p.kinds {
        headers.extend(k.detect.iter().flatten().cloned());
        headers.extend(k.columns.values().flat_map(|c| c.names()));
    }
    let idx = HeaderIndex::new(&headers);
    let row: Vec<String> = headers.iter().map(|h| format!("{h} 1")).collect();
    for k in &p.kinds {
        let _ = k.fit(&idx, Some(&row));
        let _ = k.resolve(&idx);
        for (col, table) in &k.values {
            for key in table.keys() {
                let _ = k.vocab(col, key);
                let _ = k.vocab(col, &key.to_uppercase());
            }
        }
    }
});
