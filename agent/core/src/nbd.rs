//! NBD root: dracut's `root=nbd:` grammar, the fixed-newstyle handshake
//! as an I/O-free state machine, the generic-netlink messages that hand the
//! connected socket to the kernel's nbd driver, and a superblock sniffer
//! for `fstype` left to "auto".
//!
//! The handshake follows the NBD protocol document: the server greets,
//! the client asks for its export with `NBD_OPT_GO` (falling back to
//! `NBD_OPT_EXPORT_NAME` if the server does not know GO), and the server
//! answers with the export's size and transmission flags. After that the
//! socket belongs to the kernel.

use std::fmt;
use std::net::Ipv4Addr;

/// The port IANA gave NBD; dracut's default when the port is an export name.
pub const DEFAULT_PORT: u16 = 10809;

/// `root=nbd:SERVER:PORT[/EXPORT][:fstype[:rootflags[:nbdopts]]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NbdSpec {
    pub server: Ipv4Addr,
    pub port: u16,
    /// The export name; empty is the server's default export.
    pub export: String,
    /// `None`: read the superblock and decide.
    pub fstype: Option<String>,
    /// Filesystem options, without `ro`/`rw`.
    pub fs_options: Vec<String>,
    /// `ro` in rootflags (the last of `ro`/`rw` wins).
    pub read_only: bool,
    /// dracut's nbd-client options: kept for the explain output only.
    pub client_options: Vec<String>,
}

/// Parses what follows `root=nbd:`. dracut's older form puts a name
/// where the port goes (`nbd:SERVER:NAME`): that is the export, on the
/// default port.
pub fn parse_nbd_root(text: &str) -> Result<NbdSpec, String> {
    let mut parts = text.splitn(5, ':');
    let server = parts.next().unwrap_or("");
    let server: Ipv4Addr = server.parse().map_err(|_| {
        if server.is_empty() {
            "nbd: needs a server: root=nbd:SERVER:PORT[/EXPORT]".to_owned()
        } else {
            format!(
                "nbd server '{server}' is not an IPv4 address (there is no DNS before the root is mounted)"
            )
        }
    })?;
    let port_export = parts.next().unwrap_or("");
    let (port_text, export) = match port_export.split_once('/') {
        Some((p, e)) => (p, e),
        None => (port_export, ""),
    };
    let (port, export) = if port_text.is_empty() {
        (DEFAULT_PORT, export.to_owned())
    } else if port_text.bytes().all(|b| b.is_ascii_digit()) {
        let port = port_text
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("nbd port '{port_text}' is not 1-65535"))?;
        (port, export.to_owned())
    } else if export.is_empty() {
        (DEFAULT_PORT, port_text.to_owned())
    } else {
        return Err(format!(
            "nbd port '{port_text}' is not a number (give nbd:SERVER:PORT/EXPORT)"
        ));
    };
    if export.len() > MAX_NAME {
        return Err(format!("nbd export name is longer than {MAX_NAME} bytes"));
    }
    let fstype = parts
        .next()
        .filter(|f| !f.is_empty() && *f != "auto")
        .map(str::to_owned);
    let mut fs_options = Vec::new();
    let mut read_only = false;
    for f in parts
        .next()
        .unwrap_or("")
        .split(',')
        .filter(|f| !f.is_empty())
    {
        match f {
            "ro" => read_only = true,
            "rw" => read_only = false,
            _ => fs_options.push(f.to_owned()),
        }
    }
    let client_options = parts
        .next()
        .unwrap_or("")
        .split(',')
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(NbdSpec {
        server,
        port,
        export,
        fstype,
        fs_options,
        read_only,
        client_options,
    })
}

