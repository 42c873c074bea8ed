//! The DHCPv6 message codec (RFC 8415 section 8 and 21): a type, a 24-bit
//! transaction id and a flat list of TLV options; IA_NA, IAADDR and
//! STATUS_CODE carry options of their own. Decoding is strict (no byte
//! left over, no option past the end), so encode(decode(x)) == x.

use std::net::Ipv6Addr;

use crate::dhcp::packet::DecodeError;

/// Option codes used here.
pub mod opt {
    pub const CLIENTID: u16 = 1;
    pub const SERVERID: u16 = 2;
    pub const IA_NA: u16 = 3;
    pub const IAADDR: u16 = 5;
    pub const ORO: u16 = 6;
    pub const PREFERENCE: u16 = 7;
    pub const ELAPSED_TIME: u16 = 8;
    pub const STATUS_CODE: u16 = 13;
    pub const RAPID_COMMIT: u16 = 14;
    pub const DNS_SERVERS: u16 = 23;
    pub const DOMAIN_LIST: u16 = 24;
    pub const BOOTFILE_URL: u16 = 59;
}

pub const SOLICIT: u8 = 1;
pub const ADVERTISE: u8 = 2;
pub const REQUEST: u8 = 3;
pub const RENEW: u8 = 5;
pub const REBIND: u8 = 6;
pub const REPLY: u8 = 7;
pub const RELEASE: u8 = 8;

/// Status codes (RFC 8415 21.13) the client acts on.
pub const STATUS_SUCCESS: u16 = 0;
pub const STATUS_NO_ADDRS_AVAIL: u16 = 2;

/// Client port; servers listen on 547 at ff02::1:2.
pub const CLIENT_PORT: u16 = 546;
pub const SERVER_PORT: u16 = 547;
pub const ALL_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);

/// An option list, in wire order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options(pub Vec<(u16, Vec<u8>)>);

impl Options {
    pub fn get(&self, code: u16) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, d)| d.as_slice())
    }

    pub fn all(&self, code: u16) -> impl Iterator<Item = &[u8]> {
        self.0
            .iter()
            .filter(move |(c, _)| *c == code)
            .map(|(_, d)| d.as_slice())
    }

    pub fn push(&mut self, code: u16, data: &[u8]) {
        self.0.push((code, data.to_vec()));
    }

    /// Options over 65535 bytes can't be framed; callers never build them.
    pub fn encode_into(&self, b: &mut Vec<u8>) {
        for (code, data) in &self.0 {
            b.extend_from_slice(&code.to_be_bytes());
            b.extend_from_slice(&(data.len().min(0xffff) as u16).to_be_bytes());
            b.extend_from_slice(&data[..data.len().min(0xffff)]);
        }
    }

    pub fn decode(mut buf: &[u8]) -> Result<Options, DecodeError> {
        let mut out = Vec::new();
        while !buf.is_empty() {
            let (Some(code), Some(len)) = (be16(buf, 0), be16(buf, 2)) else {
                return Err(DecodeError(format!(
                    "{} stray bytes where an option header belongs",
                    buf.len()
                )));
            };
            let end = 4 + usize::from(len);
            let Some(data) = buf.get(4..end) else {
                return Err(DecodeError(format!(
                    "option {code} claims {len} bytes, {} are left",
                    buf.len() - 4
                )));
            };
            out.push((code, data.to_vec()));
            buf = &buf[end..];
        }
        Ok(Options(out))
    }

    /// Status code and message, if the option is there and well formed.
    pub fn status(&self) -> Option<(u16, String)> {
        let d = self.get(opt::STATUS_CODE)?;
        let code = be16(d, 0)?;
        Some((code, String::from_utf8_lossy(&d[2..]).into_owned()))
    }
}

pub(crate) fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

pub(crate) fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

pub(crate) fn addr6(b: &[u8], at: usize) -> Option<Ipv6Addr> {
    Some(Ipv6Addr::from(
        <[u8; 16]>::try_from(b.get(at..at + 16)?).ok()?,
    ))
}

/// A DHCPv6 client/server message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub kind: u8,
    /// 24 bits.
    pub xid: u32,
    pub options: Options,
}

impl Message {
    pub fn new(kind: u8, xid: u32) -> Message {
        Message {
            kind,
            xid: xid & 0x00ff_ffff,
            options: Options::default(),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(128);
        b.push(self.kind);
        b.extend_from_slice(&self.xid.to_be_bytes()[1..]);
        self.options.encode_into(&mut b);
        b
    }

    pub fn decode(buf: &[u8]) -> Result<Message, DecodeError> {
        let Some(head) = buf.get(..4) else {
            return Err(DecodeError(format!(
                "{} bytes, shorter than a DHCPv6 header",
                buf.len()
            )));
        };
        Ok(Message {
            kind: head[0],
            xid: u32::from_be_bytes([0, head[1], head[2], head[3]]),
            options: Options::decode(&buf[4..])?,
        })
    }
}

/// One IA_NA (RFC 8415 21.4): the id, T1, T2 and its own options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IaNa {
    pub iaid: u32,
    pub t1: u32,
    pub t2: u32,
    pub options: Options,
}

