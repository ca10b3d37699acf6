//! The SQL that ships inside the binary: `queries/` (schema migrations, KPIs,
//! policies, checks, benchmarks) and the built-in mapping profiles. Users add
//! policies from disk (see `config.rs`); everything else is read from here so the
//! binary works from any folder.

use include_dir::{Dir, include_dir};

static QUERIES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/queries");
static PROFILES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/profiles");
pub static SAMPLE_DATA: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/sample-data");

/// A named SQL file: `id` is the file stem.
#[derive(Debug, Clone)]
pub struct SqlFile {
    pub id: String,
    pub origin: String,
    pub sql: String,
}

/// The `.sql` files of one `queries/` folder, sorted by name.
pub fn sql_files(folder: &str) -> Vec<SqlFile> {
    let Some(dir) = QUERIES.get_dir(folder) else {
        return Vec::new();
    };
    let mut files: Vec<SqlFile> = dir
        .files()
        .filter(|f| f.path().extension().is_some_and(|e| e == "sql"))
        .filter_map(|f| {
            Some(SqlFile {
                id: f.path().file_stem()?.to_string_lossy().into_owned(),
                origin: format!("queries/{}", f.path().display()),
                sql: f.contents_utf8()?.to_owned(),
            })
        })
        .collect();
    files.sort_by(|a, b| a.id.cmp(&b.id));
    files
}

/// A text file under `queries/`, e.g. `benchmarks/dora_bands.csv`.
pub fn text(path: &str) -> Option<&'static str> {
    QUERIES.get_file(path).and_then(|f| f.contents_utf8())
}

/// Built-in mapping profiles as (name, TOML text).
pub fn builtin_profiles() -> Vec<(String, &'static str)> {
    let mut v: Vec<(String, &'static str)> = PROFILES
        .files()
        .filter(|f| f.path().extension().is_some_and(|e| e == "toml"))
        .filter_map(|f| Some((f.path().file_stem()?.to_string_lossy().into_owned(), f.contents_utf8()?)))
        .collect();
    v.sort();
    v
}

/// The statements of one of our SQL files, in order: whole-line `--` comments
/// dropped, a statement ending at a line that ends with `;`. For files whose
/// statements are run one at a time (queries/session/attribution_build.sql and
/// attribution_macros.sql are run in pairs); not a general SQL splitter.
pub fn statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in sql.lines().filter(|l| !l.trim_start().starts_with("--")) {
        cur.push_str(line);
        cur.push('\n');
        if line.trim_end().ends_with(';') {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn statements_split_at_line_ends_and_skip_comments() {
        let s = super::statements("-- a; comment;\ncreate table a as\nselect 1;\n\n-- b\ncreate macro m() as 1;\n");
        assert_eq!(s, vec!["create table a as\nselect 1;\n", "\ncreate macro m() as 1;\n"]);
    }
}
