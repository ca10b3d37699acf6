#![no_main]
//! JSON: record arrays, `{"records": [...]}` / `{"result": [...]}` wrappers,
//! nested values flattened to text, deep nesting; then header detection.
use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use relkpi_parse::profile::Profile;
use relkpi_parse::read::{self, FileFormat};

#[path = "common.rs"]
mod common;

static PROFILES: OnceLock<Vec<Profile>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let profiles = PROFILES.get_or_init(common::builtin_profiles);
    let _ = read::detect_format(Path::new("export"), data);
    if let Ok(table) = read::read_table(Path::new("fuzz.json"), data.to_vec(), FileFormat::Json) {
        for row in &table.rows {
            assert!(row.fields.len() <= table.headers.len().max(1));
        }
        common::detect_and_map(profiles, &table);
    }
});
