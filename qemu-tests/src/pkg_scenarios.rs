//! Install-and-serve scenarios: the Debian package installed with apt in a
//! Debian chroot and booted (network root and local disk), and UEFI
//! netboot through OVMF with the server recipes of docs/server-setup.md.
//! Appended to the table by `scenarios::all()`.

use crate::lab::SERVER;
use crate::scenario::{Expect, Initrd, Scenario, netinit_boot, pass};

/// A boot through a documented server recipe's menu (`pxe`: the NIC's
/// PXE ROM starts it) into one of its entries: an overlay root over NFS
/// with a DHCP address and the lab's host name.
fn menu_boot(
    name: &'static str,
    what: &'static str,
    (pxe, initrd): (bool, Initrd),
    timeout_secs: u64,
) -> Scenario {
    let expect = Expect::Pass {
        lab: vec![
            ("root", "overlay".into()),
            ("proto", "dhcp".into()),
            ("hostname", format!("lab-{name}")),
        ],
    };
    Scenario {
        pxe,
        initrd,
        ..netinit_boot(name, what, String::new(), expect, timeout_secs)
    }
}

pub fn all() -> Vec<Scenario> {
    let s = SERVER;
    vec![
        Scenario {
            initrd: Initrd::DebPackage,
            ..netinit_boot(
                "deb-package-nfs",
                "apt install ./netinit_*.deb + update-initramfs -u in a Debian chroot; its kernel and initrd boot a live root over NFS (boot=netinit)",
                format!(
                    "boot=netinit netboot=nfs nfsroot={s}:/export/live netinit.layout=live ip=dhcp"
                ),
                pass(&[
                    ("root", "overlay"),
                    ("proto", "dhcp"),
                    ("dns", "1"),
                    ("hostname", "lab-deb-package-nfs"),
                    ("managers", "1"),
                ]),
                240,
            )
        },
        Scenario {
            initrd: Initrd::DebPackageLocal,
            ..netinit_boot(
                "deb-package-local",
                "the same initrd boots a local virtio-blk ext4 root (root=/dev/vda): netinit stays out, no address, no hand-off files",
                "root=/dev/vda ro".into(),
                Expect::Local("root=/dev/vda:ext4 addrs=0 netconf=0 run_netinit=0"),
                240,
            )
        },
        menu_boot(
            "pxe-menu-bios",
            "BIOS PXE (client-arch 0, iPXE ROM) through the documented BIOS+UEFI dnsmasq rules into the documented pxelinux menu (menu.c32); its Ubuntu entry (casper over NFS)",
            (true, Initrd::PxeMenu("ubuntu")),
            180,
        ),
        menu_boot(
            "uefi-pxe-grub",
            "OVMF (TCG) PXE via the NIC's iPXE EFI ROM, client-arch 7 -> GRUB's EFI netboot image; the documented GRUB menu's first entry (Debian live over NFS)",
            (false, Initrd::UefiPxe(0)),
            300,
        ),
        menu_boot(
            "uefi-http-grub",
            "OVMF's own UEFI HTTP boot (PXE off, no NIC ROM): vendor class HTTPClient -> GRUB over HTTP from the documented nginx; the menu's second entry (Ubuntu casper over NFS)",
            (false, Initrd::UefiHttp(1)),
            300,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use crate::scenarios::{all, judge};

    #[test]
    fn judging_a_local_boot() {
        let all = all();
        let s = all.iter().find(|s| s.name == "deb-package-local").unwrap();
        let good = "Begin: Mounting root file system ... done.\nNETINIT-LOCAL root=/dev/vda:ext4 addrs=0 netconf=0 run_netinit=0\n";
        assert!(judge(s, good, true).is_ok());
        assert_eq!(
            judge(s, &format!("[ 2.0] netinit: init: started\n{good}"), true),
            Err("netinit ran on a local boot: [ 2.0] netinit: init: started".into())
        );
        let addr = good.replace("addrs=0", "addrs=1");
        assert!(
            judge(s, &addr, true)
                .unwrap_err()
                .starts_with("local boot: ")
        );
        assert!(judge(s, good, false).is_err());
        assert!(judge(s, "", true).is_err());
    }

    #[test]
    fn the_recipes_the_lab_boots_are_in_the_docs() {
        let dir = std::env::temp_dir().join(format!("netinit-lab-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let rules = crate::uefi::dnsmasq_rules(&dir).unwrap();
        let text = std::fs::read_to_string(rules).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        for want in ["client-arch,7", "client-arch,9", "tag:efi64,", "HTTPClient"] {
            assert!(text.contains(want), "{want} not in {text}");
        }
        assert!(text.lines().all(|l| l.starts_with("dhcp-")), "{text}");
        let menu = crate::uefi::doc_blocks("grub").unwrap();
        assert!(menu.iter().any(|b| b.matches("menuentry").count() >= 2));
        assert_eq!(crate::uefi::doc_blocks("nginx").unwrap().len(), 1);
    }
}