const NBDMAGIC: u64 = 0x4e42_444d_4147_4943;
const IHAVEOPT: u64 = 0x4948_4156_454f_5054;
// The handshake's numbers (the NBD protocol); the kernel's genetlink ones
// are below, alike only in shape.
const OLDSTYLE: u64 = 0x0000_4202_8186_1253;
const REPLY_MAGIC: u64 = 0x0003_e889_0455_65a9;
const FLAG_FIXED_NEWSTYLE: u16 = 1;
const FLAG_NO_ZEROES: u16 = 2;
const OPT_EXPORT_NAME: u32 = 1;
const OPT_GO: u32 = 7;
const REP_ACK: u32 = 1;
const REP_INFO: u32 = 3;
const REP_ERR: u32 = 1 << 31;
const INFO_EXPORT: u16 = 0;
const INFO_BLOCK_SIZE: u16 = 3;
/// Transmission flag: the export is read-only.
pub const TFLAG_READ_ONLY: u16 = 2;
/// The protocol's limit on names and strings.
const MAX_NAME: usize = 4096;
/// The largest option reply read; a bigger one is refused rather than
/// allocated (a server must not make the client allocate gigabytes).
const MAX_REPLY: u32 = 64 * 1024;

/// What the server said about the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Export {
    pub size: u64,
    pub flags: u16,
    /// The server's minimum block size, when it said one.
    pub min_block: Option<u32>,
}

impl Export {
    pub fn read_only(&self) -> bool {
        self.flags & TFLAG_READ_ONLY != 0
    }

    /// The block size to give the kernel, which becomes the device's
    /// logical block size: 512, as nbd-client gives, so a filesystem with
    /// 1 KiB blocks (mkfs.ext4's choice for small images) still mounts;
    /// more only when the server needs it (its minimum, if the kernel
    /// takes it: a power of two up to 4096).
    pub fn kernel_block_size(&self) -> u64 {
        match self.min_block.map(u64::from) {
            Some(b) if b.is_power_of_two() && (512..=4096).contains(&b) => b,
            _ => 512,
        }
    }
}

/// A handshake failure, in words for the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NbdError(pub String);

impl fmt::Display for NbdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NbdError {}

fn fail<T>(text: impl Into<String>) -> Result<T, NbdError> {
    Err(NbdError(text.into()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Greeting,
    ReplyHeader,
    ReplyData { kind: u32, len: usize },
    ExportNameReply,
    Done,
}

/// The client side of the fixed-newstyle handshake. Read exactly
/// [`Handshake::need`] bytes, give them to [`Handshake::feed`], send what
/// it returns; repeat until [`Handshake::export`] is `Some`.
#[derive(Debug, Clone)]
pub struct Handshake {
    state: State,
    name: String,
    no_zeroes: bool,
    option: u32,
    size: Option<(u64, u16)>,
    min_block: Option<u32>,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    let mut a = [0u8; 2];
    if let Some(s) = b.get(at..at + 2) {
        a.copy_from_slice(s);
    }
    u16::from_be_bytes(a)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        a.copy_from_slice(s);
    }
    u32::from_be_bytes(a)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    if let Some(s) = b.get(at..at + 8) {
        a.copy_from_slice(s);
    }
    u64::from_be_bytes(a)
}

fn option_request(option: u32, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + data.len());
    out.extend_from_slice(&IHAVEOPT.to_be_bytes());
    out.extend_from_slice(&option.to_be_bytes());
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(data);
    out
}

/// The name of an `NBD_REP_ERR_*` reply.
fn error_name(kind: u32) -> &'static str {
    match kind & !REP_ERR {
        1 => "unsupported",
        2 => "refused by policy",
        3 => "invalid request",
        4 => "not supported on this platform",
        5 => "TLS required",
        6 => "no such export",
        7 => "server shutting down",
        8 => "block size required",
        9 => "request too big",
        _ => "unknown error",
    }
}

impl Handshake {
    pub fn new(export: &str) -> Result<Self, NbdError> {
        if export.len() > MAX_NAME {
            return fail(format!("export name longer than {MAX_NAME} bytes"));
        }
        Ok(Handshake {
            state: State::Greeting,
            name: export.to_owned(),
            no_zeroes: false,
            option: OPT_GO,
            size: None,
            min_block: None,
        })
    }

