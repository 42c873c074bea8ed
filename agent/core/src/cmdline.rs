//! The kernel command line tokenizer.
//!
//! Follows the kernel's own rules (lib/cmdline.c `next_arg` and
//! init/main.c): words are split on whitespace outside double quotes; a
//! quote opening a word or a value is dropped together with the quote that
//! ends the word; quotes elsewhere are kept. The first bare `--` ends the
//! kernel's parameters: every later word is an argument for init.

use std::fmt;

/// One `key` or `key=value` word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub key: String,
    pub value: Option<String>,
}

/// A tokenized command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cmdline {
    pub params: Vec<Param>,
    /// Words after `--`, verbatim (quotes handled as for params).
    pub init_args: Vec<String>,
}

impl Cmdline {
    /// Tokenizes a command line. Never fails: any text is some cmdline.
    pub fn parse(text: &str) -> Cmdline {
        let mut out = Cmdline::default();
        let mut rest = text;
        let mut after_dashes = false;
        while let Some((word, tail)) = next_word(rest) {
            rest = tail;
            if after_dashes {
                out.init_args.push(word.key_and_value());
            } else if word.key == "--" && word.value.is_none() {
                after_dashes = true;
            } else {
                out.params.push(word);
            }
        }
        out
    }

    /// The last `key=value` for `key` (later words override earlier ones,
    /// as for the kernel's own parameters). A bare `key` yields `Some(None)`.
    pub fn get(&self, key: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .rev()
            .find(|p| p.key == key)
            .map(|p| p.value.as_deref())
    }

    /// The last value of `key`, if it was given with `=`.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.get(key).flatten()
    }

    /// True when `key` appears at all, with or without a value.
    pub fn has(&self, key: &str) -> bool {
        self.params.iter().any(|p| p.key == key)
    }
}

impl Param {
    fn key_and_value(&self) -> String {
        match &self.value {
            Some(v) => format!("{}={v}", self.key),
            None => self.key.clone(),
        }
    }
}

/// Renders a cmdline the kernel would tokenize back into the same words
/// (for words without double quotes).
impl fmt::Display for Cmdline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut words: Vec<String> = self.params.iter().map(render_param).collect();
        if !self.init_args.is_empty() {
            words.push("--".to_owned());
            words.extend(self.init_args.iter().map(|a| quote_if_needed(a)));
        }
        f.write_str(&words.join(" "))
    }
}

fn render_param(p: &Param) -> String {
    match &p.value {
        None => quote_if_needed(&p.key),
        Some(v) if p.key.contains(char::is_whitespace) => format!("\"{}={v}\"", p.key),
        Some(v) => format!("{}={}", p.key, quote_if_needed(v)),
    }
}

fn quote_if_needed(s: &str) -> String {
    if s.is_empty() || s.contains(char::is_whitespace) {
        format!("\"{s}\"")
    } else {
        s.to_owned()
    }
}

/// Kernel `isspace`: the C locale's whitespace set.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// Splits off the next word, kernel style. Returns `None` at the end.
fn next_word(text: &str) -> Option<(Param, &str)> {
    let text = text.trim_start_matches(is_space);
    if text.is_empty() {
        return None;
    }
    let (body, quoted) = match text.strip_prefix('"') {
        Some(b) => (b, true),
        None => (text, false),
    };
    let mut in_quote = quoted;
    let mut equals = None;
    let mut end = body.len();
    for (i, c) in body.char_indices() {
        if is_space(c) && !in_quote {
            end = i;
            break;
        }
        if equals.is_none() && c == '=' {
            equals = Some(i);
        }
        if c == '"' {
            in_quote = !in_quote;
        }
    }
    let word = &body[..end];
    let tail = &body[end..];
    // The kernel drops a closing quote at the end of the word when the word
    // or its value was opened by a quote.
    let param = match equals {
        None => Param {
            key: strip_closing(word, quoted).to_owned(),
            value: None,
        },
        Some(eq) => {
            let key = &word[..eq];
            let raw = &word[eq + 1..];
            let (value, value_quoted) = match raw.strip_prefix('"') {
                Some(v) => (v, true),
                None => (raw, false),
            };
            Param {
                key: key.to_owned(),
                value: Some(strip_closing(value, quoted || value_quoted).to_owned()),
            }
        }
    };
    Some((param, tail))
}

