//! NBD: the TCP connection and handshake, then the socket handed to the
//! kernel's nbd driver over generic netlink (`NBD_CMD_CONNECT`). The
//! kernel keeps its own reference to the socket, so no process has to
//! stay behind for the device to live on after switch_root.

use std::io::Read;
use std::net::SocketAddrV4;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use netinit_core::nbd::{self as codec, Export, Handshake, NbdError, Reply};
use rustix::net::netlink::SocketAddrNetlink;
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};

use crate::SysError;

/// Why a connection failed: a syscall (with its errno) or the server's
/// answer in the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    Sys(SysError),
    Handshake { server: String, error: NbdError },
}

impl ConnectError {
    /// A server that is not there yet (or went away mid-handshake) may
    /// come up; a refused export or a missing driver will not.
    pub fn is_transient(&self) -> bool {
        match self {
            ConnectError::Sys(e) => {
                use netinit_core::errno::*;
                matches!(
                    e.errno,
                    ECONNREFUSED | ETIMEDOUT | EHOSTUNREACH | ENETUNREACH | ECONNRESET | EAGAIN
                ) && e.call != "netlink"
            }
            ConnectError::Handshake { .. } => false,
        }
    }
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Sys(e) => e.fmt(f),
            ConnectError::Handshake { server, error } => {
                write!(f, "NBD handshake with {server}: {error}")
            }
        }
    }
}

impl From<SysError> for ConnectError {
    fn from(e: SysError) -> Self {
        ConnectError::Sys(e)
    }
}

/// A connected device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connected {
    /// `/dev/nbd<index>`.
    pub index: u32,
    pub export: Export,
}

/// Connects to `server`, negotiates `export`, and gives the socket to
/// the kernel. Each blocking call waits at most `timeout`.
pub fn connect(
    server: SocketAddrV4,
    export: &str,
    timeout: Duration,
) -> Result<Connected, ConnectError> {
    let (tcp, info) = negotiate(server, export, timeout)?;
    let index = hand_to_kernel(tcp.as_raw_fd(), &info)?;
    // The kernel holds its own reference; this descriptor may close.
    drop(tcp);
    Ok(Connected {
        index,
        export: info,
    })
}

