//! The kernel's `ip=` parameter (Documentation/admin-guide/nfs/nfsroot.rst):
//! `ip=<client-ip>:<server-ip>:<gw-ip>:<netmask>:<hostname>:<device>:<autoconf>:<dns0-ip>:<dns1-ip>:<ntp0-ip>`
//! plus the short forms `ip=dhcp` and dracut's `ip=<dev>:dhcp`.

use std::fmt;
use std::net::Ipv4Addr;

/// An IPv4 address with its prefix length. Displays as `A.B.C.D/P`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Cidr {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Ipv4Cidr {
    /// The netmask for the prefix (prefix is clamped to 32).
    pub fn netmask(self) -> Ipv4Addr {
        let p = u32::from(self.prefix.min(32));
        let bits = if p == 0 { 0 } else { u32::MAX << (32 - p) };
        Ipv4Addr::from(bits)
    }

    /// The directed broadcast address of the subnet.
    pub fn broadcast(self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !u32::from(self.netmask()))
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The `<autoconf>` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Autoconf {
    /// `off`, `none`, `static`, or an empty field with a client address.
    Off,
    /// `on`, `any`, or empty without a client address.
    Any,
    Dhcp,
    Bootp,
    Rarp,
    Both,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_helpers() {
        let c = Ipv4Cidr {
            addr: Ipv4Addr::new(10, 77, 0, 5),
            prefix: 24,
        };
        assert_eq!(c.netmask(), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(c.broadcast(), Ipv4Addr::new(10, 77, 0, 255));
        assert_eq!(c.to_string(), "10.77.0.5/24");
        let z = Ipv4Cidr {
            addr: Ipv4Addr::new(1, 2, 3, 4),
            prefix: 0,
        };
        assert_eq!(z.netmask(), Ipv4Addr::UNSPECIFIED);
    }
}
