//! rtnetlink: links, addresses, routes. The message codec is pure
//! (`netinit_core::netlink`); this module owns the socket.
//!
//! The trait has no way to set a link down or delete an address: the root
//! filesystem rides on the link, so netinit never does either.

use std::net::Ipv4Addr;

use netinit_core::net::Ipv4Cidr;
use netinit_core::net::MacAddr;
use netinit_core::netdev::Bond;
pub use netinit_core::netlink::Addr;

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
    /// IFLA_MAX_MTU: the largest MTU the driver accepts; 0 if it doesn't say.
    pub max_mtu: u32,
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
    /// Renames a link that is down (dracut's `ifname=`).
    fn set_name(&mut self, index: u32, name: &str) -> Result<()>;
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
    /// Adds (or replaces) a route to `dest` on `index`, via `gateway`, or
    /// on-link (scope link) without one.
    fn add_route(&mut self, index: u32, dest: Ipv4Cidr, gateway: Option<Ipv4Addr>) -> Result<()>;
    /// IPv4 addresses currently on `index`, with their lifetimes.
    fn addresses(&mut self, index: u32) -> Result<Vec<Addr>>;
    /// Makes a VLAN on `parent`; one of that name already there is success.
    fn create_vlan(&mut self, name: &str, parent: u32, id: u16) -> Result<()> {
        let _ = (parent, id);
        Err(unsupported("create VLAN", name))
    }
    /// Makes a bond (down, no slaves); one of that name already there is success.
    fn create_bond(&mut self, bond: &Bond, primary: Option<u32>) -> Result<()> {
        let _ = primary;
        Err(unsupported("create bond", &bond.name))
    }
    /// Enslaves the (down) link `index` to the bond `master`.
    fn set_master(&mut self, index: u32, master: u32) -> Result<()> {
        let _ = master;
        Err(unsupported("enslave", &index.to_string()))
    }
}

fn unsupported(call: &'static str, object: &str) -> SysError {
    SysError::new(call, object, rustix::io::Errno::OPNOTSUPP)
}

/// EEXIST from a create: the link is already there (a second run).
fn exists_ok(r: Result<Vec<Message>>) -> Result<()> {
    match r {
        Err(e) if e.errno == rustix::io::Errno::EXIST.raw_os_error() => Ok(()),
        other => other.map(drop),
    }
}

use std::os::fd::OwnedFd;

use netinit_core::netlink::{self as codec, Message};
use rustix::net::netlink::SocketAddrNetlink;
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};

use crate::SysError;

/// A NETLINK_ROUTE socket.
#[derive(Debug)]
pub struct RtNetlink {
    fd: OwnedFd,
    seq: u32,
}

/// The kernel's address on a netlink socket.
const KERNEL: SocketAddrNetlink = SocketAddrNetlink::new(0, 0);

impl RtNetlink {
    pub fn open() -> Result<Self> {
        let fd = rustix::net::socket_with(
            AddressFamily::NETLINK,
            SocketType::RAW,
            SocketFlags::CLOEXEC,
            None,
        )
        .map_err(|e| SysError::new("socket", "AF_NETLINK/NETLINK_ROUTE", e))?;
        rustix::net::bind(&fd, &SocketAddrNetlink::new(0, 0))
            .map_err(|e| SysError::new("bind", "AF_NETLINK", e))?;
        Ok(RtNetlink { fd, seq: 1 })
    }

    /// Sends one request and collects replies until its ACK or DONE.
    /// `what` names the operation for errors (`RTM_NEWADDR 10.0.0.5/24 on 2`).
    fn request(&mut self, msg: Vec<u8>, what: &str) -> Result<Vec<Message>> {
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        let mut msg = msg;
        if let Some(slot) = msg.get_mut(8..12) {
            slot.copy_from_slice(&seq.to_ne_bytes());
        }
        rustix::net::sendto(&self.fd, &msg, SendFlags::empty(), &KERNEL)
            .map_err(|e| SysError::new("sendto", what, e))?;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let (n, _) = rustix::net::recv(&self.fd, &mut buf[..], RecvFlags::empty())
                .map_err(|e| SysError::new("recv", what, e))?;
            let msgs = codec::decode(buf.get(..n).unwrap_or(&[]))
                .map_err(|_| SysError::new("recv", what, rustix::io::Errno::BADMSG))?;
            for m in msgs {
                match m {
                    Message::Ack { seq: s, errno } if s == seq => {
                        return if errno == 0 {
                            Ok(out)
                        } else {
                            Err(SysError {
                                call: "netlink",
                                object: what.to_owned(),
                                errno,
                            })
                        };
                    }
                    Message::Done { seq: s } if s == seq => return Ok(out),
                    other => out.push(other),
                }
            }
        }
    }
}

