//! Shell-glob matching for modalias patterns, as modprobe does it with
//! fnmatch(3) and no flags: `*`, `?`, `[...]` with ranges and `[!...]`/
//! `[^...]`, and `\` escaping the next character.
//!
//! An unterminated `[` matches itself, as POSIX says. (glibc deviates on
//! some unterminated brackets; depmod never writes one, so the libc
//! proptest compares well-formed patterns.)

/// True when `text` matches `pattern`. Iterative with one backtrack point
/// for `*`, so it is linear-ish and cannot blow the stack.
pub fn fnmatch(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    // Where to resume after the last `*`: (pattern index after it, text index).
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        let step = match p.get(pi) {
            Some('*') => {
                star = Some((pi + 1, ti));
                pi += 1;
                continue;
            }
            Some('?') => Some(1),
            Some('[') => match class(&p, pi, t[ti]) {
                Some((true, len)) => Some(len),
                Some((false, _)) => None,
                // An unterminated `[` is a literal, as in glibc.
                None => (t[ti] == '[').then_some(1),
            },
            Some('\\') => match p.get(pi + 1) {
                Some(&c) if c == t[ti] => Some(2),
                Some(_) => None,
                None => (t[ti] == '\\').then_some(1),
            },
            Some(&c) => (c == t[ti]).then_some(1),
            None => None,
        };
        match step {
            Some(len) => {
                pi += len;
                ti += 1;
            }
            None => match star {
                // Let the last `*` swallow one more character and retry.
                Some((sp, st)) => {
                    pi = sp;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Matches `c` against the bracket expression at `p[start]` (`[`).
/// Returns (matched, length of the expression), or `None` if unterminated.
fn class(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let lo = *p.get(i)?;
        // `]` right after `[` or `[!` is a member, not the end.
        if lo == ']' && !first {
            return Some((matched != negate, i + 1 - start));
        }
        first = false;
        let lo = if lo == '\\' {
            i += 1;
            *p.get(i)?
        } else {
            lo
        };
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|&h| h != ']') {
            let hi = *p.get(i + 2)?;
            if lo <= c && c <= hi {
                matched = true;
            }
            i += 3;
        } else {
            if lo == c {
                matched = true;
            }
            i += 1;
        }
    }
}

/// The literal text before the first wildcard: a cheap pre-filter.
pub fn literal_prefix(pattern: &str) -> &str {
    let end = pattern.find(['*', '?', '[', '\\']).unwrap_or(pattern.len());
    &pattern[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table() {
        for (pat, text, want) in [
            ("", "", true),
            ("", "a", false),
            ("*", "", true),
            ("*", "anything", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            (
                "pci:v00008086d0000100Esv*sd*bc*sc*i*",
                "pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00",
                true,
            ),
            (
                "pci:v00008086d0000100Esv*sd*bc*sc*i*",
                "pci:v00008086d0000100Fsv00001AF4sd00001100bc02sc00i00",
                false,
            ),
            ("virtio:d00000001v*", "virtio:d00000001v00001AF4", true),
            ("[a-c]x", "bx", true),
            ("[a-c]x", "dx", false),
            ("[!a-c]x", "dx", true),
            ("[^a-c]x", "ax", false),
            ("[]]", "]", true),
            ("[!]]", "a", true),
            ("[a-]", "-", true),
            ("[", "[", true),
            // POSIX: an unterminated bracket is a literal `[`.
            ("[*", "[x", true),
            ("\\*", "*", true),
            ("\\*", "a", false),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("*abc", "ababc", true),
            (
                "usb:v0BDAp8153d*dc*dsc*dp*ic02isc06ip00in*",
                "usb:v0BDAp8153d3000dc00dsc00dp00ic02isc06ip00in00",
                true,
            ),
        ] {
            assert_eq!(fnmatch(pat, text), want, "fnmatch({pat:?}, {text:?})");
        }
    }

    #[test]
    fn prefixes() {
        assert_eq!(literal_prefix("pci:v00008086d*"), "pci:v00008086d");
        assert_eq!(literal_prefix("abc"), "abc");
        assert_eq!(literal_prefix("*x"), "");
    }

    fn libc_fnmatch(pattern: &str, text: &str) -> bool {
        let p = std::ffi::CString::new(pattern).unwrap();
        let t = std::ffi::CString::new(text).unwrap();
        // SAFETY: both arguments are valid NUL-terminated strings that outlive the call.
        unsafe { libc::fnmatch(p.as_ptr(), t.as_ptr(), 0) == 0 }
    }

    /// A well-formed glob: literals, `*`, `?` and closed bracket
    /// expressions (with negation, ranges, and `]` as a first member).
    fn glob() -> impl Strategy<Value = String> {
        let lit = proptest::sample::select(vec!["a", "b", "-", "!", "^"]).prop_map(str::to_owned);
        let member = prop_oneof!["[ab!^-]".prop_map(|s| s), "[ab]-[ab]".prop_map(|s| s)];
        let bracket = (
            proptest::option::of(proptest::sample::select(vec!["!", "^"])),
            any::<bool>(),
            proptest::collection::vec(member, 1..3),
        )
            .prop_map(|(neg, close_first, members)| {
                format!(
                    "[{}{}{}]",
                    neg.unwrap_or(""),
                    if close_first { "]" } else { "" },
                    members.concat()
                )
            });
        let token = prop_oneof![4 => lit, 2 => Just("*".to_owned()), 1 => Just("?".to_owned()), 2 => bracket];
        proptest::collection::vec(token, 0..6).prop_map(|t| t.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20000))]
        // Texts from the same small alphabet so matches are common.
        #[test]
        fn agrees_with_libc(pattern in glob(), text in "[ab\\]!^-]{0,8}") {
            prop_assert_eq!(fnmatch(&pattern, &text), libc_fnmatch(&pattern, &text), "pattern {:?} text {:?}", pattern, text);
        }

        #[test]
        fn agrees_with_libc_on_modalias_shapes(
            pattern in "(pci|usb|virtio):[v0-9A-F*?]{0,6}(d[0-9*]{0,4})?[*]?",
            text in "(pci|usb|virtio):v[0-9A-F]{4}d[0-9]{4}",
        ) {
            prop_assert_eq!(fnmatch(&pattern, &text), libc_fnmatch(&pattern, &text));
        }

        #[test]
        fn prefix_is_necessary(pattern in "[ab*?]{0,8}", text in "[ab]{0,8}") {
            if fnmatch(&pattern, &text) {
                prop_assert!(text.starts_with(literal_prefix(&pattern)));
            }
        }
    }
}
