//! The parsers relkpi owns, apart from the warehouse: reading export files
//! (gzip, encodings, CSV sniffing, JSON records, XLSX sheets), dates, mapping
//! profiles (TOML) and their value vocabularies, scalar values, and periods.
//!
//! Kept free of DuckDB so that `fuzz/` can build and instrument them in
//! seconds rather than rebuild the database engine.

pub mod dates;
pub mod period;
pub mod profile;
pub mod read;
pub mod values;

/// The 1-based line a TOML error points at (0 when it has no position), for
/// messages naming the file and line of a profile or configuration file.
pub fn toml_error_line(text: &str, e: &toml::de::Error) -> usize {
    e.span()
        .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
        .unwrap_or(0)
}

/// The key column of a canonical table.
pub fn key_column(table: &str) -> &'static str {
    match table {
        "releases" => "release_id",
        "changes" => "change_id",
        "incidents" => "incident_id",
        _ => "response_id",
    }
}

/// The canonical table for a `--kind` value; singular names and the ServiceNow
/// table names are accepted too.
pub fn kind_table(kind: &str) -> Option<&'static str> {
    Some(match kind.trim().to_lowercase().as_str() {
        "releases" | "release" | "rm_release" => "releases",
        "changes" | "change" | "change_request" => "changes",
        "incidents" | "incident" => "incidents",
        "satisfaction" | "survey" | "surveys" | "responses" => "satisfaction",
        _ => return None,
    })
}
