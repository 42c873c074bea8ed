//! The lease keeper's view of the system: its clock, one UDP send, the
//! interface's packet socket for replies, the address's lifetime, and
//! whether another DHCP client is at work on the interface.
//!
//! Replies are read from an AF_PACKET socket (the same filter the boot
//! client uses), not from a UDP socket on port 68: holding port 68 would
//! make a network manager's own DHCP client fail to bind. Requests go out
//! through a UDP socket that exists only for the one `sendto`, so routing
//! and ARP for the unicast renewal are the kernel's, and the port is free
//! again at once. There is deliberately no way here to remove an address.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, OwnedFd};

use linux_raw_sys::net::{SO_BINDTODEVICE, SOL_SOCKET};
use netinit_core::keeper::{dhcp_client_sockets, socket_inode};
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::io::Errno;
use rustix::net::{AddressFamily, SendFlags, SocketFlags, SocketType, sockopt};

use crate::netlink::{Netlink, RtNetlink};
use crate::packet::{PacketSocket, Received};
use crate::{Result, SysError};

/// DHCP's ports.
const CLIENT_PORT: u16 = 68;
const SERVER_PORT: u16 = 67;

/// The address as the kernel holds it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressState {
    /// Configured, with this many seconds of valid lifetime left
    /// (`u32::MAX`: forever, as netinit sets it).
    Present { valid_secs: u32 },
    /// Not on the interface any more.
    Gone,
}

/// What both keepers watch to know they are still wanted.
pub trait Watch {
    /// Our address on the interface, and its lifetime.
    fn address(&mut self) -> Result<AddressState>;
    /// Another DHCP client bound to the client port for our address,
    /// described (`dhclient (pid 412)`), if one runs.
    fn other_client(&mut self) -> Result<Option<String>>;
}

/// What the keeper needs from the system.
pub trait LeaseIo: Watch {
    /// Milliseconds on CLOCK_BOOTTIME (suspend counts against a lease).
    fn now_ms(&self) -> u64;
    /// Seeds xids and jitter.
    fn seed(&mut self) -> u64;
    /// Sends a DHCP payload from our address's port 68 to `to`'s port 67
    /// (`255.255.255.255` broadcasts on the interface). EADDRINUSE means
    /// another DHCP client holds port 68 exclusively.
    fn send(&mut self, to: Ipv4Addr, payload: &[u8]) -> Result<()>;
    /// Waits up to `timeout_ms` for one frame to port 68 and reads it.
    fn recv(&mut self, timeout_ms: u64, buf: &mut [u8]) -> Result<Option<Received>>;
}

/// [`LeaseIo`] on the real system.
#[derive(Debug)]
pub struct RealLeaseIo {
    interface: String,
    ifindex: u32,
    address: Ipv4Addr,
    packet: PacketSocket,
    netlink: RtNetlink,
}

impl RealLeaseIo {
    pub fn open(interface: &str, ifindex: u32, address: Ipv4Addr) -> Result<Self> {
        Ok(RealLeaseIo {
            interface: interface.to_owned(),
            ifindex,
            address,
            packet: PacketSocket::open(ifindex, interface)?,
            netlink: RtNetlink::open()?,
        })
    }
}

impl LeaseIo for RealLeaseIo {
    fn now_ms(&self) -> u64 {
        crate::host::boottime_ms()
    }

    fn seed(&mut self) -> u64 {
        seed(u64::from(u32::from(self.address)))
    }

    fn send(&mut self, to: Ipv4Addr, payload: &[u8]) -> Result<()> {
        let what = format!("UDP {}:{CLIENT_PORT} on {}", self.address, self.interface);
        let fail = |call: &'static str| {
            let what = what.clone();
            move |e| SysError::new(call, what, e)
        };
        let fd = rustix::net::socket_with(
            AddressFamily::INET,
            SocketType::DGRAM,
            SocketFlags::CLOEXEC,
            None,
        )
        .map_err(fail("socket"))?;
        // SO_REUSEADDR lets us share port 68 with a client that also sets
        // it; one that doesn't shows up as EADDRINUSE.
        sockopt::set_socket_reuseaddr(&fd, true).map_err(fail("setsockopt SO_REUSEADDR"))?;
        bind_to_device(&fd, &self.interface).map_err(fail("setsockopt SO_BINDTODEVICE"))?;
        if to.is_broadcast() {
            sockopt::set_socket_broadcast(&fd, true).map_err(fail("setsockopt SO_BROADCAST"))?;
        }
        rustix::net::bind(&fd, &SocketAddrV4::new(self.address, CLIENT_PORT))
            .map_err(fail("bind"))?;
        rustix::net::sendto(
            &fd,
            payload,
            SendFlags::empty(),
            &SocketAddrV4::new(to, SERVER_PORT),
        )
        .map(drop)
        .map_err(|e| SysError::new("sendto", format!("DHCP to {to}:{SERVER_PORT}"), e))
    }

    fn recv(&mut self, timeout_ms: u64, buf: &mut [u8]) -> Result<Option<Received>> {
        if let Some(r) = self.packet.recv(buf)? {
            return Ok(Some(r));
        }
        wait_readable(self.packet.fd(), timeout_ms, &self.interface)?;
        self.packet.recv(buf)
    }
}

