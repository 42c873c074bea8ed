//! IPv6 sockets for address configuration, both bound to one NIC: a raw
//! ICMPv6 socket for router solicitations and advertisements (the kernel
//! checks the checksum and reports the hop limit, which RFC 4861 wants
//! to be 255), and a UDP socket on port 546 for DHCPv6. Unlike DHCPv4 no
//! packet socket is needed: the link-local address exists before any
//! configuration.

use std::net::Ipv6Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use netinit_core::dhcp6::packet::{ALL_SERVERS, CLIENT_PORT, SERVER_PORT};
use netinit_core::dhcp6::ra::ALL_ROUTERS;
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::io::Errno;

use crate::{Result, SysError};

fn last_errno() -> Errno {
    Errno::from_raw_os_error(std::io::Error::last_os_error().raw_os_error().unwrap_or(5))
}

fn setopt<T>(fd: i32, level: i32, name: i32, value: &T) -> std::result::Result<(), Errno> {
    // SAFETY: a pointer to a live `T` with its exact size.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            std::ptr::from_ref(value).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if r == 0 { Ok(()) } else { Err(last_errno()) }
}

fn bind_to_device(fd: i32, name: &str) -> std::result::Result<(), Errno> {
    let n = name.as_bytes();
    // SAFETY: `n` is live for the call; the kernel reads `n.len()` bytes.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            n.as_ptr().cast(),
            n.len() as libc::socklen_t,
        )
    };
    if r == 0 { Ok(()) } else { Err(last_errno()) }
}

fn sockaddr6(addr: Ipv6Addr, port: u16, scope: u32) -> libc::sockaddr_in6 {
    // SAFETY: all-zero is a valid sockaddr_in6.
    let mut sa: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
    sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
    sa.sin6_port = port.to_be();
    sa.sin6_addr.s6_addr = addr.octets();
    sa.sin6_scope_id = scope;
    sa
}

/// The raw ICMPv6 socket of one NIC.
#[derive(Debug)]
pub struct Icmp6Socket {
    fd: OwnedFd,
    ifindex: u32,
    name: String,
}

impl Icmp6Socket {
    pub fn open(ifindex: u32, name: &str) -> Result<Self> {
        let err =
            |call: &'static str, e| SysError::new(call, format!("ICMPv6 socket on {name}"), e);
        // SAFETY: plain socket(2); the result is checked before use.
        let raw = unsafe {
            libc::socket(
                libc::AF_INET6,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                libc::IPPROTO_ICMPV6,
            )
        };
        if raw < 0 {
            return Err(err("socket", last_errno()));
        }
        // SAFETY: `raw` is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let hops: i32 = 255;
        setopt(raw, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_HOPS, &hops)
            .map_err(|e| err("setsockopt", e))?;
        setopt(raw, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, &1i32)
            .map_err(|e| err("setsockopt", e))?;
        bind_to_device(raw, name).map_err(|e| err("setsockopt", e))?;
        Ok(Icmp6Socket {
            fd,
            ifindex,
            name: name.to_owned(),
        })
    }

    /// Sends a router solicitation to ff02::2 (the kernel fills in the checksum).
    pub fn send_rs(&self, msg: &[u8]) -> Result<()> {
        let sa = sockaddr6(ALL_ROUTERS, 0, self.ifindex);
        // SAFETY: `msg` and `sa` are live for the call, lengths exact.
        let r = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                msg.as_ptr().cast(),
                msg.len(),
                0,
                std::ptr::from_ref(&sa).cast(),
                std::mem::size_of_val(&sa) as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(SysError::new(
                "sendto",
                format!("router solicitation on {}", self.name),
                last_errno(),
            ));
        }
        Ok(())
    }

    // Like packet.rs's `recv`, but with a source address and the hop-limit
    // cmsg: the unsafe msghdr set-up stays next to the cmsg it parses.
    /// One ICMPv6 message if waiting: (length, source, hop limit).
    pub fn recv(&self, buf: &mut [u8]) -> Result<Option<(usize, Ipv6Addr, u8)>> {
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let mut control = [0u64; 8];
        // SAFETY: all-zero is a valid sockaddr_in6 and msghdr.
        let mut from: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = std::ptr::from_mut(&mut from).cast();
        msg.msg_namelen = std::mem::size_of_val(&from) as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control) as _;
        // SAFETY: every pointer in `msg` refers to a live buffer of the
        // stated length for the duration of the call.
        let n = unsafe { libc::recvmsg(self.fd.as_raw_fd(), &mut msg, 0) };
        if n < 0 {
            return match last_errno() {
                Errno::AGAIN | Errno::INTR => Ok(None),
                e => Err(SysError::new(
                    "recvmsg",
                    format!("ICMPv6 on {}", self.name),
                    e,
                )),
            };
        }
        // No hop-limit message: treat as not from a neighbour (0).
        let mut hops = 0u8;
        // SAFETY: recvmsg filled `msg`; the CMSG macros stay inside
        // `msg_controllen`, and the int is read unaligned after a length check.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                let h = &*c;
                if h.cmsg_level == libc::IPPROTO_IPV6
                    && h.cmsg_type == libc::IPV6_HOPLIMIT
                    && h.cmsg_len as usize >= libc::CMSG_LEN(4) as usize
                {
                    let v: i32 = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                    hops = u8::try_from(v).unwrap_or(0);
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        let len = usize::try_from(n).unwrap_or(0).min(buf.len());
        Ok(Some((len, Ipv6Addr::from(from.sin6_addr.s6_addr), hops)))
    }

    pub fn fd(&self) -> &OwnedFd {
        &self.fd
    }
}

