//! A small HTTP/1.1 client core: URLs, the request, the response head.
//! Pure; the socket loop lives in the `netinit` crate. Only what a file
//! download needs: GET with an optional Range, a Content-Length or
//! Content-Range body, no chunked encoding, no TLS.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `http://ADDR[:PORT]/path`. The host is an IPv4 address or a bracketed
/// IPv6 one (`http://[fd00::1]/…`, RFC 3986): there is no resolver before
/// the root is mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub host: IpAddr,
    pub port: u16,
    /// Starts with `/`; kept as written (already percent-encoded).
    pub path: String,
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.authority(), self.path)
    }
}

impl Url {
    pub fn parse(text: &str) -> Result<Url, String> {
        let rest = match text.split_once("://") {
            Some((s, r)) if s.eq_ignore_ascii_case("http") => r,
            Some((s, _)) if s.eq_ignore_ascii_case("https") => {
                return Err(format!(
                    "'{text}': HTTPS is not built in (see docs/decisions/0019); use http:// and netinit.sha256= for trust"
                ));
            }
            _ => return Err(format!("'{text}' is not an http:// URL")),
        };
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        // A fragment is never sent; a query is part of the request path.
        let path = path.split('#').next().unwrap_or("");
        let path = if path.is_empty() { "/" } else { path };
        if authority.contains('@') {
            return Err(format!("'{text}': user:password@ is not supported"));
        }
        // An IPv6 host's colons are inside its brackets.
        let port_sep = match authority.rfind(']') {
            Some(end) => authority
                .get(end..)
                .and_then(|t| t.find(':'))
                .map(|i| end + i),
            None => authority.rfind(':'),
        };
        let (host, port) = match port_sep.map(|i| authority.split_at(i)) {
            Some((h, p)) => {
                let p = p.get(1..).unwrap_or("");
                let port = p.parse::<u16>().ok().filter(|&p| p > 0);
                (
                    h,
                    port.ok_or_else(|| format!("'{text}': port '{p}' is not 1-65535"))?,
                )
            }
            None => (authority, 80),
        };
        let host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(v6) => v6.parse::<Ipv6Addr>().map(IpAddr::V6).map_err(|_| {
                format!("'{text}': host '{host}' is not an IPv6 address")
            })?,
            None => host.parse::<Ipv4Addr>().map(IpAddr::V4).map_err(|_| {
                format!("'{text}': host '{host}' is not an IPv4 address or a bracketed IPv6 one (there is no DNS before the root is mounted)")
            })?,
        };
        if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(format!(
                "'{text}': the path has spaces or control characters"
            ));
        }
        Ok(Url {
            host,
            port,
            path: path.to_owned(),
        })
    }

    /// `host[:port]` as the URL and the Host header write it (an IPv6
    /// host in brackets, the port only when it is not 80).
    pub fn authority(&self) -> String {
        let host = match self.host {
            IpAddr::V4(a) => a.to_string(),
            IpAddr::V6(a) => format!("[{a}]"),
        };
        if self.port == 80 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// The last path segment, without a query.
    pub fn file_name(&self) -> &str {
        let p = self.path.split('?').next().unwrap_or("");
        p.rsplit('/').next().unwrap_or("")
    }

    /// The same server and folder, another file (`SHA256SUMS` beside the image).
    pub fn sibling(&self, name: &str) -> Url {
        let p = self.path.split('?').next().unwrap_or("/");
        let dir = p.rsplit_once('/').map_or("", |(d, _)| d);
        Url {
            path: format!("{dir}/{name}"),
            ..self.clone()
        }
    }
}

/// The bytes of a GET request; `from` asks for the body from that offset
/// (`Range: bytes=from-` or `from-to`, `to` inclusive).
pub fn request(url: &Url, range: Option<(u64, Option<u64>)>) -> Vec<u8> {
    let host = url.authority();
    let mut r = format!(
        "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: netinit\r\nAccept-Encoding: identity\r\nConnection: close\r\n",
        url.path
    );
    match range {
        Some((from, Some(to))) => r.push_str(&format!("Range: bytes={from}-{to}\r\n")),
        Some((from, None)) => r.push_str(&format!("Range: bytes={from}-\r\n")),
        None => {}
    }
    r.push_str("\r\n");
    r.into_bytes()
}

