#![no_main]
//! The HTTP client's pure parts: the response head parser, URLs and the
//! request, range splitting, sha256 and sums files. Never panic, and:
//! a parsed head ends in CRLFCRLF within the cap and its lengths agree;
//! a URL round-trips through its text and its request has exactly one
//! blank line (no header injection); ranges cover every byte once;
//! sha256 does not depend on how the input is split.
use libfuzzer_sys::fuzz_target;
use netinit_core::http::{self, HeadError, MAX_HEAD, Url};
use netinit_core::sha256::{self, Sha256};

fuzz_target!(|data: &[u8]| {
    match http::parse_head(data) {
        Ok((head, end)) => {
            assert!(end <= data.len() && end <= MAX_HEAD);
            assert_eq!(&data[end - 4..end], b"\r\n\r\n");
            assert!((100..=599).contains(&head.status));
            if let (Some((a, b, _)), Some(len)) = (head.range, head.content_length) {
                assert_eq!(b - a + 1, len);
            }
            if let Some((a, b, Some(t))) = head.range {
                assert!(a <= b && b < t);
            }
        }
        Err(HeadError::Incomplete) => assert!(data.len() < MAX_HEAD),
        Err(HeadError::Bad(_)) => {}
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(u) = Url::parse(text) {
        assert_eq!(Url::parse(&u.to_string()).as_ref(), Ok(&u));
        assert!(u.path.starts_with('/'));
        // An IPv6 host is written, and sent as Host:, only in brackets.
        let shown = u.to_string();
        assert_eq!(shown.starts_with("http://["), u.host.is_ipv6(), "{shown}");
        assert_eq!(u.authority().starts_with('['), u.host.is_ipv6());
        let req = http::request(&u, Some((data.len() as u64, None)));
        let blank = req.windows(4).filter(|w| w == b"\r\n\r\n").count();
        assert_eq!(blank, 1);
        assert!(req.ends_with(b"\r\n\r\n"));
        let _ = u.sibling("SHA256SUMS");
    }
    let total = data
        .iter()
        .fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(*b)))
        % (1 << 40);
    let n = data.first().copied().unwrap_or(0) as u32 % 20;
    let min = u64::from(data.get(1).copied().unwrap_or(0)) << 12;
    let mut next = 0;
    for (a, b) in http::split_ranges(total, n, min) {
        assert!(a == next && a <= b);
        next = b + 1;
    }
    assert_eq!(next, total);
    let cut = data.len() / 3;
    let mut s = Sha256::new();
    s.update(&data[..cut]);
    s.update(&data[cut..]);
    assert_eq!(s.finish(), sha256::digest(data));
    if let Some(d) = sha256::find_in_sums(text, "casper.iso") {
        assert_eq!(sha256::parse_hex(&sha256::hex(&d)), Some(d));
    }
});
