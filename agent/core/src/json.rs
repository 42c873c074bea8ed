//! A minimal JSON writer.
//!
//! The agent prints a few small documents (`explain --json`, `net --json`).
//! serde + serde_json would cost more of the /init size budget than this
//! whole module, and we never need to *parse* JSON in the agent.

use std::fmt::{self, Write as _};

/// A JSON value. Objects keep insertion order so output is stable.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Starts an empty object; chain [`Json::with`] to fill it.
    pub fn object() -> Self {
        Json::Object(Vec::new())
    }

    /// Adds `key: value` to an object. On a non-object this is a no-op,
    /// which keeps builders panic-free.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<Json>) -> Self {
        if let Json::Object(fields) = &mut self {
            fields.push((key.to_owned(), value.into()));
        }
        self
    }

    /// Renders with two-space indentation and a trailing newline.
    pub fn to_pretty(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = self.write(&mut out, Some(0));
        out.push('\n');
        out
    }

    fn write(&self, out: &mut String, indent: Option<usize>) -> fmt::Result {
        match self {
            Json::Null => out.write_str("null"),
            Json::Bool(b) => write!(out, "{b}"),
            Json::Int(n) => write!(out, "{n}"),
            Json::Str(s) => write_str(out, s),
            Json::Array(items) => {
                if items.is_empty() {
                    return out.write_str("[]");
                }
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, indent.map(|n| n + 1));
                    item.write(out, indent.map(|n| n + 1))?;
                }
                newline(out, indent);
                out.write_char(']')
            }
            Json::Object(fields) => {
                if fields.is_empty() {
                    return out.write_str("{}");
                }
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, indent.map(|n| n + 1));
                    write_str(out, key)?;
                    out.push(':');
                    if indent.is_some() {
                        out.push(' ');
                    }
                    value.write(out, indent.map(|n| n + 1))?;
                }
                newline(out, indent);
                out.write_char('}')
            }
        }
    }
}

fn newline(out: &mut String, indent: Option<usize>) {
    if let Some(n) = indent {
        out.push('\n');
        for _ in 0..n {
            out.push_str("  ");
        }
    }
}

fn write_str(out: &mut String, s: &str) -> fmt::Result {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32)?,
            c => out.push(c),
        }
    }
    out.write_char('"')
}

/// Compact, single-line rendering.
impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        self.write(&mut out, None)?;
        f.write_str(&out)
    }
}

impl From<bool> for Json {
    fn from(b: bool) -> Self {
        Json::Bool(b)
    }
}
impl From<&str> for Json {
    fn from(s: &str) -> Self {
        Json::Str(s.to_owned())
    }
}
impl From<String> for Json {
    fn from(s: String) -> Self {
        Json::Str(s)
    }
}
impl From<&String> for Json {
    fn from(s: &String) -> Self {
        Json::Str(s.clone())
    }
}
macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Json {
            fn from(n: $t) -> Self {
                Json::Int(i64::from(n))
            }
        }
    )*};
}
from_int!(u8, u16, u32, i32, i64);
impl From<u64> for Json {
    fn from(n: u64) -> Self {
        Json::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }
}
impl From<usize> for Json {
    fn from(n: usize) -> Self {
        Json::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }
}
impl From<std::net::Ipv4Addr> for Json {
    fn from(a: std::net::Ipv4Addr) -> Self {
        Json::Str(a.to_string())
    }
}
impl From<std::net::IpAddr> for Json {
    fn from(a: std::net::IpAddr) -> Self {
        Json::Str(a.to_string())
    }
}
impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(v: Option<T>) -> Self {
        v.map_or(Json::Null, Into::into)
    }
}
impl<T: Into<Json>> From<Vec<T>> for Json {
    fn from(v: Vec<T>) -> Self {
        Json::Array(v.into_iter().map(Into::into).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_and_pretty() {
        let doc = Json::object()
            .with("a", "x\"y\n")
            .with("b", vec![1u32, 2])
            .with("c", Option::<u32>::None)
            .with("d", Json::object());
        assert_eq!(
            doc.to_string(),
            r#"{"a":"x\"y\n","b":[1,2],"c":null,"d":{}}"#
        );
        assert_eq!(
            doc.to_pretty(),
            "{\n  \"a\": \"x\\\"y\\n\",\n  \"b\": [\n    1,\n    2\n  ],\n  \"c\": null,\n  \"d\": {}\n}\n"
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(Json::from("\u{1}").to_string(), r#""\u0001""#);
    }
}
