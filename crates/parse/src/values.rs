//! Scalar values of export fields: yes/no flags and leading integers.

pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "1" => Some(true),
        "false" | "f" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// The leading integer of values such as `3 - Moderate`.
pub fn parse_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let end = t
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || (*i == 0 && *c == '-')))
        .map(|(i, _)| i)
        .unwrap_or(t.len());
    let n: i64 = t[..end].parse().ok()?;
    let rest = t[end..].trim_start();
    // "3 - Moderate", "3", "3.0"; not "3abc"
    if rest.is_empty() || rest.starts_with('-') || rest == ".0" {
        Some(n)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_integers() {
        assert_eq!(parse_int("3 - Moderate"), Some(3));
        assert_eq!(parse_int("1"), Some(1));
        assert_eq!(parse_int("4.0"), Some(4));
        assert_eq!(parse_int("4.5"), None);
        assert_eq!(parse_int("high"), None);
        assert_eq!(parse_int("-"), None);
    }

    #[test]
    fn flags() {
        assert_eq!(parse_bool(" Yes "), Some(true));
        assert_eq!(parse_bool("N"), Some(false));
        assert_eq!(parse_bool("maybe"), None);
    }
}