/// What the response head says about the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    /// Bytes of body that follow the head, when the server says.
    pub content_length: Option<u64>,
    /// `Content-Range: bytes FIRST-LAST/TOTAL` (TOTAL `None` for `*`).
    pub range: Option<(u64, u64, Option<u64>)>,
    pub location: Option<String>,
}

impl Head {
    /// The whole file's size: Content-Range's total, or a 200's length.
    pub fn total(&self) -> Option<u64> {
        match (self.status, self.range) {
            (206, Some((_, _, t))) => t,
            (200, _) => self.content_length,
            _ => None,
        }
    }
}

/// The longest head accepted; a server sending more is not a file server.
pub const MAX_HEAD: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadError {
    /// The head is not complete yet: read more.
    Incomplete,
    Bad(String),
}

/// Parses a response head from the start of `buf`; returns it and its
/// length (the body starts there).
pub fn parse_head(buf: &[u8]) -> Result<(Head, usize), HeadError> {
    let end = match buf.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => i + 4,
        None if buf.len() >= MAX_HEAD => {
            return Err(HeadError::Bad(format!(
                "response head over {MAX_HEAD} bytes"
            )));
        }
        None => return Err(HeadError::Incomplete),
    };
    if end > MAX_HEAD {
        return Err(HeadError::Bad(format!(
            "response head over {MAX_HEAD} bytes"
        )));
    }
    let bad = |s: String| HeadError::Bad(s);
    let text = std::str::from_utf8(buf.get(..end - 4).unwrap_or(&[]))
        .map_err(|_| bad("response head is not text".into()))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut words = status_line.splitn(3, ' ');
    let version = words.next().unwrap_or("");
    if !matches!(version, "HTTP/1.1" | "HTTP/1.0") {
        return Err(bad(format!(
            "'{}' is not an HTTP/1.x status line",
            clip(status_line)
        )));
    }
    let status = words
        .next()
        .filter(|s| s.len() == 3)
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..=599).contains(s))
        .ok_or_else(|| bad(format!("'{}' has no status code", clip(status_line))))?;
    let mut head = Head {
        status,
        content_length: None,
        range: None,
        location: None,
    };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(bad(format!("header line '{}' has no ':'", clip(line))));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let n = value
                .parse::<u64>()
                .map_err(|_| bad(format!("Content-Length '{}'", clip(value))))?;
            if head.content_length.is_some_and(|c| c != n) {
                return Err(bad("two different Content-Length headers".into()));
            }
            head.content_length = Some(n);
        } else if name.eq_ignore_ascii_case("content-range") {
            head.range = Some(
                parse_content_range(value)
                    .ok_or_else(|| bad(format!("Content-Range '{}'", clip(value))))?,
            );
        } else if name.eq_ignore_ascii_case("transfer-encoding")
            && !value.eq_ignore_ascii_case("identity")
        {
            return Err(bad(format!(
                "Transfer-Encoding '{}' (netinit reads plain bodies with a Content-Length)",
                clip(value)
            )));
        } else if name.eq_ignore_ascii_case("location") {
            head.location = Some(value.to_owned());
        }
    }
    if let (Some((first, last, _)), Some(len)) = (head.range, head.content_length) {
        if last - first + 1 != len {
            return Err(bad("Content-Range and Content-Length disagree".into()));
        }
    }
    Ok((head, end))
}

