//! The process's allocator: mimalloc, for Rust and (through its `override`
//! feature) for DuckDB's C++ allocations too.
//!
//! Measured on the benchmark's million changes (README, "Benchmark"): glibc's
//! malloc spent the import's time in free lists and arena locks (`_int_free`,
//! `malloc_consolidate`); mimalloc took the import from 32-34 s to 26-27 s and
//! its peak from 1.43 to 1.19 GB. Its default then returns freed pages to the
//! system 10 ms later, and the kernel zeroes them again when they are reused
//! (`clear_page_erms`, a tenth of the import's samples; 200,000 page faults).
//! Without that purge, alternated with it on the same files: the import 22.3 to
//! 26.1 s against 22.1 to 27.1 s (means of four: 24.2 and 24.9 s), the report
//! 9.9-10.0 s against 10.5-10.6 s, for 50-65 MB (import) and 90-170 MB
//! (report) more at their peaks; at 10M changes the report's peak is 5.3 GB
//! instead of 4.1 GB (60.8 -> 54.4 s), under the import's 10.9 GB. relkpi is
//! a batch process, so it keeps the pages until it exits.

use std::ffi::{c_int, c_long};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

unsafe extern "C" {
    fn mi_option_set_default(option: c_int, value: c_long);
}

/// `mi_option_purge_delay` in mimalloc.h (v2 and v3): milliseconds before
/// freed pages go back to the system; -1 never.
const MI_OPTION_PURGE_DELAY: c_int = 15;

/// Keep freed pages (see the module note) unless `MIMALLOC_PURGE_DELAY` says
/// otherwise. Called first thing in `main`.
pub fn configure() {
    // SAFETY: sets one of mimalloc's options to a documented value; takes no
    // pointers. A value already read from the environment wins.
    unsafe { mi_option_set_default(MI_OPTION_PURGE_DELAY, -1) }
}