    /// How many bytes to read next; 0 once done.
    pub fn need(&self) -> usize {
        match self.state {
            State::Greeting => 18,
            State::ReplyHeader => 20,
            State::ReplyData { len, .. } => len,
            State::ExportNameReply if self.no_zeroes => 10,
            State::ExportNameReply => 134,
            State::Done => 0,
        }
    }

    /// The export, once the handshake is over.
    pub fn export(&self) -> Option<Export> {
        match (self.state, self.size) {
            (State::Done, Some((size, flags))) => Some(Export {
                size,
                flags,
                min_block: self.min_block,
            }),
            _ => None,
        }
    }

    /// Takes exactly [`Handshake::need`] bytes; returns the bytes to send
    /// (possibly none).
    pub fn feed(&mut self, input: &[u8]) -> Result<Vec<u8>, NbdError> {
        if input.len() != self.need() || self.state == State::Done {
            return fail(format!(
                "handshake: got {} bytes where {} were expected",
                input.len(),
                self.need()
            ));
        }
        match self.state {
            State::Greeting => self.greeting(input),
            State::ReplyHeader => self.reply_header(input),
            State::ReplyData { kind, .. } => self.reply(kind, input),
            State::ExportNameReply => {
                self.size = Some((u64_at(input, 0), u16_at(input, 8)));
                self.state = State::Done;
                Ok(Vec::new())
            }
            State::Done => Ok(Vec::new()),
        }
    }

    fn greeting(&mut self, g: &[u8]) -> Result<Vec<u8>, NbdError> {
        if u64_at(g, 0) != NBDMAGIC {
            return fail("not an NBD server (no NBDMAGIC in its greeting)");
        }
        match u64_at(g, 8) {
            IHAVEOPT => {}
            OLDSTYLE => {
                return fail(
                    "the server speaks the old-style handshake, which has no export names; \
                     netinit needs newstyle (nbd-server 3.x and nbdkit speak it)",
                );
            }
            _ => return fail("the server's greeting has no IHAVEOPT magic"),
        }
        let flags = u16_at(g, 16);
        if flags & FLAG_FIXED_NEWSTYLE == 0 {
            return fail("the server does not offer fixed newstyle negotiation");
        }
        self.no_zeroes = flags & FLAG_NO_ZEROES != 0;
        let client = u32::from(FLAG_FIXED_NEWSTYLE | (flags & FLAG_NO_ZEROES));
        let mut out = client.to_be_bytes().to_vec();
        let mut go = Vec::with_capacity(8 + self.name.len());
        go.extend_from_slice(&(self.name.len() as u32).to_be_bytes());
        go.extend_from_slice(self.name.as_bytes());
        go.extend_from_slice(&1u16.to_be_bytes());
        go.extend_from_slice(&INFO_BLOCK_SIZE.to_be_bytes());
        out.extend(option_request(OPT_GO, &go));
        self.state = State::ReplyHeader;
        Ok(out)
    }

    fn reply_header(&mut self, h: &[u8]) -> Result<Vec<u8>, NbdError> {
        if u64_at(h, 0) != REPLY_MAGIC {
            return fail("the server's option reply has no reply magic");
        }
        let option = u32_at(h, 8);
        if option != self.option {
            return fail(format!(
                "the server replied to option {option}, not to {}",
                self.option
            ));
        }
        let kind = u32_at(h, 12);
        let len = u32_at(h, 16);
        if len > MAX_REPLY {
            return fail(format!(
                "option reply of {len} bytes (more than {MAX_REPLY})"
            ));
        }
        self.state = State::ReplyData {
            kind,
            len: len as usize,
        };
        if len == 0 {
            return self.reply(kind, &[]);
        }
        Ok(Vec::new())
    }