/// Xids and jitter: the boot clock's nanoseconds, our pid and `salt`.
pub(crate) fn seed(salt: u64) -> u64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    let pid = rustix::process::getpid()
        .as_raw_nonzero()
        .get()
        .unsigned_abs();
    (ts.tv_nsec as u64).wrapping_mul(0x2545_f491_4f6c_dd1d) ^ u64::from(pid).rotate_left(32) ^ salt
}

/// Waits up to `timeout_ms` for `fd` to be readable (EINTR: returns early).
pub(crate) fn wait_readable(fd: &OwnedFd, timeout_ms: u64, interface: &str) -> Result<()> {
    let mut fds = [PollFd::new(fd, PollFlags::IN)];
    let ts = Timespec {
        tv_sec: i64::try_from(timeout_ms / 1000).unwrap_or(i64::MAX),
        tv_nsec: i64::try_from((timeout_ms % 1000) * 1_000_000).unwrap_or(0),
    };
    match poll(&mut fds, Some(&ts)) {
        Ok(_) | Err(Errno::INTR) => Ok(()),
        Err(e) => Err(SysError::new("poll", format!("DHCP on {interface}"), e)),
    }
}

impl Watch for RealLeaseIo {
    fn address(&mut self) -> Result<AddressState> {
        let addrs = self.netlink.addresses(self.ifindex)?;
        Ok(addrs
            .iter()
            .find(|a| a.cidr.addr == self.address)
            .map_or(AddressState::Gone, |a| AddressState::Present {
                valid_secs: a.valid_secs,
            }))
    }

    fn other_client(&mut self) -> Result<Option<String>> {
        let table = std::fs::read_to_string("/proc/net/udp")
            .map_err(|e| SysError::from_io("read", "/proc/net/udp", &e))?;
        let inodes = dhcp_client_sockets(&table, self.address);
        if inodes.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            owner_of(&inodes).unwrap_or_else(|| "a process we cannot see".to_owned()),
        ))
    }
}

/// `comm (pid N)` of the process holding one of `inodes`, by walking
/// /proc/*/fd. Our own process is skipped.
pub(crate) fn owner_of(inodes: &[u64]) -> Option<String> {
    let me = std::process::id().to_string();
    for proc in std::fs::read_dir("/proc").ok()?.flatten() {
        let pid = proc.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(proc.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path())
                .ok()
                .and_then(|l| socket_inode(&l.to_string_lossy()))
                .is_some_and(|i| inodes.contains(&i))
        });
        if holds {
            let comm = std::fs::read_to_string(proc.path().join("comm")).unwrap_or_default();
            return Some(format!("{} (pid {pid})", comm.trim()));
        }
    }
    None
}

fn bind_to_device(fd: &OwnedFd, name: &str) -> std::result::Result<(), Errno> {
    let bytes = name.as_bytes();
    // SAFETY: a pointer to the name's bytes with their exact length; the
    // kernel copies at most IFNAMSIZ of them and needs no terminator when
    // the length is given.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            SOL_SOCKET as i32,
            SO_BINDTODEVICE as i32,
            bytes.as_ptr().cast(),
            bytes.len() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(Errno::from_raw_os_error(
            std::io::Error::last_os_error().raw_os_error().unwrap_or(5),
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code
    use super::*;

    /// On `lo` in the test's own process (loopback traffic only): a send
    /// goes out from port 68, another client's exclusive port 68 shows as
    /// EADDRINUSE, and that client is named.
    #[test]
    #[ignore = "needs root: run by scripts/test.sh"]
    fn sends_from_port_68_and_sees_another_client() {
        let lo: u32 = std::fs::read_to_string("/sys/class/net/lo/ifindex")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let server = std::net::UdpSocket::bind("127.0.0.1:67").unwrap();
        server
            .set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        let mut io = RealLeaseIo::open("lo", lo, Ipv4Addr::LOCALHOST).unwrap();
        assert_eq!(io.other_client().unwrap(), None);
        io.send(Ipv4Addr::LOCALHOST, b"renew").unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = server.recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from.port()), (&b"renew"[..], 68));
        assert_eq!(
            io.address().unwrap(),
            AddressState::Present {
                valid_secs: u32::MAX
            }
        );
        // A client that holds port 68 without SO_REUSEADDR (std doesn't set it).
        let other = std::net::UdpSocket::bind("127.0.0.1:68").unwrap();
        let e = io.send(Ipv4Addr::LOCALHOST, b"renew").unwrap_err();
        assert_eq!((e.call, e.errno), ("bind", Errno::ADDRINUSE.raw_os_error()));
        // The owner is this test process, which `owner_of` skips as "us".
        assert_eq!(
            io.other_client().unwrap().as_deref(),
            Some("a process we cannot see")
        );
        drop(other);
        assert_eq!(io.other_client().unwrap(), None);
    }
}
