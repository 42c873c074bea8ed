//! Datacenter links: a tagged VLAN on a trunk port, an active-backup bond
//! that loses its active link after switch_root, and a root server on a
//! second subnet reached only through `rd.route=`, with a second `ip=`.

use crate::lab::SERVER;
use crate::scenario::{Initrd, Scenario, nic, pass};

use crate::lab::FAR_SERVER;

/// Console line after which the bond scenario's first NIC loses carrier.
pub const FAILOVER_TRIGGER: &str = "NETINIT-FAILOVER ready";

/// The console line that takes NIC 0's link down (QMP `set_link`).
pub fn link_off_trigger(name: &str) -> Option<&'static str> {
    (name == "bond-failover").then_some(FAILOVER_TRIGGER)
}

pub fn all() -> Vec<Scenario> {
    let s = SERVER;
    let far = FAR_SERVER;
    vec![
        Scenario {
            name: "vlan-trunk",
            what: "vlan=eth0.100:eth0: the NIC is on a trunk that carries DHCP and NFS only tagged with VLAN 100",
            nics: vec![nic("virtio-net-pci")],
            pxe: false,
            cmdline: format!(
                "boot=live netboot=nfs nfsroot={s}:/export/live vlan=eth0.100:eth0 ip=eth0.100:dhcp"
            ),
            diskless: None,
            root_path: None,
            expect: pass(&[
                ("root", "overlay"),
                ("proto", "dhcp"),
                ("dev", "eth0.100"),
                ("managers", "1"),
                ("netdev", "vlan"),
            ]),
            timeout_secs: 180,
            initrd: Initrd::Netinit,
        },
        Scenario {
            name: "bond-failover",
            what: "bond=bond0:eth0,eth1:mode=active-backup: after switch_root the active NIC loses its link (QMP set_link); the NFS root reads on through the other",
            nics: vec![nic("virtio-net-pci"), nic("virtio-net-pci")],
            pxe: false,
            cmdline: format!(
                "root=/dev/nfs nfsroot={s}:/export/bond-failover,v3 bond=bond0:eth0,eth1:mode=active-backup,miimon=100 ip=bond0:dhcp"
            ),
            diskless: Some("bond-failover".into()),
            root_path: None,
            expect: pass(&[
                ("root", "nfs"),
                ("proto", "dhcp"),
                ("dev", "bond0"),
                ("failover", "eth0"),
            ]),
            timeout_secs: 240,
            initrd: Initrd::Netinit,
        },
        Scenario {
            name: "route-second-subnet",
            what: "the NFS server is on 10.78.0.0/24, reached only through rd.route= (no default route); a second ip= word configures eth1",
            nics: vec![
                nic("virtio-net-pci"),
                crate::scenario::dead("virtio-net-pci"),
            ],
            pxe: false,
            cmdline: format!(
                "root=/dev/nfs nfsroot={far}:/export/route-second-subnet,v3 ip=10.77.0.62:::24:lab-route-second-subnet:eth0:off ip=10.88.0.5:::24::eth1:off rd.route=10.78.0.0/24:{s}"
            ),
            diskless: Some("route-second-subnet".into()),
            root_path: None,
            expect: pass(&[
                ("root", "nfs"),
                ("proto", "none"),
                ("dev", "eth0"),
                ("server", far),
                ("also", "eth1:10.88.0.5"),
                ("route", &format!("10.78.0.0/24:{s}")),
            ]),
            timeout_secs: 180,
            initrd: Initrd::Netinit,
        },
    ]
}

#[cfg(test)]
mod tests {
    use crate::faults::{tag, untag};

    #[test]
    fn trunk_tags_and_untags() {
        let frame: Vec<u8> = (0u8..60).collect();
        let tagged = tag(&frame, 100);
        assert_eq!(tagged[12..16], [0x81, 0x00, 0, 100]);
        assert_eq!(untag(&tagged, 100), Some(frame.clone()));
        // Untagged, or another VLAN: not on this trunk.
        assert_eq!(untag(&frame, 100), None);
        assert_eq!(untag(&tag(&frame, 101), 100), None);
        assert_eq!(untag(&tagged[..10], 100), None);
    }
}