    fn reply(&mut self, kind: u32, data: &[u8]) -> Result<Vec<u8>, NbdError> {
        self.state = State::ReplyHeader;
        match kind {
            REP_ACK => match self.size {
                Some(_) => {
                    self.state = State::Done;
                    Ok(Vec::new())
                }
                None => fail("the server ended the export's info without its size"),
            },
            REP_INFO => {
                match u16_at(data, 0) {
                    INFO_EXPORT if data.len() == 12 => {
                        self.size = Some((u64_at(data, 2), u16_at(data, 10)));
                    }
                    INFO_EXPORT => return fail("malformed export info"),
                    INFO_BLOCK_SIZE if data.len() == 14 => {
                        self.min_block = Some(u32_at(data, 2));
                    }
                    INFO_BLOCK_SIZE => return fail("malformed block size info"),
                    _ => {} // other info the client did not ask for
                }
                Ok(Vec::new())
            }
            k if k == REP_ERR | 1 && self.option == OPT_GO => {
                // An older server: ask the pre-GO way, which has no error reply.
                self.option = OPT_EXPORT_NAME;
                self.state = State::ExportNameReply;
                Ok(option_request(OPT_EXPORT_NAME, self.name.as_bytes()))
            }
            k if k & REP_ERR != 0 => {
                let text: String = String::from_utf8_lossy(data)
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect();
                let name = if self.name.is_empty() {
                    "(default)"
                } else {
                    &self.name
                };
                let text = if text.is_empty() {
                    String::new()
                } else {
                    format!(" ({text})")
                };
                fail(format!("export '{name}': {}{text}", error_name(k)))
            }
            other => fail(format!("unexpected option reply type {other}")),
        }
    }
}

// Generic netlink: the nbd driver's family, looked up by name.
const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
/// The nbd driver's generic-netlink family name.
pub const FAMILY: &str = "nbd";
const NBD_CMD_CONNECT: u8 = 1;
const NBD_GENL_VERSION: u8 = 1;
const NBD_ATTR_INDEX: u16 = 1;
const NBD_ATTR_SIZE_BYTES: u16 = 2;
const NBD_ATTR_BLOCK_SIZE_BYTES: u16 = 3;
const NBD_ATTR_SERVER_FLAGS: u16 = 5;
const NBD_ATTR_SOCKETS: u16 = 7;
const NBD_SOCK_ITEM: u16 = 1;
const NBD_SOCK_FD: u16 = 1;
const NLA_F_NESTED: u16 = 1 << 15;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLMSG_ERROR: u16 = 2;
const NLMSG_HDRLEN: usize = 16;

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

fn attr(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
    out.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(data);
    out.resize(align4(out.len()), 0);
}

fn genl(family: u16, cmd: u8, version: u8, seq: u32, attrs: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(NLMSG_HDRLEN + 4 + attrs.len());
    let len = (NLMSG_HDRLEN + 4 + attrs.len()) as u32;
    out.extend_from_slice(&len.to_ne_bytes());
    out.extend_from_slice(&family.to_ne_bytes());
    out.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.extend_from_slice(&[cmd, version, 0, 0]);
    out.extend_from_slice(attrs);
    out
}

/// CTRL_CMD_GETFAMILY for `name`.
pub fn get_family(seq: u32, name: &str) -> Vec<u8> {
    let mut a = Vec::new();
    let mut z = name.as_bytes().to_vec();
    z.push(0);
    attr(&mut a, CTRL_ATTR_FAMILY_NAME, &z);
    genl(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, seq, &a)
}

/// NBD_CMD_CONNECT: the kernel takes `fd` (already past the handshake)
/// and picks a free device, whose index it answers with.
pub fn connect(family: u16, seq: u32, fd: u32, export: &Export) -> Vec<u8> {
    let mut a = Vec::new();
    attr(&mut a, NBD_ATTR_SIZE_BYTES, &export.size.to_ne_bytes());
    attr(
        &mut a,
        NBD_ATTR_BLOCK_SIZE_BYTES,
        &export.kernel_block_size().to_ne_bytes(),
    );
    attr(
        &mut a,
        NBD_ATTR_SERVER_FLAGS,
        &u64::from(export.flags).to_ne_bytes(),
    );
    let mut item = Vec::new();
    attr(&mut item, NBD_SOCK_FD, &fd.to_ne_bytes());
    let mut sockets = Vec::new();
    attr(&mut sockets, NBD_SOCK_ITEM | NLA_F_NESTED, &item);
    attr(&mut a, NBD_ATTR_SOCKETS | NLA_F_NESTED, &sockets);
    genl(family, NBD_CMD_CONNECT, NBD_GENL_VERSION, seq, &a)
}

