//! The Debian kernel, fetched as a package and never installed: the
//! module tree (depmod'ed), the bzImage for PXE, and the uncompressed
//! vmlinux that QEMU boots directly (PVH entry: ~3 s faster under TCG).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{cache_dir, run};

#[derive(Debug, Clone)]
pub struct Kernel {
    /// Root of the extracted package (holds boot/ and lib/modules/).
    pub tree: PathBuf,
    pub kver: String,
    pub bzimage: PathBuf,
    pub vmlinux: PathBuf,
}

/// The package linux-image-amd64 currently depends on.
fn package() -> Result<String, String> {
    let out = run(Command::new("apt-cache").args(["depends", "linux-image-amd64"]))?;
    out.lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .find(|p| p.starts_with("linux-image-") && p.ends_with("-amd64"))
        .map(str::to_owned)
        .ok_or_else(|| "apt-cache depends linux-image-amd64 names no linux-image-*-amd64 (hint: apt-get update)".to_owned())
}

/// Fetches and prepares the kernel once; later calls reuse the cache.
pub fn ensure() -> Result<Kernel, String> {
    let base = cache_dir().join("kernel");
    // Reuse whatever is cached: a lab must not depend on the mirror moving on.
    if let Some(k) = cached(&base) {
        return Ok(k);
    }
    let pkg = package()?;
    let kver = pkg.trim_start_matches("linux-image-").to_owned();
    let tree = base.join(&kver);
    // An interrupted or hand-made extraction: start over.
    if tree.exists() {
        std::fs::remove_dir_all(&tree)
            .map_err(|e| format!("remove incomplete {}: {e}", tree.display()))?;
    }
    let dl = cache_dir().join("deb");
    std::fs::create_dir_all(&dl).map_err(|e| format!("mkdir {}: {e}", dl.display()))?;
    eprintln!("netinit-lab: fetching {pkg} (not installing it)");
    run(Command::new("apt-get")
        .args(["download", &pkg])
        .current_dir(&dl))?;
    let deb = std::fs::read_dir(&dl)
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&format!("{pkg}_")))
        })
        .ok_or("apt-get download left no .deb")?;
    let tmp = base.join(format!(".{kver}.tmp"));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&tmp))?;
    // The .deb ships no modules.dep.
    run(Command::new("depmod").arg("-b").arg(&tmp).arg(&kver))?;
    let bz = tmp.join(format!("boot/vmlinuz-{kver}"));
    extract_vmlinux(&bz, &tmp.join("vmlinux"))?;
    std::fs::rename(&tmp, &tree).map_err(|e| format!("rename to {}: {e}", tree.display()))?;
    cached(&base).ok_or_else(|| "kernel cache incomplete after setup".to_owned())
}

fn cached(base: &Path) -> Option<Kernel> {
    for e in std::fs::read_dir(base).ok()?.flatten() {
        let tree = e.path();
        let kver = e.file_name().to_string_lossy().into_owned();
        if kver.starts_with('.') {
            continue;
        }
        let bzimage = tree.join(format!("boot/vmlinuz-{kver}"));
        let vmlinux = tree.join("vmlinux");
        if bzimage.is_file()
            && vmlinux.is_file()
            && tree
                .join(format!("lib/modules/{kver}/modules.dep"))
                .is_file()
        {
            return Some(Kernel {
                tree,
                kver,
                bzimage,
                vmlinux,
            });
        }
    }
    None
}

/// The bzImage's payload from the XZ magic on is one XZ stream holding
/// the ELF vmlinux.
fn extract_vmlinux(bzimage: &Path, out: &Path) -> Result<(), String> {
    let data = std::fs::read(bzimage).map_err(|e| format!("read {}: {e}", bzimage.display()))?;
    let magic = [0xfd, b'7', b'z', b'X', b'Z', 0];
    let at = data
        .windows(6)
        .position(|w| w == magic)
        .ok_or("no XZ stream in the bzImage")?;
    let elf = crate::util::pipe("xz", &["-dc", "--single-stream"], &data[at..])?;
    if !elf.starts_with(b"\x7fELF") {
        return Err("the bzImage's XZ payload is not an ELF vmlinux".into());
    }
    std::fs::write(out, elf).map_err(|e| format!("write {}: {e}", out.display()))
}
