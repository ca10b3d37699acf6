//! The process's allocator: mimalloc, for Rust and (through its `override`
//! feature) for DuckDB's C++ allocations too, keeping freed pages for 250 ms
//! before they go back to the system: returning them at once (mimalloc's
//! 10 ms) for the kernel to zero them again on reuse cost a tenth of the
//! import's time, and never returning them made the import's peak 290 MB
//! higher at 10M changes (1.21 GB against 0.92 GB) for no time gained.
//! The measurements behind these choices are in docs/benchmarks.md.

use std::ffi::{c_int, c_long};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

unsafe extern "C" {
    fn mi_option_set_default(option: c_int, value: c_long);
}

/// `mi_option_purge_delay` in mimalloc.h (v2 and v3): milliseconds before
/// freed pages go back to the system; -1 never.
const MI_OPTION_PURGE_DELAY: c_int = 15;

/// How long freed pages are kept (see the module note).
const PURGE_DELAY_MS: c_long = 250;

/// Keep freed pages a while (see the module note) unless
/// `MIMALLOC_PURGE_DELAY` says otherwise. Called first thing in `main`.
pub fn configure() {
    // SAFETY: sets one of mimalloc's options to a documented value; takes no
    // pointers. A value already read from the environment wins.
    unsafe { mi_option_set_default(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) }
}