/// The DHCPv6 client socket of one NIC: UDP [::]:546 bound to the device.
#[derive(Debug)]
pub struct Dhcp6Socket {
    fd: OwnedFd,
    ifindex: u32,
    name: String,
}

impl Dhcp6Socket {
    pub fn open(ifindex: u32, name: &str) -> Result<Self> {
        let err =
            |call: &'static str, e| SysError::new(call, format!("DHCPv6 socket on {name}"), e);
        // SAFETY: plain socket(2); the result is checked before use.
        let raw = unsafe {
            libc::socket(
                libc::AF_INET6,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                0,
            )
        };
        if raw < 0 {
            return Err(err("socket", last_errno()));
        }
        // SAFETY: `raw` is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // One socket per NIC, all on port 546.
        setopt(raw, libc::SOL_SOCKET, libc::SO_REUSEADDR, &1i32)
            .map_err(|e| err("setsockopt", e))?;
        setopt(raw, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, &1i32)
            .map_err(|e| err("setsockopt", e))?;
        bind_to_device(raw, name).map_err(|e| err("setsockopt", e))?;
        let sa = sockaddr6(Ipv6Addr::UNSPECIFIED, CLIENT_PORT, 0);
        // SAFETY: `sa` is live for the call, length exact.
        let r = unsafe {
            libc::bind(
                raw,
                std::ptr::from_ref(&sa).cast(),
                std::mem::size_of_val(&sa) as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(err("bind", last_errno()));
        }
        Ok(Dhcp6Socket {
            fd,
            ifindex,
            name: name.to_owned(),
        })
    }

    pub fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    /// Sends to All_DHCP_Relay_Agents_and_Servers (ff02::1:2) port 547.
    pub fn send(&self, payload: &[u8]) -> Result<()> {
        let sa = sockaddr6(ALL_SERVERS, SERVER_PORT, self.ifindex);
        // SAFETY: `payload` and `sa` are live for the call, lengths exact.
        let r = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                payload.as_ptr().cast(),
                payload.len(),
                0,
                std::ptr::from_ref(&sa).cast(),
                std::mem::size_of_val(&sa) as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(SysError::new(
                "sendto",
                format!("DHCPv6 on {}", self.name),
                last_errno(),
            ));
        }
        Ok(())
    }

    /// One datagram from a server port (547) if waiting.
    pub fn recv(&self, buf: &mut [u8]) -> Result<Option<(usize, Ipv6Addr)>> {
        // SAFETY: all-zero is a valid sockaddr_in6.
        let mut from: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of_val(&from) as libc::socklen_t;
        // SAFETY: `buf` and `from` are live for the call with the lengths given.
        let n = unsafe {
            libc::recvfrom(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                0,
                std::ptr::from_mut(&mut from).cast(),
                &mut len,
            )
        };
        if n < 0 {
            return match last_errno() {
                Errno::AGAIN | Errno::INTR => Ok(None),
                e => Err(SysError::new(
                    "recvfrom",
                    format!("DHCPv6 on {}", self.name),
                    e,
                )),
            };
        }
        if u16::from_be(from.sin6_port) != SERVER_PORT {
            return Ok(None);
        }
        let n = usize::try_from(n).unwrap_or(0).min(buf.len());
        Ok(Some((n, Ipv6Addr::from(from.sin6_addr.s6_addr))))
    }
}

/// Waits until one of the sockets is readable or `timeout` passes.
pub fn wait(icmp: &Icmp6Socket, dhcp: Option<&Dhcp6Socket>, timeout: Duration) {
    let mut fds = vec![PollFd::new(icmp.fd(), PollFlags::IN)];
    if let Some(d) = dhcp {
        fds.push(PollFd::new(&d.fd, PollFlags::IN));
    }
    let ts = Timespec {
        tv_sec: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(timeout.subsec_nanos()),
    };
    // An error (EINTR) just means the caller loops once more.
    let _ = poll(&mut fds, Some(&ts));
}
