#![no_main]
//! XLSX: whatever bytes arrive under an .xlsx name (zips of other things,
//! truncated workbooks, cells beyond Excel's limits) end in a table or an
//! error, never a panic of ours and never the sheet's spanned rectangle in
//! memory.
use std::path::Path;
use std::sync::Once;

use libfuzzer_sys::fuzz_target;
use relkpi_parse::read::{self, FileFormat, MAX_XLSX_FIELDS};

static HOOK: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    // relkpi catches panics inside calamine (it overflows on some malformed
    // cell references in debug builds) and reports the file as malformed;
    // libFuzzer's hook would abort on them first. Any other panic still aborts.
    HOOK.call_once(|| {
        let fuzzer_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.location().is_some_and(|l| l.file().contains("/calamine-")) {
                return;
            }
            fuzzer_hook(info);
        }));
    });
    if let Ok(t) = read::read_table(Path::new("fuzz.xlsx"), data.to_vec(), FileFormat::Xlsx) {
        let fields: usize = t.rows.iter().map(|r| r.fields.len()).sum();
        assert!(fields as u64 + t.headers.len() as u64 <= MAX_XLSX_FIELDS);
    }
});
