//! IPv6 beside the IPv4 NFS root: the lab's dnsmasq already advertises
//! fd77::/64 with the A flag (ra-only, for iPXE's sake), so `ip=dhcp,auto6`
//! forms an EUI-64 address there before switch_root, and the checker finds
//! it on the NIC, past DAD, and in /run/net6-IFACE.conf.

use crate::lab::SERVER;
use crate::scenario::one_virtio;
use crate::scenario::{Expect, Initrd, Scenario};

pub fn all() -> Vec<Scenario> {
    vec![Scenario {
        name: "dual-stack-auto6",
        what: "ip=dhcp,auto6: NFSv3 root over IPv4, and SLAAC from the lab's RA (fd77::/64) on the \
               same NIC; the checker finds the address past DAD and /run/net6-IFACE.conf",
        nics: one_virtio(),
        pxe: false,
        cmdline: format!("root=/dev/nfs nfsroot={SERVER}:/export/diskless-v6,v3 ip=dhcp,auto6"),
        diskless: Some("diskless-v6".into()),
        root_path: None,
        expect: Expect::Pass {
            lab: vec![
                ("root", "nfs".into()),
                ("proto", "dhcp".into()),
                ("ipv6", "fd77::".into()),
            ],
        },
        timeout_secs: 120,
        initrd: Initrd::Netinit,
    }]
}