/// IPv6: used only by the IPv6 step, which runs on the real socket.
impl RtNetlink {
    pub fn add_address6(
        &mut self,
        index: u32,
        addr: std::net::Ipv6Addr,
        prefix: u8,
        valid: u32,
        preferred: u32,
    ) -> Result<()> {
        self.request(
            codec::add_address6(0, index, addr, prefix, valid, preferred),
            &format!("add address {addr}/{prefix} on link {index}"),
        )
        .map(drop)
    }

    pub fn add_default_route6(&mut self, index: u32, gateway: std::net::Ipv6Addr) -> Result<()> {
        self.request(
            codec::add_default_route6(0, index, gateway),
            &format!("add IPv6 default route via {gateway} on link {index}"),
        )
        .map(drop)
    }

    fn dump_addresses6(&mut self, index: u32) -> Result<Vec<codec::Addr6>> {
        let msgs = self.request(codec::get_addresses6(0), "RTM_GETADDR (IPv6)")?;
        Ok(msgs
            .into_iter()
            .filter_map(|m| match m {
                Message::Addr6(a) if a.index == index => Some(a),
                _ => None,
            })
            .collect())
    }
}

/// IPv6 addresses on a link, with their flags: what the DAD wait reads.
pub trait Addresses6 {
    fn addresses6(&mut self, index: u32) -> Result<Vec<codec::Addr6>>;
}

impl Addresses6 for RtNetlink {
    fn addresses6(&mut self, index: u32) -> Result<Vec<codec::Addr6>> {
        self.dump_addresses6(index)
    }
}

impl Netlink for RtNetlink {
    fn links(&mut self) -> Result<Vec<LinkInfo>> {
        let msgs = self.request(codec::get_links(0), "RTM_GETLINK")?;
        Ok(msgs
            .into_iter()
            .filter_map(|m| match m {
                Message::Link(l) => Some(LinkInfo {
                    index: l.index,
                    name: l.name,
                    mac: l.mac.filter(|_| l.kind == codec::ARPHRD_ETHER),
                    up: l.flags & codec::IFF_UP != 0,
                    carrier: l.flags & codec::IFF_LOWER_UP != 0,
                    mtu: l.mtu,
                    max_mtu: l.max_mtu,
                    loopback: l.flags & codec::IFF_LOOPBACK != 0,
                    ethernet: l.kind == codec::ARPHRD_ETHER,
                }),
                _ => None,
            })
            .collect())
    }

    fn set_up(&mut self, index: u32) -> Result<()> {
        self.request(
            codec::set_link_up(0, index),
            &format!("set link {index} up"),
        )
        .map(drop)
    }

    fn set_name(&mut self, index: u32, name: &str) -> Result<()> {
        self.request(
            codec::set_name(0, index, name),
            &format!("rename link {index} to {name}"),
        )
        .map(drop)
    }

    fn set_mtu(&mut self, index: u32, mtu: u32) -> Result<()> {
        self.request(
            codec::set_mtu(0, index, mtu),
            &format!("set MTU {mtu} on link {index}"),
        )
        .map(drop)
    }

    fn add_address(
        &mut self,
        index: u32,
        addr: Ipv4Cidr,
        broadcast: Option<Ipv4Addr>,
    ) -> Result<()> {
        self.request(
            codec::add_address(0, index, addr, broadcast),
            &format!("add address {addr} on link {index}"),
        )
        .map(drop)
    }

    fn add_default_route(&mut self, index: u32, gateway: Ipv4Addr) -> Result<()> {
        self.request(
            codec::add_default_route(0, index, gateway),
            &format!("add default route via {gateway} on link {index}"),
        )
        .map(drop)
    }

    fn add_route(&mut self, index: u32, dest: Ipv4Cidr, gateway: Option<Ipv4Addr>) -> Result<()> {
        let via = gateway.map_or_else(|| "on-link".to_owned(), |g| format!("via {g}"));
        self.request(
            codec::add_route(0, index, dest, gateway),
            &format!("add route {dest} {via} on link {index}"),
        )
        .map(drop)
    }

    fn create_vlan(&mut self, name: &str, parent: u32, id: u16) -> Result<()> {
        let what = format!("create VLAN {name} (id {id}) on link {parent}");
        exists_ok(self.request(codec::new_vlan(0, name, parent, id), &what))
    }

    fn create_bond(&mut self, bond: &Bond, primary: Option<u32>) -> Result<()> {
        let what = format!(
            "create bond {} ({})",
            bond.name,
            bond.option_words().join(",")
        );
        exists_ok(self.request(codec::new_bond(0, bond, primary), &what))
    }

    fn set_master(&mut self, index: u32, master: u32) -> Result<()> {
        self.request(
            codec::set_master(0, index, master),
            &format!("enslave link {index} to link {master}"),
        )
        .map(drop)
    }

    fn addresses(&mut self, index: u32) -> Result<Vec<Addr>> {
        let msgs = self.request(codec::get_addresses(0), "RTM_GETADDR")?;
        Ok(msgs
            .into_iter()
            .filter_map(|m| match m {
                Message::Addr(a) if a.index == index => Some(a),
                _ => None,
            })
            .collect())
    }
}
