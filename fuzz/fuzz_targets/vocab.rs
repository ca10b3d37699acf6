#![no_main]
//! Value vocabularies of the built-in profiles (exact, prefix `*`, default),
//! yes/no flags and leading integers such as `3 - Moderate`.
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use relkpi_parse::profile::Profile;
use relkpi_parse::values::{parse_bool, parse_int};

#[path = "common.rs"]
mod common;

static PROFILES: OnceLock<Vec<Profile>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let profiles = PROFILES.get_or_init(common::builtin_profiles);
    for p in profiles {
        for k in &p.kinds {
            for col in k.values.keys() {
                if let Some(v) = k.vocab(col, s) {
                    // Lookups ignore case and surrounding blanks.
                    let upper = k.vocab(col, &format!(" {} ", s.to_ascii_uppercase()));
                    assert_eq!(upper.as_deref(), Some(v.as_str()), "{col}: {s:?}");
                }
            }
        }
    }
    if let Some(n) = parse_int(s) {
        assert!(s.trim().starts_with(&n.to_string()) || s.trim().starts_with('-') || s.trim().starts_with('0'));
    }
    if let Some(b) = parse_bool(s) {
        assert_eq!(parse_bool(&s.to_ascii_uppercase()), Some(b));
    }
});
