#![no_main]
//! CSV: decoding (UTF-8, BOM, Windows-1252), delimiter sniffing, header row,
//! blank and ragged rows; then header detection against the built-in profiles.
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
    let path = Path::new("fuzz.csv");
    assert_eq!(read::detect_format(path, data), FileFormat::Csv);
    if let Ok(table) = read::read_table(path, data.to_vec(), FileFormat::Csv) {
        for row in &table.rows {
            assert!(row.line >= 1);
        }
        common::detect_and_map(profiles, &table);
    }
});