/// One generic-netlink message from the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// NLMSG_ERROR: 0 is the ACK.
    Ack { seq: u32, errno: i32 },
    /// A reply with attributes (type and value bytes).
    Attrs {
        seq: u32,
        attrs: Vec<(u16, Vec<u8>)>,
    },
}

/// Decodes a datagram of generic-netlink replies.
pub fn decode(buf: &[u8]) -> Result<Vec<Reply>, NbdError> {
    let mut out = Vec::new();
    let mut rest = buf;
    while rest.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let kind = u16::from_ne_bytes([rest[4], rest[5]]);
        let seq = u32::from_ne_bytes([rest[8], rest[9], rest[10], rest[11]]);
        if len < NLMSG_HDRLEN || len > rest.len() {
            return fail(format!(
                "malformed netlink reply: length {len} with {} bytes left",
                rest.len()
            ));
        }
        let body = &rest[NLMSG_HDRLEN..len];
        if kind == NLMSG_ERROR {
            let raw = body
                .get(..4)
                .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                .ok_or_else(|| NbdError("malformed netlink error".into()))?;
            out.push(Reply::Ack {
                seq,
                errno: raw.saturating_neg(),
            });
        } else if body.len() >= 4 {
            out.push(Reply::Attrs {
                seq,
                attrs: attrs(&body[4..]),
            });
        }
        rest = rest.get(align4(len)..).unwrap_or(&[]);
    }
    Ok(out)
}

fn attrs(mut b: &[u8]) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    while b.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([b[0], b[1]]));
        let kind = u16::from_ne_bytes([b[2], b[3]]) & !NLA_F_NESTED;
        let Some(value) = b.get(4..len.max(4)) else {
            break;
        };
        if len < 4 {
            break;
        }
        out.push((kind, value.to_vec()));
        b = b.get(align4(len)..).unwrap_or(&[]);
    }
    out
}

fn find(attrs: &[(u16, Vec<u8>)], kind: u16) -> Option<&[u8]> {
    attrs
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, v)| v.as_slice())
}

/// The family id in a CTRL_CMD_GETFAMILY reply.
pub fn family_id(attrs: &[(u16, Vec<u8>)]) -> Option<u16> {
    find(attrs, CTRL_ATTR_FAMILY_ID)
        .and_then(|v| v.get(..2))
        .map(|v| u16::from_ne_bytes([v[0], v[1]]))
}

/// The device index in an NBD_CMD_CONNECT reply.
pub fn device_index(attrs: &[(u16, Vec<u8>)]) -> Option<u32> {
    find(attrs, NBD_ATTR_INDEX)
        .and_then(|v| v.get(..4))
        .map(|v| u32::from_ne_bytes([v[0], v[1], v[2], v[3]]))
}

/// How many bytes [`sniff_fstype`] wants from the start of the device.
pub const SNIFF_BYTES: usize = 4096;

/// The filesystem whose superblock starts the device, for `fstype=auto`.
pub fn sniff_fstype(head: &[u8]) -> Option<&'static str> {
    let at = |off: usize, magic: &[u8]| head.get(off..off + magic.len()) == Some(magic);
    if at(0, b"hsqs") {
        Some("squashfs")
    } else if at(1024, &[0xe2, 0xe1, 0xf5, 0xe0]) {
        Some("erofs")
    } else if at(1080, &[0x53, 0xef]) {
        // ext2 and ext3 mount with the ext4 driver.
        Some("ext4")
    } else if at(0, b"XFSB") {
        Some("xfs")
    } else {
        None
    }
}

/// Mount options that are flags of mount(2), not filesystem data (the
/// kernel's ext4 refuses `noatime` as data).
pub const FLAG_OPTIONS: [&str; 9] = [
    "noatime",
    "nodiratime",
    "relatime",
    "strictatime",
    "nosuid",
    "nodev",
    "noexec",
    "sync",
    "dirsync",
];

