//! rtnetlink: links, addresses, routes. The message codec is pure
//! (`netinit_core::netlink`); this module owns the socket.
//!
//! The trait has no way to set a link down or delete an address: the root
//! filesystem rides on the link, so netinit never does either.

use std::net::Ipv4Addr;

use netinit_core::ipconf::Ipv4Cidr;
use netinit_core::net::MacAddr;

use crate::Result;

/// One network interface as rtnetlink reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub index: u32,
    pub name: String,
    /// `None` for links without an Ethernet address (lo, tunnels).
    pub mac: Option<MacAddr>,
    /// IFF_UP is set.
    pub up: bool,
    /// IFF_LOWER_UP: the PHY reports carrier.
    pub carrier: bool,
    pub mtu: u32,
    pub loopback: bool,
    /// ARPHRD_ETHER, i.e. a DHCP candidate.
    pub ethernet: bool,
}

/// The netlink operations netinit needs, and no others.
pub trait Netlink {
    /// Dumps every link.
    fn links(&mut self) -> Result<Vec<LinkInfo>>;
    /// Sets IFF_UP. Idempotent.
    fn set_up(&mut self, index: u32) -> Result<()>;
    fn set_mtu(&mut self, index: u32, mtu: u32) -> Result<()>;
    /// Adds an address with an infinite lifetime (see docs/decisions on
    /// lease expiry): the kernel never drops the root's address by itself.
    /// EEXIST for the same address is success.
    fn add_address(
        &mut self,
        index: u32,
        addr: Ipv4Cidr,
        broadcast: Option<Ipv4Addr>,
    ) -> Result<()>;
    /// Adds (or replaces) the IPv4 default route via `gateway` on `index`.
    fn add_default_route(&mut self, index: u32, gateway: Ipv4Addr) -> Result<()>;
    /// IPv4 addresses currently on `index`.
    fn addresses(&mut self, index: u32) -> Result<Vec<Ipv4Cidr>>;
}
