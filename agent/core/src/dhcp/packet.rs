//! The DHCPv4 message (RFC 2131/2132): encode and decode.
//!
//! Decoding must survive anything a hostile or broken server sends: every
//! length is checked, and a bad packet is an error value naming what is
//! wrong, never a panic.

use std::fmt;
use std::net::Ipv4Addr;

pub const BOOTREQUEST: u8 = 1;
pub const BOOTREPLY: u8 = 2;
const MAGIC: [u8; 4] = [99, 130, 83, 99];
/// Fixed BOOTP header, then the magic cookie.
const HEADER_LEN: usize = 236;
/// BOOTP's minimum message size; some relays drop shorter ones.
const MIN_LEN: usize = 300;

pub mod opt {
    pub const PAD: u8 = 0;
    pub const SUBNET_MASK: u8 = 1;
    pub const ROUTER: u8 = 3;
    pub const DNS: u8 = 6;
    pub const HOSTNAME: u8 = 12;
    pub const DOMAIN: u8 = 15;
    pub const ROOT_PATH: u8 = 17;
    pub const MTU: u8 = 26;
    pub const BROADCAST: u8 = 28;
    pub const NTP: u8 = 42;
    pub const REQUESTED_IP: u8 = 50;
    pub const LEASE_TIME: u8 = 51;
    pub const OVERLOAD: u8 = 52;
    pub const MESSAGE_TYPE: u8 = 53;
    pub const SERVER_ID: u8 = 54;
    pub const PARAMS: u8 = 55;
    pub const MESSAGE: u8 = 56;
    pub const MAX_SIZE: u8 = 57;
    pub const T1: u8 = 58;
    pub const T2: u8 = 59;
    pub const VENDOR_CLASS: u8 = 60;
    pub const CLIENT_ID: u8 = 61;
    pub const TFTP_SERVER: u8 = 66;
    pub const BOOTFILE: u8 = 67;
    pub const RAPID_COMMIT: u8 = 80;
    pub const SEARCH: u8 = 119;
    pub const CLASSLESS_ROUTES: u8 = 121;
    pub const END: u8 = 255;
}

/// DHCP message types (option 53).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    Discover = 1,
    Offer = 2,
    Request = 3,
    Decline = 4,
    Ack = 5,
    Nak = 6,
    Release = 7,
    Inform = 8,
}

impl MessageType {
    pub fn from_u8(v: u8) -> Option<Self> {
        use MessageType::*;
        Some(match v {
            1 => Discover,
            2 => Offer,
            3 => Request,
            4 => Decline,
            5 => Ack,
            6 => Nak,
            7 => Release,
            8 => Inform,
            _ => return None,
        })
    }
}

/// Options in order of first appearance; repeated codes are concatenated
/// (RFC 3396 long options).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options(pub Vec<(u8, Vec<u8>)>);

impl Options {
    pub fn get(&self, code: u8) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, v)| v.as_slice())
    }

    /// Adds an option (concatenating onto an existing one of the same code).
    pub fn push(&mut self, code: u8, data: &[u8]) {
        match self.0.iter_mut().find(|(c, _)| *c == code) {
            Some((_, v)) => v.extend_from_slice(data),
            None => self.0.push((code, data.to_vec())),
        }
    }

    pub fn message_type(&self) -> Option<MessageType> {
        self.get(opt::MESSAGE_TYPE)
            .and_then(|v| v.first())
            .and_then(|&t| MessageType::from_u8(t))
    }

    pub fn addr(&self, code: u8) -> Option<Ipv4Addr> {
        <[u8; 4]>::try_from(self.get(code)?)
            .ok()
            .map(Ipv4Addr::from)
    }

    /// A list of addresses; `None` if the length is not a multiple of 4.
    pub fn addrs(&self, code: u8) -> Option<Vec<Ipv4Addr>> {
        let v = self.get(code)?;
        if v.is_empty() || v.len() % 4 != 0 {
            return None;
        }
        Some(
            v.chunks_exact(4)
                .filter_map(|c| <[u8; 4]>::try_from(c).ok())
                .map(Ipv4Addr::from)
                .collect(),
        )
    }

    pub fn u32(&self, code: u8) -> Option<u32> {
        <[u8; 4]>::try_from(self.get(code)?)
            .ok()
            .map(u32::from_be_bytes)
    }

    pub fn u16(&self, code: u8) -> Option<u16> {
        <[u8; 2]>::try_from(self.get(code)?)
            .ok()
            .map(u16::from_be_bytes)
    }

    /// Printable text (NUL padding trimmed); `None` if not valid UTF-8.
    pub fn text(&self, code: u8) -> Option<String> {
        let v = self.get(code)?;
        let v = v.split(|&b| b == 0).next().unwrap_or(&[]);
        let s = std::str::from_utf8(v).ok()?;
        (!s.is_empty() && !s.chars().any(char::is_control)).then(|| s.to_owned())
    }
}

