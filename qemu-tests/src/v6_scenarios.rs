//! IPv6 boots. The lab's dnsmasq advertises fd77::/64 with the A flag
//! (ra-only, for iPXE's sake) and ganesha listens on `::`, so:
//! - `dual-stack-auto6`: NFS root over IPv4, SLAAC beside it;
//! - `v6only-slaac`: `ip=auto6` alone, the NFS root on `[fd77::1]`;
//! - `dual-stack-nfs6`: `ip=dhcp,auto6`, the NFS root on `[fd77::1]`;
//! - `v6only-dhcp6`: `ip=dhcp6` alone, in a lab of its own whose dnsmasq
//!   hands out a stateful DHCPv6 pool instead (the RA's M flag would make
//!   every PXE guest of the shared lab run DHCPv6 too); its 2-minute
//!   lease is renewed by @netinit-lease6 while the guest waits.
//!
//! The checker finds the address on the NIC, past DAD, and in
//! /run/net6-IFACE.conf; for a root on IPv6, that / came over NFS with
//! `addr=fd77::1` and `proto=tcp6`, and reads a file only the server has.

use crate::lab::{Dhcp, SERVER};
use crate::scenario::{Expect, Scenario, netinit_boot};

/// The uptime (s) by which the DHCPv6 lab's guest must have seen its
/// lease renewed: T1 is 60 s after a lease taken in the first ~10 s.
const KEEPER6_RENEWS_BY: &str = "150";

/// The server's IPv6 address on br0.
pub const SERVER6: &str = "fd77::1";

/// Scenarios that boot in the DHCPv6 lab.
pub fn in_dhcp6_lab(name: &str) -> bool {
    name == "v6only-dhcp6"
}

/// dnsmasq for the DHCPv6 lab: a stateful pool in fd77::/64, on
/// dnsmasq's shortest lease (2 minutes, T1 at 1) so that the guest sees
/// @netinit-lease6 renew it.
pub fn dhcp6() -> Dhcp {
    Dhcp {
        range6: "fd77::100,fd77::1ff,64,2m",
        ..Dhcp::default()
    }
}

fn boot(
    name: &'static str,
    what: &'static str,
    cmdline: String,
    diskless: &str,
    lab: Vec<(&'static str, String)>,
) -> Scenario {
    Scenario {
        diskless: Some(diskless.into()),
        ..netinit_boot(name, what, cmdline, Expect::Pass { lab }, 120)
    }
}

/// The checker's words for an NFS root mounted over IPv6.
fn root6(proto: &str) -> Vec<(&'static str, String)> {
    vec![
        ("root", "nfs".into()),
        ("proto", proto.into()),
        ("ipv6", "fd77::".into()),
        ("server", SERVER6.into()),
        ("opts", "proto=tcp6".into()),
    ]
}

pub fn all() -> Vec<Scenario> {
    vec![
        boot(
            "dual-stack-auto6",
            "ip=dhcp,auto6: NFSv3 root over IPv4, and SLAAC from the lab's RA (fd77::/64) on the \
             same NIC; the checker finds the address past DAD and /run/net6-IFACE.conf",
            format!("root=/dev/nfs nfsroot={SERVER}:/export/diskless-v6,v3 ip=dhcp,auto6"),
            "diskless-v6",
            vec![
                ("root", "nfs".into()),
                ("proto", "dhcp".into()),
                ("ipv6", "fd77::".into()),
            ],
        ),
        boot(
            "v6only-slaac",
            "ip=auto6 alone: SLAAC from the lab's RA, no IPv4 at all, and the NFSv3 root on \
             [fd77::1] (addr=fd77::1, proto=tcp6)",
            format!("root=/dev/nfs nfsroot=[{SERVER6}]:/export/diskless-v6only,v3 ip=auto6"),
            "diskless-v6only",
            root6("none"),
        ),
        Scenario {
            // The renewal comes a minute after the lease.
            timeout_secs: 240,
            ..boot(
                "v6only-dhcp6",
                "ip=dhcp6 alone: the address from the DHCPv6 lab's stateful pool (fd77::100-1ff), \
                 no IPv4, and the NFS root on dracut's root=nfs:[fd77::1]:/…; @netinit-lease6 \
                 renews the 2-minute lease at T1 and the address stays",
                format!("root=nfs:[{SERVER6}]:/export/diskless-v6dhcp:vers=3 ip=dhcp6"),
                "diskless-v6dhcp",
                [
                    root6("none"),
                    vec![
                        ("keeper6", "1".into()),
                        ("keeper6_renews", KEEPER6_RENEWS_BY.into()),
                    ],
                ]
                .concat(),
            )
        },
        boot(
            "dual-stack-nfs6",
            "ip=dhcp,auto6 with the NFS root on the IPv6 address [fd77::1]: DHCPv4 and SLAAC on \
             one NIC, the mount over IPv6",
            format!("root=/dev/nfs nfsroot=[{SERVER6}]:/export/diskless-v6root,v3 ip=dhcp,auto6"),
            "diskless-v6root",
            root6("dhcp"),
        ),
    ]
}
