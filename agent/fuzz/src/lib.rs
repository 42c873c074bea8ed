//! Checks shared by the fuzz targets: small parsers for the formats netinit
//! writes, strict enough that a malformed file fails them.

/// The klibc `/run/net-IFACE.conf` keys, in the order klibc writes them.
pub const KLIBC_KEYS: [&str; 17] = [
    "DEVICE",
    "PROTO",
    "IPV4ADDR",
    "IPV4BROADCAST",
    "IPV4NETMASK",
    "IPV4GATEWAY",
    "IPV4DNS0",
    "IPV4DNS1",
    "HOSTNAME",
    "DNSDOMAIN",
    "NISDOMAIN",
    "ROOTSERVER",
    "ROOTPATH",
    "filename",
    "UPTIME",
    "DHCPLEASETIME",
    "DOMAINSEARCH",
];

/// Parses a file of `NAME='value'` lines as POSIX sh would: each value is
/// single-quoted strings and backslash-escaped characters, nothing else (no
/// expansion, no second command). Returns the assignments in order.
pub fn klibc_assignments(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while chars.peek().is_some() {
        let mut name = String::new();
        loop {
            match chars.next() {
                Some('=') => break,
                Some(c) if c.is_ascii_alphanumeric() || c == '_' => name.push(c),
                other => return Err(format!("bad name character {other:?} after {name:?}")),
            }
        }
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(format!("bad name {name:?}"));
        }
        let mut value = String::new();
        loop {
            match chars.next() {
                Some('\'') => loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => value.push(c),
                        None => return Err(format!("unterminated quote in {name}")),
                    }
                },
                Some('\\') => match chars.next() {
                    Some('\n') | None => return Err(format!("line continuation in {name}")),
                    Some(c) => value.push(c),
                },
                Some('\n') => break,
                other => return Err(format!("unquoted {other:?} in {name}")),
            }
        }
        out.push((name, value));
    }
    Ok(out)
}

/// resolv.conf: comments, `search` and at most three `nameserver` lines,
/// every word printable and free of control characters.
pub fn assert_resolv_conf(text: &str) {
    let mut servers = 0;
    for line in text.lines() {
        assert!(
            !line.chars().any(char::is_control),
            "control character in resolv.conf line {line:?}"
        );
        if line.starts_with('#') {
            continue;
        }
        let mut words = line.split(' ');
        match words.next() {
            Some("search") => {
                for d in words {
                    assert!(
                        !d.is_empty()
                            && d.bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
                        "search domain {d:?} in {text:?}"
                    );
                }
            }
            Some("nameserver") => {
                servers += 1;
                let addr: Vec<&str> = words.collect();
                assert!(
                    addr.len() == 1 && addr[0].parse::<std::net::Ipv4Addr>().is_ok(),
                    "{line:?}"
                );
            }
            _ => panic!("unknown resolv.conf line {line:?}"),
        }
    }
    assert!(servers <= 3);
}

/// systemd/NetworkManager ini files: blank lines, comments, `[Section]`
/// and `Key=Value` with no control characters.
pub fn assert_ini(text: &str) {
    for line in text.lines() {
        assert!(
            !line.chars().any(char::is_control),
            "control character in {line:?}"
        );
        let ok = line.is_empty()
            || line.starts_with('#')
            || (line.starts_with('[') && line.ends_with(']'))
            || line.split_once('=').is_some_and(|(k, _)| {
                !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        assert!(ok, "not an ini line: {line:?}");
    }
}
