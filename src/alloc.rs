//! The process's allocator: mimalloc, for Rust and (through its `override`
//! feature) for DuckDB's C++ allocations too, keeping freed pages for 250 ms
//! before they go back to the system: returning them at once (mimalloc's
//! 10 ms) for the kernel to zero them again on reuse cost a tenth of the
//! import's time, and never returning them made the import's peak 290 MB
//! higher at 10M changes (1.21 GB against 0.92 GB) for no time gained.
//!
//! And without transparent huge pages: mimalloc asks the kernel for them
//! (`madvise`), and a 2 MB page the allocator had partly returned is zeroed
//! whole when it is touched again. That zeroing took 10-21% of the CPU of an
//! import; without huge pages (mimalloc's `no_thp` feature, and the process's
//! own THP switched off for kernels that use them unasked), a monthly refresh
//! at 10M took 3.25 s instead of 4.0 s and the system time fell from 1.5 to
//! 0.4 s. The measurements behind these choices are in docs/benchmarks.md.

use std::ffi::{c_int, c_long};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

unsafe extern "C" {
    fn mi_option_set_default(option: c_int, value: c_long);
    #[cfg(target_os = "linux")]
    fn prctl(option: c_int, ...) -> c_int;
}

/// `PR_SET_THP_DISABLE` in linux/prctl.h.
#[cfg(target_os = "linux")]
const PR_SET_THP_DISABLE: c_int = 41;

/// `mi_option_purge_delay` in mimalloc.h (v2 and v3): milliseconds before
/// freed pages go back to the system; -1 never.
const MI_OPTION_PURGE_DELAY: c_int = 15;

/// How long freed pages are kept (see the module note).
const PURGE_DELAY_MS: c_long = 250;

/// Keep freed pages a while (see the module note) unless
/// `MIMALLOC_PURGE_DELAY` says otherwise, and no transparent huge pages.
/// Called first thing in `main`.
pub fn configure() {
    // SAFETY: sets one of mimalloc's options to a documented value; takes no
    // pointers. A value already read from the environment wins.
    unsafe { mi_option_set_default(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) }
    // SAFETY: PR_SET_THP_DISABLE takes one integer argument (then zeros) and
    // touches no memory of ours; a kernel without it returns an error, which
    // changes nothing.
    #[cfg(target_os = "linux")]
    unsafe {
        prctl(
            PR_SET_THP_DISABLE,
            1 as std::ffi::c_ulong,
            0 as std::ffi::c_ulong,
            0 as std::ffi::c_ulong,
            0 as std::ffi::c_ulong,
        );
    }
}
