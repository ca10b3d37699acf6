#![no_main]
//! XLSX: whatever bytes arrive under an .xlsx name (zips of other things,
//! truncated workbooks) end in a table or an error, never a panic.
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use relkpi_parse::read::{self, FileFormat};

fuzz_target!(|data: &[u8]| {
    let _ = read::read_table(Path::new("fuzz.xlsx"), data.to_vec(), FileFormat::Xlsx);
});
