//! Root-phase scenarios: image layouts beyond one squashfs, toram, and
//! the failures a user meets first (no image, no init). Kept apart from
//! the base table in `scenarios.rs`; `all()` there appends these, and
//! `roots::build` builds their exports (`layered_exports`).

use crate::lab::SERVER;
use crate::scenario::{Expect, Scenario, netinit_boot, pass};

fn scenario(name: &'static str, what: &'static str, cmdline: String, expect: Expect) -> Scenario {
    netinit_boot(name, what, cmdline, expect, 120)
}

pub fn all() -> Vec<Scenario> {
    let s = SERVER;
    vec![
        scenario(
            "archiso-virtio",
            "archiso over NFS: archiso_nfs_srv= and archisobasedir=, image at arch/x86_64/airootfs.sfs",
            format!("archisobasedir=arch archiso_nfs_srv={s}:/export/archiso ip=:::::eth0:dhcp"),
            pass(&[
                ("root", "overlay"),
                ("proto", "dhcp"),
                ("dns", "1"),
                ("hostname", "lab-archiso-virtio"),
                ("medium", "/run/archiso/bootmnt"),
            ]),
        ),
        scenario(
            "casper-layered-v42",
            "Ubuntu 24.04-style layered casper image (layerfs-path=, three layers beside a language \
             variant that must stay out) over NFSv4.2",
            format!(
                "boot=casper netboot=nfs nfsroot={s}:/export/layered,vers=4.2 \
                 layerfs-path=minimal.standard.live.squashfs ip=dhcp"
            ),
            pass(&[
                ("root", "overlay"),
                ("proto", "dhcp"),
                ("layers", "3"),
                ("vers", "4.2"),
                ("hostname", "lab-casper-layered-v42"),
            ]),
        ),
        scenario(
            "live-boot-module-toram",
            "live-boot module=standard picks two of three images from standard.module; toram \
             copies them into RAM first and loops from there",
            format!(
                "boot=live netboot=nfs nfsroot={s}:/export/livemod module=standard toram ip=dhcp"
            ),
            pass(&[
                ("root", "overlay"),
                ("proto", "dhcp"),
                ("layers", "2"),
                ("toram", "1"),
                ("managers", "1"),
            ]),
        ),
        scenario(
            "fail-image-missing",
            "casper layout on an export without casper/: every path tried is named",
            format!("boot=casper netboot=nfs nfsroot={s}:/export/live ip=dhcp"),
            Expect::Fail {
                step: "image",
                contains: "no live image found: tried casper/filesystem.squashfs, casper/*.squashfs on 10.77.0.1:/export/live",
            },
        ),
        scenario(
            "fail-init-missing",
            "init= names a file the new root lacks: caught before the initramfs is freed",
            format!("boot=live netboot=nfs nfsroot={s}:/export/live ip=dhcp init=/sbin/nope"),
            Expect::Fail {
                step: "switch_root",
                contains: "exec /sbin/nope (not found in the new root): ENOENT (hint: set init=",
            },
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_name_the_step_and_the_path() {
        for s in all() {
            if let Expect::Fail { step, contains } = s.expect {
                assert!(["image", "switch_root"].contains(&step), "{}", s.name);
                assert!(contains.contains('/'), "{}", s.name);
            }
            assert!(s.name.len() + "lab-".len() <= 63);
        }
    }
}