impl IaNa {
    pub fn decode(d: &[u8]) -> Result<IaNa, DecodeError> {
        let (Some(iaid), Some(t1), Some(t2)) = (be32(d, 0), be32(d, 4), be32(d, 8)) else {
            return Err(DecodeError(format!("IA_NA of {} bytes, under 12", d.len())));
        };
        Ok(IaNa {
            iaid,
            t1,
            t2,
            options: Options::decode(&d[12..])?,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(40);
        for v in [self.iaid, self.t1, self.t2] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        self.options.encode_into(&mut b);
        b
    }
}

/// One IAADDR (RFC 8415 21.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IaAddr {
    pub addr: Ipv6Addr,
    pub preferred: u32,
    pub valid: u32,
    pub options: Options,
}

impl IaAddr {
    pub fn decode(d: &[u8]) -> Result<IaAddr, DecodeError> {
        let (Some(addr), Some(preferred), Some(valid)) = (addr6(d, 0), be32(d, 16), be32(d, 20))
        else {
            return Err(DecodeError(format!(
                "IAADDR of {} bytes, under 24",
                d.len()
            )));
        };
        Ok(IaAddr {
            addr,
            preferred,
            valid,
            options: Options::decode(&d[24..])?,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(24);
        b.extend_from_slice(&self.addr.octets());
        b.extend_from_slice(&self.preferred.to_be_bytes());
        b.extend_from_slice(&self.valid.to_be_bytes());
        self.options.encode_into(&mut b);
        b
    }
}

/// A list of IPv6 addresses (options 23 and the like); `None` when the
/// length is not a multiple of 16.
pub fn addrs(d: &[u8]) -> Option<Vec<Ipv6Addr>> {
    if d.len() % 16 != 0 {
        return None;
    }
    Some((0..d.len() / 16).filter_map(|i| addr6(d, i * 16)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_and_reencodes_an_advertise() {
        let mut m = Message::new(ADVERTISE, 0x12_3456);
        m.options
            .push(opt::SERVERID, &[0, 3, 0, 1, 1, 2, 3, 4, 5, 6]);
        let ia = IaNa {
            iaid: 7,
            t1: 100,
            t2: 160,
            options: Options(vec![(
                opt::IAADDR,
                IaAddr {
                    addr: "fd00::150".parse().unwrap(),
                    preferred: 200,
                    valid: 300,
                    options: Options::default(),
                }
                .encode(),
            )]),
        };
        m.options.push(opt::IA_NA, &ia.encode());
        let wire = m.encode();
        assert_eq!(&wire[..4], &[2, 0x12, 0x34, 0x56]);
        let back = Message::decode(&wire).unwrap();
        assert_eq!(back, m);
        let ia2 = IaNa::decode(back.options.get(opt::IA_NA).unwrap()).unwrap();
        assert_eq!(ia2, ia);
    }

    #[test]
    fn refuses_bad_framing() {
        for (wire, want) in [
            (&[1u8, 0, 0][..], "shorter than a DHCPv6 header"),
            (&[1, 0, 0, 1, 0, 1, 0], "stray bytes"),
            (&[1, 0, 0, 1, 0, 1, 0, 5, 1], "claims 5 bytes, 1 are left"),
        ] {
            let e = Message::decode(wire).unwrap_err();
            assert!(e.0.contains(want), "{e}");
        }
        assert!(IaNa::decode(&[0; 11]).is_err());
        assert!(IaAddr::decode(&[0; 23]).is_err());
        assert_eq!(addrs(&[0; 17]), None);
        assert_eq!(addrs(&[0; 32]).map(|v| v.len()), Some(2));
    }

    #[test]
    fn status_code() {
        let mut o = Options::default();
        assert_eq!(o.status(), None);
        o.push(opt::STATUS_CODE, b"\x00\x02none left");
        assert_eq!(o.status(), Some((2, "none left".into())));
    }

    proptest! {
        #[test]
        fn decode_encode_is_identity(buf in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(m) = Message::decode(&buf) {
                prop_assert_eq!(m.encode(), buf);
            }
        }

        #[test]
        fn encode_decode_is_identity(kind: u8, xid in 0u32..0x100_0000, opts in proptest::collection::vec((any::<u16>(), proptest::collection::vec(any::<u8>(), 0..40)), 0..8)) {
            let m = Message { kind, xid, options: Options(opts) };
            prop_assert_eq!(Message::decode(&m.encode()).unwrap(), m);
        }
    }
}
