//! The DHCPv6 lease keeper's view of the system: its clock, the DHCPv6
//! exchange on one NIC (UDP port 546, multicast to ff02::1:2), the
//! address's lifetime, and whether another DHCPv6 client is at work.
//!
//! Port 546 is held only while an exchange is under way: the socket is
//! opened by the first send of a RENEW or REBIND and closed by
//! [`Lease6Io::close`] once the lease is renewed, so between renewals a
//! network manager's client finds the port free. The socket sets
//! SO_REUSEADDR, so a client that also sets it (systemd-networkd does)
//! can bind beside it; one that binds exclusively shows up as EADDRINUSE
//! at the next send. As in [`crate::lease`], no call removes an address.

use std::net::Ipv6Addr;
use std::os::fd::AsRawFd;

use netinit_core::keeper::{dhcp6_client_sockets, socket_inode};

use crate::ip6::Dhcp6Socket;
use crate::lease::{AddressState, Watch, owner_of, seed, wait_readable};
use crate::netlink::{Addresses6, RtNetlink};
use crate::{Result, SysError};

/// What the DHCPv6 keeper needs from the system.
pub trait Lease6Io: Watch {
    /// Milliseconds on CLOCK_BOOTTIME (suspend counts against a lease).
    fn now_ms(&self) -> u64;
    /// Seeds xids and jitter.
    fn seed(&mut self) -> u64;
    /// Sends a DHCPv6 payload from port 546 to ff02::1:2 port 547 on the
    /// interface, binding port 546 first if it is not held. EADDRINUSE
    /// from the bind means another client holds the port exclusively.
    fn send(&mut self, payload: &[u8]) -> Result<()>;
    /// Waits up to `timeout_ms` for one datagram from a server port and
    /// reads it, with its source; only waits while port 546 is not held.
    fn recv(&mut self, timeout_ms: u64, buf: &mut [u8]) -> Result<Option<(usize, Ipv6Addr)>>;
    /// Lets go of port 546 until the next send.
    fn close(&mut self);
}

/// [`Lease6Io`] on the real system.
#[derive(Debug)]
pub struct RealLease6Io {
    interface: String,
    ifindex: u32,
    address: Ipv6Addr,
    sock: Option<Dhcp6Socket>,
    netlink: RtNetlink,
}

impl RealLease6Io {
    pub fn open(interface: &str, ifindex: u32, address: Ipv6Addr) -> Result<Self> {
        Ok(RealLease6Io {
            interface: interface.to_owned(),
            ifindex,
            address,
            sock: None,
            netlink: RtNetlink::open()?,
        })
    }

    /// The inode of our own port-546 socket, which is not another client.
    fn own_inode(&self) -> Option<u64> {
        let fd = self.sock.as_ref()?.fd().as_raw_fd();
        let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
        socket_inode(&link.to_string_lossy())
    }
}

impl Lease6Io for RealLease6Io {
    fn now_ms(&self) -> u64 {
        crate::host::boottime_ms()
    }

    fn seed(&mut self) -> u64 {
        let o = self.address.octets();
        let mut low = [0u8; 8];
        low.copy_from_slice(o.get(8..).unwrap_or(&[0; 8]));
        seed(u64::from_be_bytes(low))
    }

    fn send(&mut self, payload: &[u8]) -> Result<()> {
        let sock = match self.sock.take() {
            Some(s) => s,
            None => Dhcp6Socket::open(self.ifindex, &self.interface)?,
        };
        let sent = sock.send(payload);
        self.sock = Some(sock);
        sent
    }

    fn recv(&mut self, timeout_ms: u64, buf: &mut [u8]) -> Result<Option<(usize, Ipv6Addr)>> {
        let Some(sock) = &self.sock else {
            std::thread::sleep(std::time::Duration::from_millis(timeout_ms));
            return Ok(None);
        };
        if let Some(r) = sock.recv(buf)? {
            return Ok(Some(r));
        }
        wait_readable(sock.fd(), timeout_ms, &self.interface)?;
        sock.recv(buf)
    }

    fn close(&mut self) {
        self.sock = None;
    }
}

impl Watch for RealLease6Io {
    fn address(&mut self) -> Result<AddressState> {
        let addrs = self.netlink.addresses6(self.ifindex)?;
        Ok(addrs
            .iter()
            .find(|a| a.addr == self.address)
            .map_or(AddressState::Gone, |a| AddressState::Present {
                valid_secs: a.valid_secs,
            }))
    }

    fn other_client(&mut self) -> Result<Option<String>> {
        let table = std::fs::read_to_string("/proc/net/udp6")
            .map_err(|e| SysError::from_io("read", "/proc/net/udp6", &e))?;
        let mine = self.own_inode();
        let inodes: Vec<u64> = dhcp6_client_sockets(&table, self.address)
            .into_iter()
            .filter(|i| Some(*i) != mine)
            .collect();
        if inodes.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            owner_of(&inodes).unwrap_or_else(|| "a process we cannot see".to_owned()),
        ))
    }
}
