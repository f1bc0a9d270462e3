//! TOML as `mentord import` writes it: strings and keys quoted as TOML wants them, and
//! the bytes each line will take, so a sheet too large for a program file is refused
//! before it is written.

/// The bytes of a row's table line (`[people.KEY]`, `[[pairs]]`) as the writer writes
/// it, with the blank line before it.
pub fn table_len(header: &str) -> usize {
    header.len() + 2
}

/// The bytes of a `column = "text"` line as the writer writes it.
pub fn string_line_len(column: &str, text: &str) -> usize {
    raw_line_len(column, &quoted(text))
}

/// The bytes of a `column = value` line, the value already in TOML syntax.
pub fn raw_line_len(column: &str, value: &str) -> usize {
    column.len() + " = ".len() + value.len() + 1
}

/// A TOML array of strings: `["A", "B"]`.
pub fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| quoted(i)).collect();
    format!("[{}]", quoted.join(", "))
}

/// A TOML basic string: `"` and `\` escaped, controls as escapes, the rest as is.
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A table key: bare when TOML allows it, quoted otherwise (`"grace.hopper"`).
pub fn key(id: &str) -> String {
    let bare = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if bare { id.to_string() } else { quoted(id) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_keys_are_valid_toml() {
        assert_eq!(
            quoted("Grace \"Amazing\" Hopper"),
            r#""Grace \"Amazing\" Hopper""#
        );
        assert_eq!(quoted("a\\b\nc\u{7}"), r#""a\\b\nc\u0007""#);
        assert_eq!(key("grace_h-1"), "grace_h-1");
        assert_eq!(key("grace.hopper"), "\"grace.hopper\"");
        assert_eq!(key("line 3: a second ada"), "\"line 3: a second ada\"");
    }
}