/// `bytes FIRST-LAST/TOTAL` or `bytes FIRST-LAST/*`.
fn parse_content_range(v: &str) -> Option<(u64, u64, Option<u64>)> {
    let rest = v.strip_prefix("bytes ")?;
    let (span, total) = rest.split_once('/')?;
    let (a, b) = span.split_once('-')?;
    let (a, b) = (a.parse::<u64>().ok()?, b.parse::<u64>().ok()?);
    let total = match total {
        "*" => None,
        t => Some(t.parse::<u64>().ok()?),
    };
    (a <= b && total.is_none_or(|t| b < t)).then_some((a, b, total))
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Splits `0..total` into at most `n` ranges of at least `min` bytes
/// (`(first, last)`, inclusive), in order, covering every byte once.
pub fn split_ranges(total: u64, n: u32, min: u64) -> Vec<(u64, u64)> {
    if total == 0 {
        return Vec::new();
    }
    let n = u64::from(n.max(1)).min(total.div_ceil(min.max(1))).max(1);
    let step = total.div_ceil(n);
    (0..n)
        .map(|i| (i * step, ((i + 1) * step).min(total) - 1))
        .filter(|(a, b)| a <= b)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = Url::parse("http://10.77.0.1/img/ubuntu.iso").unwrap();
        assert_eq!(
            (u.host, u.port, u.path.as_str()),
            ("10.77.0.1".parse().unwrap(), 80, "/img/ubuntu.iso")
        );
        assert_eq!(u.file_name(), "ubuntu.iso");
        assert_eq!(
            u.sibling("SHA256SUMS").to_string(),
            "http://10.77.0.1/img/SHA256SUMS"
        );
        let u = Url::parse("HTTP://10.0.0.2:8080").unwrap();
        assert_eq!((u.port, u.path.as_str()), (8080, "/"));
        assert_eq!(u.to_string(), "http://10.0.0.2:8080/");
        let u = Url::parse("http://1.2.3.4/a?x=1#frag").unwrap();
        assert_eq!(u.path, "/a?x=1");
        // IPv6 literals in brackets (RFC 3986), with and without a port.
        for (text, host, port, shown) in [
            (
                "http://[fd00::1]/a.iso",
                "fd00::1",
                80,
                "http://[fd00::1]/a.iso",
            ),
            (
                "http://[fd00::1]:8080/a.iso",
                "fd00::1",
                8080,
                "http://[fd00::1]:8080/a.iso",
            ),
            (
                "http://[2001:db8::7]",
                "2001:db8::7",
                80,
                "http://[2001:db8::7]/",
            ),
            (
                "http://[::ffff:1.2.3.4]:81/x",
                "::ffff:1.2.3.4",
                81,
                "http://[::ffff:1.2.3.4]:81/x",
            ),
        ] {
            let u = Url::parse(text).unwrap();
            assert_eq!(
                (u.host, u.port),
                (host.parse::<IpAddr>().unwrap(), port),
                "{text}"
            );
            assert_eq!(u.to_string(), shown, "{text}");
        }
        for bad in [
            "https://1.2.3.4/x",
            "ftp://1.2.3.4/x",
            "http://example.org/x",
            "http://1.2.3.4:0/x",
            "http://1.2.3.4:99999/x",
            "http://u:p@1.2.3.4/x",
            "/x",
            "http://1.2.3.4/a b",
            "http://fd00::1/x",
            "http://[fd00::1/x",
            "http://[fd00::zz]/x",
            "http://[1.2.3.4]/x",
            "http://[fd00::1]:/x",
            "http://[fd00::1]x/y",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
        assert!(
            Url::parse("https://1.2.3.4/x")
                .unwrap_err()
                .contains("HTTPS")
        );
    }

    #[test]
    fn requests() {
        let u = Url::parse("http://10.0.0.1:8080/a.iso").unwrap();
        let r = String::from_utf8(request(&u, Some((5, None)))).unwrap();
        assert!(r.starts_with("GET /a.iso HTTP/1.1\r\nHost: 10.0.0.1:8080\r\n"));
        assert!(r.contains("Range: bytes=5-\r\n") && r.ends_with("\r\n\r\n"));
        let r = String::from_utf8(request(&u, Some((0, Some(9))))).unwrap();
        assert!(r.contains("Range: bytes=0-9\r\n"));
        let u6 = Url::parse("http://[fd00::1]:8080/a.iso").unwrap();
        let r6 = String::from_utf8(request(&u6, None)).unwrap();
        assert!(r6.starts_with("GET /a.iso HTTP/1.1\r\nHost: [fd00::1]:8080\r\n"));
        let r = String::from_utf8(request(&u, None)).unwrap();
        assert!(!r.contains("Range"));
    }

    type Want = Result<(u16, Option<u64>, Option<u64>), &'static str>;

    #[test]
    fn heads() {
        let cases: [(&str, Want); 9] = [
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\nbody",
                Ok((200, Some(42), Some(42))),
            ),
            ("HTTP/1.0 404 Not Found\r\n\r\n", Ok((404, None, None))),
            (
                "HTTP/1.1 206 Partial Content\r\ncontent-range: bytes 10-19/100\r\nContent-Length: 10\r\n\r\n",
                Ok((206, Some(10), Some(100))),
            ),
            (
                "HTTP/1.1 206 x\r\nContent-Range: bytes 10-19/100\r\nContent-Length: 11\r\n\r\n",
                Err("disagree"),
            ),
            (
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                Err("chunked"),
            ),
            ("SSH-2.0-OpenSSH\r\n\r\n", Err("status line")),
            ("HTTP/1.1 2000 OK\r\n\r\n", Err("status code")),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                Err("two"),
            ),
            ("HTTP/1.1 200 OK\r\nbroken\r\n\r\n", Err("no ':'")),
        ];
        for (text, want) in cases {
            match (parse_head(text.as_bytes()), want) {
                (Ok((h, end)), Ok((status, len, total))) => {
                    assert_eq!(
                        (h.status, h.content_length, h.total()),
                        (status, len, total),
                        "{text}"
                    );
                    assert_eq!(&text.as_bytes()[end - 4..end], b"\r\n\r\n");
                }
                (Err(HeadError::Bad(m)), Err(part)) => assert!(m.contains(part), "{text}: {m}"),
                (got, _) => panic!("{text}: {got:?}"),
            }
        }
        assert_eq!(
            parse_head(b"HTTP/1.1 200 OK\r\n"),
            Err(HeadError::Incomplete)
        );
        assert!(matches!(
            parse_head(&[b'a'; MAX_HEAD]),
            Err(HeadError::Bad(_))
        ));
        let (h, _) =
            parse_head(b"HTTP/1.1 302 Found\r\nLocation: http://1.2.3.4/y\r\n\r\n").unwrap();
        assert_eq!(h.location.as_deref(), Some("http://1.2.3.4/y"));
    }

    #[test]
    fn ranges() {
        assert_eq!(split_ranges(10, 3, 1), vec![(0, 3), (4, 7), (8, 9)]);
        assert_eq!(split_ranges(10, 4, 8), vec![(0, 4), (5, 9)]);
        assert_eq!(split_ranges(0, 4, 1), vec![]);
        assert_eq!(split_ranges(5, 0, 0), vec![(0, 4)]);
    }

    proptest::proptest! {
        #[test]
        fn ranges_cover_once(total in 0u64..1_000_000, n in 0u32..20, min in 0u64..100_000) {
            let r = split_ranges(total, n, min);
            let mut next = 0;
            for (a, b) in &r {
                proptest::prop_assert_eq!(*a, next);
                proptest::prop_assert!(a <= b);
                next = b + 1;
            }
            proptest::prop_assert_eq!(next, total);
            proptest::prop_assert!(r.len() as u32 <= n.max(1));
        }

        #[test]
        fn head_never_panics(data: Vec<u8>) {
            let _ = parse_head(&data);
        }

        #[test]
        fn url_round_trips(a: [u8; 4], port in 1u16.., path in "(/[a-zA-Z0-9._-]{0,8}){1,4}") {
            let text = format!("http://{}:{port}{path}", Ipv4Addr::from(a));
            let u = Url::parse(&text).unwrap();
            proptest::prop_assert_eq!(Url::parse(&u.to_string()).unwrap(), u);
        }

        /// Any IPv6 host in brackets, with any port, reads back as written
        /// and round-trips through its own text.
        #[test]
        fn ipv6_url_round_trips(a: [u16; 8], port in 1u16.., path in "(/[a-zA-Z0-9._-]{0,8}){1,4}") {
            let host = Ipv6Addr::from(a);
            let u = Url::parse(&format!("http://[{host}]:{port}{path}")).unwrap();
            proptest::prop_assert_eq!((u.host, u.port, u.path.as_str()), (IpAddr::V6(host), port, path.as_str()));
            proptest::prop_assert_eq!(Url::parse(&u.to_string()).unwrap(), u);
        }

        #[test]
        fn content_length_read_back(n: u64, a in 0u64..1000, len in 1u64..1000) {
            let text = format!("HTTP/1.1 206 P\r\nContent-Length: {len}\r\nContent-Range: bytes {a}-{}/{}\r\n\r\n", a + len - 1, a + len + n % 1000);
            let (h, _) = parse_head(text.as_bytes()).unwrap();
            proptest::prop_assert_eq!(h.content_length, Some(len));
        }
    }
}
