//! An initrd from Debian's own mkinitramfs with netinit's initramfs-tools
//! hook, for the kernel the lab boots. mkinitramfs only looks in
//! /lib/modules/KVER, so it runs in a private mount namespace where the
//! extracted kernel's modules are bound there; the host is not touched.

use std::path::{Path, PathBuf};

use crate::kernel::Kernel;
use crate::util::{run, workspace};

pub fn build(k: &Kernel, netinit: &Path, work: &Path) -> Result<PathBuf, String> {
    let conf = work.join("initramfs-tools");
    let _ = std::fs::remove_dir_all(&conf);
    for d in ["hooks", "scripts", "conf.d"] {
        std::fs::create_dir_all(conf.join(d)).map_err(|e| e.to_string())?;
    }
    let hooks = workspace().join("initramfs-hooks/initramfs-tools");
    for (src, dst) in [
        ("hooks/netinit", "hooks/netinit"),
        ("scripts/netinit", "scripts/netinit"),
    ] {
        std::fs::copy(hooks.join(src), conf.join(dst))
            .map_err(|e| format!("{}: {e}", hooks.join(src).display()))?;
    }
    // MODULES=list: just what the hooks ask for (ours adds NFS, the live
    // stack and the network drivers), as a netboot initrd would.
    std::fs::write(
        conf.join("initramfs.conf"),
        "MODULES=list\nBUSYBOX=auto\nCOMPRESS=zstd\nRUNSIZE=10%\nFSTYPE=auto\n",
    )
    .map_err(|e| e.to_string())?;
    std::fs::write(conf.join("modules"), "").map_err(|e| e.to_string())?;
    let out = work.join("initrd-initramfs-tools.img");
    let modules = k.tree.join("lib/modules").join(&k.kver);
    let config = k.tree.join(format!("boot/config-{}", k.kver));
    // Debian has /lib/modules; a minimal container may not.
    std::fs::create_dir_all("/lib/modules").map_err(|e| format!("mkdir /lib/modules: {e}"))?;
    let script = format!(
        "set -e; mount -t tmpfs netinit-lab /lib/modules; mkdir /lib/modules/{kver}; mount --bind '{modules}' /lib/modules/{kver}; \
         mount -t tmpfs netinit-lab /boot; cp '{config}' /boot/; \
         NETINIT_BIN='{netinit}' mkinitramfs -d '{conf}' -o '{out}' {kver}",
        kver = k.kver,
        modules = modules.display(),
        config = config.display(),
        netinit = netinit.display(),
        conf = conf.display(),
        out = out.display(),
    );
    eprintln!("netinit-lab: building an initrd with Debian's mkinitramfs and the netinit hook");
    run(&mut crate::util::private_mount_ns_sh(&script))
        .map_err(|e| format!("mkinitramfs (apt-get install initramfs-tools-core): {e}"))?;
    Ok(out)
}