/// A DHCP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub op: u8,
    pub xid: u32,
    pub secs: u16,
    pub flags: u16,
    pub ciaddr: Ipv4Addr,
    pub yiaddr: Ipv4Addr,
    pub siaddr: Ipv4Addr,
    pub giaddr: Ipv4Addr,
    /// Hardware address (first `hlen` bytes of chaddr).
    pub chaddr: [u8; 6],
    /// BOOTP `sname`, if it held a name (not overloaded options).
    pub sname: Option<String>,
    /// BOOTP `file`, if it held a name.
    pub file: Option<String>,
    pub options: Options,
}

/// Why a received message was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

fn bad(msg: impl Into<String>) -> DecodeError {
    DecodeError(msg.into())
}

impl Packet {
    /// A BOOTREQUEST from `mac`.
    pub fn request(xid: u32, mac: [u8; 6]) -> Packet {
        Packet {
            op: BOOTREQUEST,
            xid,
            secs: 0,
            flags: 0,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            chaddr: mac,
            sname: None,
            file: None,
            options: Options::default(),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(MIN_LEN + 64);
        b.extend_from_slice(&[self.op, 1, 6, 0]);
        b.extend_from_slice(&self.xid.to_be_bytes());
        b.extend_from_slice(&self.secs.to_be_bytes());
        b.extend_from_slice(&self.flags.to_be_bytes());
        for a in [self.ciaddr, self.yiaddr, self.siaddr, self.giaddr] {
            b.extend_from_slice(&a.octets());
        }
        let mut chaddr = [0u8; 16];
        chaddr[..6].copy_from_slice(&self.chaddr);
        b.extend_from_slice(&chaddr);
        put_fixed(&mut b, self.sname.as_deref(), 64);
        put_fixed(&mut b, self.file.as_deref(), 128);
        b.extend_from_slice(&MAGIC);
        for (code, data) in &self.options.0 {
            // Options over 255 bytes are split (RFC 3396).
            for chunk in data.chunks(255) {
                b.push(*code);
                b.push(chunk.len() as u8);
                b.extend_from_slice(chunk);
            }
            if data.is_empty() {
                b.extend_from_slice(&[*code, 0]);
            }
        }
        b.push(opt::END);
        if b.len() < MIN_LEN {
            b.resize(MIN_LEN, 0);
        }
        b
    }

    pub fn decode(buf: &[u8]) -> Result<Packet, DecodeError> {
        if buf.len() < HEADER_LEN + MAGIC.len() {
            return Err(bad(format!(
                "{} bytes, shorter than a DHCP header",
                buf.len()
            )));
        }
        let (head, rest) = buf.split_at(HEADER_LEN);
        let (htype, hlen) = (head[1], head[2]);
        if htype != 1 || hlen != 6 {
            return Err(bad(format!(
                "hardware type {htype}/length {hlen} is not Ethernet"
            )));
        }
        if rest.get(..4) != Some(&MAGIC[..]) {
            return Err(bad("no DHCP magic cookie (plain BOOTP)"));
        }
        let addr = |at: usize| Ipv4Addr::new(head[at], head[at + 1], head[at + 2], head[at + 3]);
        let mut chaddr = [0u8; 6];
        chaddr.copy_from_slice(&head[28..34]);
        let sname_field = &head[44..108];
        let file_field = &head[108..236];
        let mut options = Options::default();
        parse_options(&rest[4..], &mut options, "options")?;
        let overload = options
            .get(opt::OVERLOAD)
            .and_then(|v| v.first().copied())
            .unwrap_or(0);
        if overload > 3 {
            return Err(bad(format!(
                "option 52 (overload) value {overload} is not 1-3"
            )));
        }
        // RFC 2131 order: options, then file, then sname.
        if overload & 1 != 0 {
            parse_options(file_field, &mut options, "file")?;
        }
        if overload & 2 != 0 {
            parse_options(sname_field, &mut options, "sname")?;
        }
        Ok(Packet {
            op: head[0],
            xid: u32::from_be_bytes([head[4], head[5], head[6], head[7]]),
            secs: u16::from_be_bytes([head[8], head[9]]),
            flags: u16::from_be_bytes([head[10], head[11]]),
            ciaddr: addr(12),
            yiaddr: addr(16),
            siaddr: addr(20),
            giaddr: addr(24),
            chaddr,
            sname: if overload & 2 != 0 {
                None
            } else {
                fixed_text(sname_field)
            },
            file: if overload & 1 != 0 {
                None
            } else {
                fixed_text(file_field)
            },
            options,
        })
    }
}

fn put_fixed(b: &mut Vec<u8>, text: Option<&str>, len: usize) {
    let mut field = vec![0u8; len];
    if let Some(t) = text {
        let n = t.len().min(len - 1);
        field[..n].copy_from_slice(&t.as_bytes()[..n]);
    }
    b.extend_from_slice(&field);
}

/// `sname`/`file`: a NUL-terminated string (RFC 2131). A field filled to
/// the end with no NUL is not one; it is ignored rather than read as a
/// name the encoder could not write back.
fn fixed_text(field: &[u8]) -> Option<String> {
    let end = field.iter().position(|&b| b == 0)?;
    let v = &field[..end];
    let s = std::str::from_utf8(v).ok()?;
    (!s.is_empty() && !s.chars().any(char::is_control)).then(|| s.to_owned())
}

fn parse_options(mut b: &[u8], out: &mut Options, field: &str) -> Result<(), DecodeError> {
    while let Some((&code, rest)) = b.split_first() {
        match code {
            opt::PAD => b = rest,
            opt::END => return Ok(()),
            _ => {
                let (&len, rest) = rest
                    .split_first()
                    .ok_or_else(|| bad(format!("option {code} in {field} has no length")))?;
                let data = rest.get(..usize::from(len)).ok_or_else(|| {
                    bad(format!(
                        "option {code} in {field} claims {len} bytes, {} left",
                        rest.len()
                    ))
                })?;
                out.push(code, data);
                b = &rest[usize::from(len)..];
            }
        }
    }
    // A missing END in the options field is tolerated: many servers pad instead.
    Ok(())
}

/// Decodes an RFC 1035 name list with compression (option 119, RFC 3397).
/// Pointers may only point backwards, which bounds the work.
pub fn decode_search(data: &[u8]) -> Result<Vec<String>, DecodeError> {
    let mut names = Vec::new();
    let mut at = 0usize;
    while at < data.len() {
        let (name, next) = read_name(data, at)?;
        if !name.is_empty() {
            names.push(name);
        }
        at = next;
    }
    Ok(names)
}

/// Reads one name at `start`; returns it and the offset after it.
fn read_name(data: &[u8], start: usize) -> Result<(String, usize), DecodeError> {
    let mut labels: Vec<String> = Vec::new();
    let mut at = start;
    let mut end = None;
    let mut limit = start; // pointers must go strictly below this
    loop {
        let &len = data
            .get(at)
            .ok_or_else(|| bad("option 119: name runs past the end"))?;
        match len {
            0 => {
                end.get_or_insert(at + 1);
                break;
            }
            l if l & 0xc0 == 0xc0 => {
                let &lo = data
                    .get(at + 1)
                    .ok_or_else(|| bad("option 119: truncated pointer"))?;
                let target = (usize::from(l & 0x3f) << 8) | usize::from(lo);
                if target >= limit {
                    return Err(bad(
                        "option 119: compression pointer does not point backwards",
                    ));
                }
                end.get_or_insert(at + 2);
                limit = target;
                at = target;
            }
            l if l & 0xc0 != 0 => return Err(bad("option 119: reserved label type")),
            l => {
                let label = data
                    .get(at + 1..at + 1 + usize::from(l))
                    .ok_or_else(|| bad("option 119: label runs past the end"))?;
                let label =
                    std::str::from_utf8(label).map_err(|_| bad("option 119: label is not text"))?;
                if !label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                {
                    return Err(bad("option 119: label has invalid characters"));
                }
                labels.push(label.to_owned());
                if labels.len() > 127 {
                    return Err(bad("option 119: name too long"));
                }
                at += 1 + usize::from(l);
            }
        }
    }
    Ok((labels.join("."), end.unwrap_or(at + 1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Found by the `dhcp` fuzz target: a 64-byte `sname` with no NUL
    /// decoded as a 64-character name, which `encode` (which keeps the
    /// terminator) cut to 63, so decode → encode → decode changed it.
    #[test]
    fn unterminated_sname_is_no_name() {
        let mut b = offer().encode();
        b[44..108].fill(b'0');
        let p = Packet::decode(&b).unwrap();
        assert_eq!(p.sname, None);
        assert_eq!(Packet::decode(&p.encode()).unwrap(), p);
        b[107] = 0;
        assert_eq!(Packet::decode(&b).unwrap().sname, Some("0".repeat(63)));
    }

    fn offer() -> Packet {
        let mut p = Packet::request(0x1234_5678, [0x52, 0x54, 0, 1, 2, 3]);
        p.op = BOOTREPLY;
        p.yiaddr = Ipv4Addr::new(10, 77, 0, 100);
        p.siaddr = Ipv4Addr::new(10, 77, 0, 1);
        p.file = Some("pxelinux.0".into());
        p.options.push(opt::MESSAGE_TYPE, &[2]);
        p.options.push(opt::SERVER_ID, &[10, 77, 0, 1]);
        p.options.push(opt::SUBNET_MASK, &[255, 255, 255, 0]);
        p.options.push(opt::ROUTER, &[10, 77, 0, 1]);
        p.options.push(opt::DNS, &[10, 77, 0, 2, 10, 77, 0, 3]);
        p
    }

    #[test]
    fn round_trip() {
        let p = offer();
        let bytes = p.encode();
        assert_eq!(bytes.len(), MIN_LEN);
        let q = Packet::decode(&bytes).unwrap();
        assert_eq!(q, p);
        assert_eq!(q.options.message_type(), Some(MessageType::Offer));
        assert_eq!(
            q.options.addrs(opt::DNS),
            Some(vec![
                Ipv4Addr::new(10, 77, 0, 2),
                Ipv4Addr::new(10, 77, 0, 3)
            ])
        );
    }

    #[test]
    fn long_options_split_and_concatenate() {
        let mut p = offer();
        let long: Vec<u8> = (0..600u32).map(|i| b'a' + (i % 26) as u8).collect();
        p.options.push(opt::ROOT_PATH, &long);
        let q = Packet::decode(&p.encode()).unwrap();
        assert_eq!(q.options.get(opt::ROOT_PATH), Some(&long[..]));
    }

    #[test]
    fn overload_reads_file_and_sname() {
        let mut bytes = offer().encode();
        // Put option 17 in `file` and option 12 in `sname`; flag both.
        let file_at = 108;
        bytes[file_at..file_at + 128].fill(0);
        bytes[file_at..file_at + 6].copy_from_slice(&[17, 3, b'/', b'r', b'p', 255]);
        bytes[44..44 + 8].copy_from_slice(&[12, 4, b'h', b'o', b's', b't', 255, 0]);
        let end = bytes.iter().rposition(|&b| b == 255).unwrap();
        bytes.splice(end..end, [52, 1, 3]);
        let q = Packet::decode(&bytes).unwrap();
        assert_eq!(q.options.text(opt::ROOT_PATH).as_deref(), Some("/rp"));
        assert_eq!(q.options.text(opt::HOSTNAME).as_deref(), Some("host"));
        assert_eq!((q.file, q.sname), (None, None));
    }

    #[test]
    fn rejects_hostile_packets() {
        let good = offer().encode();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (good[..100].to_vec(), "shorter than a DHCP header"),
            (
                {
                    let mut b = good.clone();
                    b[2] = 16;
                    b
                },
                "is not Ethernet",
            ),
            (
                {
                    let mut b = good.clone();
                    b[236] = 0;
                    b
                },
                "magic cookie",
            ),
            (
                {
                    let mut b = good[..240].to_vec();
                    b.extend([53, 200, 1]);
                    b
                },
                "claims 200 bytes",
            ),
            (
                {
                    let mut b = good[..240].to_vec();
                    b.push(53);
                    b
                },
                "has no length",
            ),
            (
                {
                    let mut b = good[..240].to_vec();
                    b.extend([52, 1, 9, 255]);
                    b
                },
                "overload",
            ),
        ];
        for (bytes, want) in cases {
            let e = Packet::decode(&bytes).unwrap_err();
            assert!(e.0.contains(want), "{want}: {e}");
        }
    }

    #[test]
    fn search_list_with_compression() {
        // "eng.example.com", "example.com" (pointer), "lab" + pointer.
        let mut d = vec![3, b'e', b'n', b'g', 7];
        d.extend_from_slice(b"example");
        d.extend_from_slice(&[3, b'c', b'o', b'm', 0]);
        d.extend_from_slice(&[0xc0, 4]);
        d.extend_from_slice(&[3, b'l', b'a', b'b', 0xc0, 4]);
        assert_eq!(
            decode_search(&d).unwrap(),
            ["eng.example.com", "example.com", "lab.example.com"]
        );
        // A pointer to itself or forwards is a loop.
        assert!(decode_search(&[0xc0, 0]).is_err());
        assert!(decode_search(&[3, b'a', b'b', b'c', 0xc0, 10]).is_err());
        assert!(decode_search(&[5, b'a']).is_err());
    }

    proptest! {
        #[test]
        fn decode_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = Packet::decode(&buf);
        }

        #[test]
        fn decode_never_panics_with_valid_header(tail in proptest::collection::vec(any::<u8>(), 0..300), file in proptest::collection::vec(any::<u8>(), 128), sname in proptest::collection::vec(any::<u8>(), 64)) {
            let mut b = offer().encode()[..240].to_vec();
            b[108..236].copy_from_slice(&file);
            b[44..108].copy_from_slice(&sname);
            b.extend(tail);
            let _ = Packet::decode(&b);
        }

        #[test]
        fn search_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_search(&data);
        }

        #[test]
        fn encode_decode_round_trips(xid in any::<u32>(), mac in any::<[u8; 6]>(), opts in proptest::collection::vec((1u8..=254, proptest::collection::vec(any::<u8>(), 0..40)), 0..8)) {
            let mut p = Packet::request(xid, mac);
            for (code, data) in &opts {
                if *code != opt::OVERLOAD && *code != opt::PAD {
                    p.options.push(*code, data);
                }
            }
            let q = Packet::decode(&p.encode()).unwrap();
            // Empty options have no data to concatenate; compare what's left.
            let strip = |o: &Options| o.0.iter().filter(|(_, v)| !v.is_empty()).cloned().collect::<Vec<_>>();
            prop_assert_eq!(strip(&q.options), strip(&p.options));
            prop_assert_eq!(q.xid, xid);
            prop_assert_eq!(q.chaddr, mac);
        }
    }
}