/// Splits rootflags into mount(2) flags (by name, from [`FLAG_OPTIONS`])
/// and the filesystem's data string.
pub fn split_options(options: &[String]) -> (Vec<&'static str>, String) {
    let mut flags = Vec::new();
    let mut data = Vec::new();
    for o in options {
        match FLAG_OPTIONS.iter().find(|f| **f == o) {
            Some(f) => flags.push(*f),
            None => data.push(o.as_str()),
        }
    }
    (flags, data.join(","))
}

/// Filesystems that can only be mounted read-only, so always get an overlay.
pub fn read_only_fs(fstype: &str) -> bool {
    matches!(fstype, "squashfs" | "erofs" | "iso9660")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn greeting(flags: u16) -> Vec<u8> {
        let mut g = NBDMAGIC.to_be_bytes().to_vec();
        g.extend_from_slice(&IHAVEOPT.to_be_bytes());
        g.extend_from_slice(&flags.to_be_bytes());
        g
    }

    fn reply(option: u32, kind: u32, data: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let mut h = REPLY_MAGIC.to_be_bytes().to_vec();
        h.extend_from_slice(&option.to_be_bytes());
        h.extend_from_slice(&kind.to_be_bytes());
        h.extend_from_slice(&(data.len() as u32).to_be_bytes());
        (h, data.to_vec())
    }

    fn info_export(size: u64, flags: u16) -> Vec<u8> {
        let mut d = INFO_EXPORT.to_be_bytes().to_vec();
        d.extend_from_slice(&size.to_be_bytes());
        d.extend_from_slice(&flags.to_be_bytes());
        d
    }

    /// Feeds a reply (header, then data if any).
    fn feed_reply(
        h: &mut Handshake,
        option: u32,
        kind: u32,
        data: &[u8],
    ) -> Result<Vec<u8>, NbdError> {
        let (head, body) = reply(option, kind, data);
        let out = h.feed(&head)?;
        if body.is_empty() {
            return Ok(out);
        }
        h.feed(&body)
    }

    #[test]
    fn go_handshake() {
        let mut h = Handshake::new("root").unwrap();
        assert_eq!(h.need(), 18);
        let sent = h.feed(&greeting(3)).unwrap();
        // Client flags: fixed newstyle + no zeroes.
        assert_eq!(&sent[..4], &[0, 0, 0, 3]);
        assert_eq!(u64_at(&sent, 4), IHAVEOPT);
        assert_eq!(u32_at(&sent, 12), OPT_GO);
        assert_eq!(u32_at(&sent, 16) as usize, 4 + 4 + 2 + 2);
        assert_eq!(u32_at(&sent, 20), 4);
        assert_eq!(&sent[24..28], b"root");
        assert_eq!(h.need(), 20);
        let mut bs = INFO_BLOCK_SIZE.to_be_bytes().to_vec();
        for v in [4096u32, 4096, 1 << 25] {
            bs.extend_from_slice(&v.to_be_bytes());
        }
        feed_reply(&mut h, OPT_GO, REP_INFO, &bs).unwrap();
        feed_reply(
            &mut h,
            OPT_GO,
            REP_INFO,
            &info_export(1 << 20, 1 | TFLAG_READ_ONLY),
        )
        .unwrap();
        assert_eq!(h.export(), None);
        feed_reply(&mut h, OPT_GO, REP_ACK, &[]).unwrap();
        let e = h.export().unwrap();
        assert_eq!(e.size, 1 << 20);
        assert!(e.read_only());
        assert_eq!(e.kernel_block_size(), 4096);
        assert_eq!(h.need(), 0);
    }

    #[test]
    fn old_server_falls_back_to_export_name() {
        for (flags, need) in [(1u16, 134usize), (3, 10)] {
            let mut h = Handshake::new("x").unwrap();
            h.feed(&greeting(flags)).unwrap();
            let sent = feed_reply(&mut h, OPT_GO, REP_ERR | 1, &[]).unwrap();
            assert_eq!(u32_at(&sent, 8), OPT_EXPORT_NAME);
            assert_eq!(&sent[16..], b"x");
            assert_eq!(h.need(), need);
            let mut r = vec![0u8; need];
            r[..8].copy_from_slice(&(512u64 * 3).to_be_bytes());
            h.feed(&r).unwrap();
            assert_eq!(h.export().unwrap().size, 1536);
            assert_eq!(h.export().unwrap().kernel_block_size(), 512);
            assert_eq!(h.export().unwrap().min_block, None);
        }
    }

    #[test]
    fn failures_say_what_went_wrong() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![0u8; 18], "not an NBD server"),
            (
                {
                    let mut g = NBDMAGIC.to_be_bytes().to_vec();
                    g.extend_from_slice(&OLDSTYLE.to_be_bytes());
                    g.extend_from_slice(&[0, 0]);
                    g
                },
                "old-style",
            ),
            (greeting(0), "fixed newstyle"),
        ];
        for (g, want) in cases {
            let mut h = Handshake::new("").unwrap();
            assert!(h.feed(&g).unwrap_err().0.contains(want), "{want}");
        }
        let mut h = Handshake::new("nope").unwrap();
        h.feed(&greeting(1)).unwrap();
        let e = feed_reply(&mut h, OPT_GO, REP_ERR | 6, b"unknown export\n").unwrap_err();
        assert_eq!(e.0, "export 'nope': no such export (unknown export)");
        let mut h = Handshake::new("").unwrap();
        h.feed(&greeting(1)).unwrap();
        assert!(
            feed_reply(&mut h, OPT_GO, REP_ACK, &[])
                .unwrap_err()
                .0
                .contains("without its size")
        );
        let mut h = Handshake::new("").unwrap();
        h.feed(&greeting(1)).unwrap();
        let (mut head, _) = reply(OPT_GO, REP_INFO, &[]);
        head[16..20].copy_from_slice(&(MAX_REPLY + 1).to_be_bytes());
        assert!(h.feed(&head).unwrap_err().0.contains("more than"));
        assert!(h.feed(&[0u8; 3]).unwrap_err().0.contains("expected"));
    }

    #[test]
    fn nbd_root_forms() {
        let ip = Ipv4Addr::new(10, 77, 0, 1);
        type Case<'a> = (&'a str, u16, &'a str, Option<&'a str>, &'a [&'a str], bool);
        let cases: Vec<Case> = vec![
            ("10.77.0.1:10809", 10809, "", None, &[], false),
            ("10.77.0.1:10809/root", 10809, "root", None, &[], false),
            (
                "10.77.0.1:2000/a/b:squashfs",
                2000,
                "a/b",
                Some("squashfs"),
                &[],
                false,
            ),
            (
                "10.77.0.1:2000:auto:ro,noatime",
                2000,
                "",
                None,
                &["noatime"],
                true,
            ),
            (
                "10.77.0.1:2000/x:ext4:ro,rw:timeout=30",
                2000,
                "x",
                Some("ext4"),
                &[],
                false,
            ),
            (
                "10.77.0.1:myexport",
                DEFAULT_PORT,
                "myexport",
                None,
                &[],
                false,
            ),
            ("10.77.0.1", DEFAULT_PORT, "", None, &[], false),
        ];
        for (text, port, export, fstype, opts, ro) in cases {
            let s = parse_nbd_root(text).unwrap();
            assert_eq!(s.server, ip, "{text}");
            assert_eq!(s.port, port, "{text}");
            assert_eq!(s.export, export, "{text}");
            assert_eq!(s.fstype.as_deref(), fstype, "{text}");
            assert_eq!(s.fs_options, opts, "{text}");
            assert_eq!(s.read_only, ro, "{text}");
        }
        assert_eq!(
            parse_nbd_root("10.77.0.1:1/x:ext4:ro:timeout=30,bs=4096")
                .unwrap()
                .client_options,
            ["timeout=30", "bs=4096"]
        );
        for (text, want) in [
            ("", "needs a server"),
            ("server.lab:10809", "not an IPv4 address"),
            ("10.77.0.1:0", "not 1-65535"),
            ("10.77.0.1:99999", "not 1-65535"),
            ("10.77.0.1:abc/x", "not a number"),
        ] {
            assert!(parse_nbd_root(text).unwrap_err().contains(want), "{text}");
        }
    }

    #[test]
    fn genetlink_messages() {
        let m = get_family(7, "nbd");
        assert_eq!(m.len(), 16 + 4 + 8);
        assert_eq!(u16::from_ne_bytes([m[4], m[5]]), GENL_ID_CTRL);
        assert_eq!(m[16], CTRL_CMD_GETFAMILY);
        assert_eq!(&m[24..28], b"nbd\0");
        let e = Export {
            size: 1 << 20,
            flags: 3,
            min_block: Some(1),
        };
        let c = connect(30, 8, 5, &e);
        assert_eq!(
            u32::from_ne_bytes([c[0], c[1], c[2], c[3]]) as usize,
            c.len()
        );
        assert_eq!(c[16], NBD_CMD_CONNECT);
        let parsed = attrs(&c[20..]);
        let kinds: Vec<u16> = parsed.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            kinds,
            [
                NBD_ATTR_SIZE_BYTES,
                NBD_ATTR_BLOCK_SIZE_BYTES,
                NBD_ATTR_SERVER_FLAGS,
                NBD_ATTR_SOCKETS
            ]
        );
        let item = attrs(&attrs(&parsed[3].1)[0].1);
        assert_eq!(item, [(NBD_SOCK_FD, 5u32.to_ne_bytes().to_vec())]);
        // A reply carrying the index, and an error.
        let mut r = Vec::new();
        let mut a = Vec::new();
        attr(&mut a, NBD_ATTR_INDEX, &2u32.to_ne_bytes());
        r.extend(genl(30, 1, 1, 8, &a));
        let mut err = genl(NLMSG_ERROR, 0, 0, 8, &[]);
        err.truncate(16);
        err.extend_from_slice(&(-16i32).to_ne_bytes());
        err[..4].copy_from_slice(&20u32.to_ne_bytes());
        r.extend(err);
        let replies = decode(&r).unwrap();
        match &replies[0] {
            Reply::Attrs { seq: 8, attrs } => assert_eq!(device_index(attrs), Some(2)),
            other => panic!("{other:?}"),
        }
        assert_eq!(replies[1], Reply::Ack { seq: 8, errno: 16 });
        assert!(decode(&[0xff; 20]).is_err());
    }

    #[test]
    fn flags_are_not_data() {
        let o: Vec<String> = ["noatime", "data=journal", "nodev", "errors=remount-ro"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            split_options(&o),
            (
                vec!["noatime", "nodev"],
                "data=journal,errors=remount-ro".to_owned()
            )
        );
    }

    #[test]
    fn sniffing() {
        let mut b = vec![0u8; SNIFF_BYTES];
        assert_eq!(sniff_fstype(&b), None);
        b[1080] = 0x53;
        b[1081] = 0xef;
        assert_eq!(sniff_fstype(&b), Some("ext4"));
        b[..4].copy_from_slice(b"hsqs");
        assert_eq!(sniff_fstype(&b), Some("squashfs"));
        assert_eq!(sniff_fstype(b"hs"), None);
    }

    proptest::proptest! {
        #[test]
        fn handshake_never_panics_and_needs_stay_bounded(chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..64), 0..12)) {
            let mut h = Handshake::new("e").unwrap();
            for c in chunks {
                let need = h.need();
                proptest::prop_assert!(need <= MAX_REPLY as usize);
                let mut input = c.clone();
                input.resize(need, 0);
                if h.feed(&input).is_err() {
                    break;
                }
            }
        }

        #[test]
        fn nbd_root_never_panics(s in ".{0,80}") {
            let _ = parse_nbd_root(&s);
        }

        #[test]
        fn decode_never_panics(b in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = decode(&b);
        }
    }
}
