//! `src/queries.rs` embeds `queries/`, `profiles/` and `sample-data/` with
//! `include_dir!`, whose files rustc tracks one by one: a file *added* to one of
//! them would not rebuild the binary. Cargo watches a directory named here as a
//! whole (any file in it, added or changed).
fn main() {
    for dir in ["queries", "profiles", "sample-data"] {
        println!("cargo:rerun-if-changed={dir}");
    }
}