/// The TCP connection and the handshake; the socket is ready for the
/// transmission phase. rustix, not std's TcpStream: std's TCP code would
/// be new bytes in /init, and connect(2) honours SO_SNDTIMEO.
pub fn negotiate(
    server: SocketAddrV4,
    export: &str,
    timeout: Duration,
) -> Result<(OwnedFd, Export), ConnectError> {
    use rustix::net::sockopt::{self, Timeout};
    let what = server.to_string();
    let sys = |call: &'static str, e: rustix::io::Errno| SysError::new(call, what.clone(), e);
    let fd = rustix::net::socket_with(
        AddressFamily::INET,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .map_err(|e| sys("socket", e))?;
    sockopt::set_socket_timeout(&fd, Timeout::Send, Some(timeout))
        .and_then(|()| sockopt::set_socket_timeout(&fd, Timeout::Recv, Some(timeout)))
        .and_then(|()| sockopt::set_tcp_nodelay(&fd, true))
        .map_err(|e| sys("setsockopt", e))?;
    rustix::net::connect(&fd, &server).map_err(|e| {
        // A connect cut short by SO_SNDTIMEO reports EINPROGRESS.
        let e = if e == rustix::io::Errno::INPROGRESS {
            rustix::io::Errno::TIMEDOUT
        } else {
            e
        };
        sys("connect", e)
    })?;
    let shake = |error| ConnectError::Handshake {
        server: what.clone(),
        error,
    };
    let mut h = Handshake::new(export).map_err(shake)?;
    let mut buf = Vec::new();
    let info = loop {
        if let Some(info) = h.export() {
            break info;
        }
        buf.resize(h.need(), 0);
        let mut got = 0;
        while got < buf.len() {
            match rustix::io::read(&fd, &mut buf[got..]) {
                Ok(0) => return Err(shake(NbdError("the server closed the connection".into()))),
                Ok(n) => got += n,
                Err(rustix::io::Errno::INTR) => {}
                Err(rustix::io::Errno::AGAIN) => {
                    return Err(sys("read", rustix::io::Errno::TIMEDOUT).into());
                }
                Err(e) => return Err(sys("read", e).into()),
            }
        }
        let out = h.feed(&buf).map_err(shake)?;
        let mut sent = 0;
        while sent < out.len() {
            match rustix::io::write(&fd, &out[sent..]) {
                Ok(n) => sent += n,
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(sys("write", e).into()),
            }
        }
    };
    // No timeouts once the kernel owns the socket: it waits like a hard mount.
    sockopt::set_socket_timeout(&fd, Timeout::Send, None)
        .and_then(|()| sockopt::set_socket_timeout(&fd, Timeout::Recv, None))
        .map_err(|e| sys("setsockopt", e))?;
    Ok((fd, info))
}

const KERNEL: SocketAddrNetlink = SocketAddrNetlink::new(0, 0);

fn genl_socket() -> Result<OwnedFd, SysError> {
    let fd = rustix::net::socket_with(
        AddressFamily::NETLINK,
        SocketType::RAW,
        SocketFlags::CLOEXEC,
        Some(rustix::net::netlink::GENERIC),
    )
    .map_err(|e| SysError::new("socket", "AF_NETLINK/NETLINK_GENERIC", e))?;
    rustix::net::bind(&fd, &KERNEL).map_err(|e| SysError::new("bind", "AF_NETLINK", e))?;
    Ok(fd)
}

/// Sends `msg` and returns the attributes of its reply, up to the ACK.
fn request(
    fd: &OwnedFd,
    msg: &[u8],
    seq: u32,
    what: &str,
) -> Result<Vec<(u16, Vec<u8>)>, SysError> {
    rustix::net::sendto(fd, msg, SendFlags::empty(), &KERNEL)
        .map_err(|e| SysError::new("sendto", what, e))?;
    let mut attrs = Vec::new();
    let mut buf = vec![0u8; 8192];
    // A reply, then the ACK; a bounded number of datagrams.
    for _ in 0..16 {
        let (n, _) = rustix::net::recv(fd, &mut buf[..], RecvFlags::empty())
            .map_err(|e| SysError::new("recv", what, e))?;
        let replies = codec::decode(buf.get(..n).unwrap_or(&[]))
            .map_err(|_| SysError::new("recv", what, rustix::io::Errno::BADMSG))?;
        for r in replies {
            match r {
                Reply::Ack { seq: s, errno } if s == seq => {
                    if errno != 0 {
                        return Err(SysError {
                            call: "netlink",
                            object: what.to_owned(),
                            errno,
                        });
                    }
                    return Ok(attrs);
                }
                Reply::Attrs { seq: s, attrs: a } if s == seq => attrs.extend(a),
                _ => {}
            }
        }
    }
    Err(SysError::new("recv", what, rustix::io::Errno::BADMSG))
}

fn hand_to_kernel(sock: i32, export: &Export) -> Result<u32, SysError> {
    let fd = genl_socket()?;
    let attrs = request(
        &fd,
        &codec::get_family(1, codec::FAMILY),
        1,
        "CTRL_CMD_GETFAMILY nbd",
    )?;
    let family = codec::family_id(&attrs).ok_or(SysError {
        call: "netlink",
        object: "CTRL_CMD_GETFAMILY nbd (no family id)".into(),
        errno: netinit_core::errno::EBADMSG,
    })?;
    let fd_num = u32::try_from(sock).unwrap_or(0);
    let attrs = request(
        &fd,
        &codec::connect(family, 2, fd_num, export),
        2,
        "NBD_CMD_CONNECT",
    )?;
    codec::device_index(&attrs).ok_or(SysError {
        call: "netlink",
        object: "NBD_CMD_CONNECT (no device index in the reply)".into(),
        errno: netinit_core::errno::EBADMSG,
    })
}

/// The NBD operations the root phase needs.
pub trait Nbd {
    /// [`connect`].
    fn nbd_connect(
        &mut self,
        server: SocketAddrV4,
        export: &str,
        timeout: Duration,
    ) -> Result<Connected, ConnectError>;
    /// The first `len` bytes of a block device (for the superblock sniffer).
    fn read_head(&self, dev: &std::path::Path, len: usize) -> Result<Vec<u8>, SysError>;
}

impl Nbd for crate::Linux {
    fn nbd_connect(
        &mut self,
        server: SocketAddrV4,
        export: &str,
        timeout: Duration,
    ) -> Result<Connected, ConnectError> {
        connect(server, export, timeout)
    }

    fn read_head(&self, dev: &std::path::Path, len: usize) -> Result<Vec<u8>, SysError> {
        read_head(dev, len)
    }
}

/// The first bytes of a block device, for the superblock sniffer.
pub fn read_head(dev: &std::path::Path, len: usize) -> Result<Vec<u8>, SysError> {
    let mut f = std::fs::File::open(dev)
        .map_err(|e| SysError::from_io("open", dev.display().to_string(), &e))?;
    let mut buf = vec![0u8; len];
    f.read_exact(&mut buf)
        .map_err(|e| SysError::from_io("read", dev.display().to_string(), &e))?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    /// nbdkit on loopback (scripts/setup.sh installs it): the GO
    /// handshake gives the size and the read-only flag. Skipped without nbdkit.
    #[test]
    fn handshake_with_nbdkit_on_loopback() {
        let port = 20000 + (std::process::id() % 20000) as u16;
        let child = Command::new("nbdkit")
            .args(["-f", "-r", "-i", "127.0.0.1", "-p", &port.to_string()])
            .args(["--exit-with-parent", "memory", "size=1M"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(mut child) = child else {
            eprintln!("nbdkit not installed: skipped");
            return;
        };
        let addr = SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, port);
        let mut got = None;
        for _ in 0..50 {
            match negotiate(addr, "", Duration::from_secs(5)) {
                Ok(r) => {
                    got = Some(r);
                    break;
                }
                Err(e) if e.is_transient() => std::thread::sleep(Duration::from_millis(100)),
                Err(e) => panic!("{e}"),
            }
        }
        let (_, export) = got.expect("nbdkit never answered");
        assert_eq!(export.size, 1 << 20);
        assert!(export.read_only());
        let _ = child.kill();
        let _ = child.wait();
    }

    #[test]
    fn refused_connection_is_transient() {
        // Port 1 on loopback: nothing listens.
        let e = negotiate(
            SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 1),
            "",
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(e.is_transient(), "{e}");
        assert!(
            e.to_string()
                .starts_with("connect 127.0.0.1:1: ECONNREFUSED"),
            "{e}"
        );
    }
}