fn strip_closing(s: &str, opened: bool) -> &str {
    if opened {
        s.strip_suffix('"').unwrap_or(s)
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(key: &str, value: Option<&str>) -> Param {
        Param {
            key: key.to_owned(),
            value: value.map(str::to_owned),
        }
    }

    #[test]
    fn kernel_tokenizer_table() {
        let cases: &[(&str, &[Param], &[&str])] = &[
            ("", &[], &[]),
            ("   \t\n ", &[], &[]),
            ("quiet", &[p("quiet", None)], &[]),
            ("a=1  b=2", &[p("a", Some("1")), p("b", Some("2"))], &[]),
            ("a=", &[p("a", Some(""))], &[]),
            ("a==b", &[p("a", Some("=b"))], &[]),
            (r#"x="a b" y"#, &[p("x", Some("a b")), p("y", None)], &[]),
            (r#""x=a b" y"#, &[p("x", Some("a b")), p("y", None)], &[]),
            (r#""spaced word""#, &[p("spaced word", None)], &[]),
            // Quotes inside a word are kept, and still group whitespace.
            (r#"a"b c"d"#, &[p(r#"a"b c"d"#, None)], &[]),
            (r#"x=a"b c""#, &[p("x", Some(r#"a"b c""#))], &[]),
            // An unterminated quote runs to the end of the line.
            (r#"x="a b"#, &[p("x", Some("a b"))], &[]),
            (
                "root=/dev/nfs -- single -s",
                &[p("root", Some("/dev/nfs"))],
                &["single", "-s"],
            ),
            ("-- a -- b", &[], &["a", "--", "b"]),
            // `--=x` is a parameter, not the separator.
            ("--=x y", &[p("--", Some("x")), p("y", None)], &[]),
            ("a -- \"b c\" d=e", &[p("a", None)], &["b c", "d=e"]),
        ];
        for (text, params, init) in cases {
            let c = Cmdline::parse(text);
            assert_eq!(c.params, *params, "{text:?}");
            assert_eq!(
                c.init_args,
                init.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn last_occurrence_wins() {
        let c = Cmdline::parse("ip=dhcp ip=off toram quiet=1");
        assert_eq!(c.value("ip"), Some("off"));
        assert_eq!(c.get("toram"), Some(None));
        assert!(c.has("quiet"));
        assert_eq!(c.get("nope"), None);
    }

    #[test]
    fn real_cmdline_with_newline() {
        // /proc/cmdline ends with a newline.
        let c = Cmdline::parse(
            "BOOT_IMAGE=/vmlinuz boot=casper netboot=nfs nfsroot=10.0.0.1:/srv/ubuntu ip=dhcp quiet splash ---\n",
        );
        assert_eq!(c.params.len(), 8);
        assert_eq!(c.value("nfsroot"), Some("10.0.0.1:/srv/ubuntu"));
        assert_eq!(c.params[7], p("---", None));
    }

    fn word() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9_.:/,%-]{1,12}"
    }

    proptest! {
        #[test]
        fn render_round_trips(
            params in proptest::collection::vec((word(), proptest::option::of("[a-zA-Z0-9 _.:/,=-]{0,12}")), 0..8),
            init in proptest::collection::vec("[a-zA-Z0-9 _.=-]{1,10}", 0..4),
        ) {
            let c = Cmdline {
                params: params.into_iter().filter(|(k, _)| k != "--").map(|(key, value)| Param { key, value }).collect(),
                init_args: init.into_iter().filter(|a| !a.trim().is_empty() && a.trim() == a).collect(),
            };
            prop_assert_eq!(Cmdline::parse(&c.to_string()), c);
        }

        #[test]
        fn never_panics(text in "\\PC*") {
            let c = Cmdline::parse(&text);
            // Every byte of a word comes from the input.
            for p in &c.params {
                prop_assert!(p.key.len() <= text.len());
            }
        }
    }
}
