//! Root-phase scenarios (issue 5): image layouts beyond one squashfs,
//! toram, and the failures a user meets first (no image, no init). Kept
//! apart from the base table in `scenarios.rs`; `all()` there appends
//! these, and `roots::build` adds their exports.

use std::path::Path;

use crate::lab::SERVER;
use crate::roots::{Export, squash};
use crate::scenarios::{Expect, Initrd, NicSpec, Scenario};

fn virtio() -> Vec<NicSpec> {
    vec![NicSpec {
        model: "virtio-net-pci",
        live: true,
    }]
}

fn scenario(name: &'static str, what: &'static str, cmdline: String, expect: Expect) -> Scenario {
    Scenario {
        name,
        what,
        nics: virtio(),
        pxe: false,
        cmdline,
        diskless: None,
        root_path: None,
        expect,
        timeout_secs: 120,
        initrd: Initrd::Netinit,
    }
}

fn pass(words: &[(&'static str, &str)]) -> Expect {
    Expect::Pass {
        lab: words.iter().map(|(k, v)| (*k, v.to_string())).collect(),
    }
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

/// The exports these scenarios read, built from the base table's staged
/// roots: `base` (busybox, no init), `top` (the checker as /sbin/init).
pub fn exports(work: &Path, base: &Path, top: &Path) -> Result<Vec<Export>, String> {
    let export = work.join("export");
    let stage = work.join("stage-root");
    let only = b"nfs-only\n";
    // Marker-only layers: one the stack needs, one it must leave out.
    let middle = stage.join("middle");
    let stray = stage.join("stray");
    populate_marker(&middle, "etc/middle-layer")?;
    populate_marker(&stray, "etc/stray-layer")?;

    let layered = export.join("layered");
    let casper = layered.join("casper");
    squash(base, &casper.join("minimal.squashfs"))?;
    squash(&middle, &casper.join("minimal.standard.squashfs"))?;
    squash(top, &casper.join("minimal.standard.live.squashfs"))?;
    squash(&stray, &casper.join("minimal.en.squashfs"))?;

    let livemod = export.join("livemod");
    let live = livemod.join("live");
    squash(base, &live.join("filesystem.squashfs"))?;
    squash(top, &live.join("extra.squashfs"))?;
    squash(&stray, &live.join("zz-unused.squashfs"))?;
    write(
        &live.join("standard.module"),
        b"filesystem.squashfs\nextra.squashfs\n",
    )?;

    // archiso: one image at <archisobasedir>/x86_64/airootfs.sfs.
    let archiso = export.join("archiso");
    squash(
        &work.join("stage/full"),
        &archiso.join("arch/x86_64/airootfs.sfs"),
    )?;

    let mut out = Vec::new();
    for (name, dir) in [
        ("layered", layered),
        ("livemod", livemod),
        ("archiso", archiso),
    ] {
        write(&dir.join("nfs-only.txt"), only)?;
        out.push(Export {
            pseudo: format!("/export/{name}"),
            path: dir,
            rw: false,
        });
    }
    Ok(out)
}

fn write(path: &Path, content: &[u8]) -> Result<(), String> {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).map_err(|e| format!("mkdir {}: {e}", p.display()))?;
    }
    std::fs::write(path, content).map_err(|e| format!("write {}: {e}", path.display()))
}

fn populate_marker(dir: &Path, file: &str) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(dir);
    write(&dir.join(file), b"marker\n")
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
