//! AF_PACKET sockets for DHCP: the NIC has no address yet, so the client
//! sends and receives whole IPv4 datagrams on the link (SOCK_DGRAM: the
//! kernel adds and strips the Ethernet header).

use std::os::fd::OwnedFd;
use std::time::Duration;

use linux_raw_sys::if_packet::sockaddr_ll;
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::net::addr::{SocketAddrArg, SocketAddrLen, SocketAddrOpaque};
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};

use crate::{Result, SysError};

/// A `sockaddr_ll` for one interface, optionally with a destination MAC.
#[derive(Clone, Copy)]
struct LinkAddr(sockaddr_ll);

impl LinkAddr {
    fn new(ifindex: u32, dest: Option<[u8; 6]>) -> Self {
        let mut addr: sockaddr_ll = sockaddr_ll {
            sll_family: linux_raw_sys::net::AF_PACKET as u16,
            sll_protocol: (linux_raw_sys::if_ether::ETH_P_IP as u16).to_be(),
            sll_ifindex: ifindex as i32,
            sll_hatype: 0,
            sll_pkttype: 0,
            sll_halen: 0,
            sll_addr: [0; 8],
        };
        if let Some(mac) = dest {
            addr.sll_halen = 6;
            addr.sll_addr[..6].copy_from_slice(&mac);
        }
        LinkAddr(addr)
    }
}

// SAFETY: `with_sockaddr` passes a pointer to a fully initialised
// `sockaddr_ll` that lives for the duration of the call, with its exact
// size, which is the layout the kernel expects for AF_PACKET.
unsafe impl SocketAddrArg for LinkAddr {
    unsafe fn with_sockaddr<R>(
        &self,
        f: impl FnOnce(*const SocketAddrOpaque, SocketAddrLen) -> R,
    ) -> R {
        f(
            std::ptr::from_ref(&self.0).cast(),
            std::mem::size_of::<sockaddr_ll>() as SocketAddrLen,
        )
    }
}

/// One NIC's raw IPv4 socket.
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: u32,
    name: String,
}

impl PacketSocket {
    /// Opens a non-blocking AF_PACKET/SOCK_DGRAM socket bound to `ifindex`.
    pub fn open(ifindex: u32, name: &str) -> Result<Self> {
        let fd = rustix::net::socket_with(
            AddressFamily::PACKET,
            SocketType::DGRAM,
            SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
            Some(rustix::net::eth::IP),
        )
        .map_err(|e| SysError::new("socket", format!("AF_PACKET on {name}"), e))?;
        rustix::net::bind(&fd, &LinkAddr::new(ifindex, None))
            .map_err(|e| SysError::new("bind", format!("AF_PACKET to {name}"), e))?;
        Ok(PacketSocket {
            fd,
            ifindex,
            name: name.to_owned(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends an IPv4 datagram to the Ethernet broadcast address.
    pub fn broadcast(&self, datagram: &[u8]) -> Result<()> {
        rustix::net::sendto(
            &self.fd,
            datagram,
            SendFlags::empty(),
            &LinkAddr::new(self.ifindex, Some([0xff; 6])),
        )
        .map(drop)
        .map_err(|e| SysError::new("sendto", format!("DHCP on {}", self.name), e))
    }

    /// Reads one datagram if one is waiting.
    pub fn recv(&self, buf: &mut [u8]) -> Result<Option<usize>> {
        match rustix::net::recv(&self.fd, &mut *buf, RecvFlags::empty()) {
            Ok((_, n)) => Ok(Some(n.min(buf.len()))),
            Err(rustix::io::Errno::AGAIN) => Ok(None),
            Err(e) => Err(SysError::new("recv", format!("DHCP on {}", self.name), e)),
        }
    }
}

/// Waits until one of `sockets` is readable or `timeout` passes; returns
/// which are readable.
pub fn wait_readable(sockets: &[&PacketSocket], timeout: Duration) -> Result<Vec<bool>> {
    let mut fds: Vec<PollFd<'_>> = sockets
        .iter()
        .map(|s| PollFd::new(&s.fd, PollFlags::IN))
        .collect();
    let ts = Timespec {
        tv_sec: timeout.as_secs() as i64,
        tv_nsec: i64::from(timeout.subsec_nanos()),
    };
    match poll(&mut fds, Some(&ts)) {
        Ok(_) | Err(rustix::io::Errno::INTR) => Ok(fds
            .iter()
            .map(|f| f.revents().contains(PollFlags::IN))
            .collect()),
        Err(e) => Err(SysError::new("poll", "DHCP sockets", e)),
    }
}
