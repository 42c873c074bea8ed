//! Debian roots built with debootstrap, cached by recipe: the real booted
//! system (systemd with NetworkManager and systemd-networkd) and, for the
//! benchmark, chroots that build the peers' initrds. apt reaches Debian's
//! mirror only (`$NETINIT_LAB_MIRROR`, default deb.debian.org).

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{cache_dir, run};

/// A root: packages on top of bookworm minbase, then a setup script run
/// inside it (with /proc, /sys, /dev mounted in a private namespace).
#[derive(Debug, Clone)]
pub struct Recipe {
    pub name: &'static str,
    pub include: Vec<String>,
    /// Files to place before the script runs: (path in root, contents, mode).
    pub files: Vec<(String, String, u32)>,
    pub setup: String,
}

fn mirror() -> String {
    std::env::var("NETINIT_LAB_MIRROR")
        .unwrap_or_else(|_| "http://deb.debian.org/debian".to_owned())
}

impl Recipe {
    /// Same recipe, same key: the cache is reused across runs and checkouts.
    fn key(&self) -> String {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (
            self.name,
            &self.include,
            &self.files,
            &self.setup,
            mirror(),
            1u32,
        )
            .hash(&mut h);
        format!("{}-{:016x}", self.name, h.finish())
    }
}

/// Runs `script` inside `root` with /proc, /sys and /dev available.
pub fn in_chroot(root: &Path, script: &str) -> Result<String, String> {
    let r = root.display();
    let wrapper = format!(
        "set -e; mount -t proc proc '{r}/proc'; mount -t sysfs sysfs '{r}/sys'; mount --rbind /dev '{r}/dev'; \
         chroot '{r}' /bin/sh -c \"$0\""
    );
    run(crate::util::private_mount_ns_sh(&wrapper)
        .arg(script)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Builds (or reuses) the root for `recipe`; returns its path.
pub fn root(recipe: &Recipe) -> Result<PathBuf, String> {
    let base = cache_dir().join("debian");
    let dir = base.join(recipe.key());
    if dir.join(".netinit-complete").exists() {
        return Ok(dir);
    }
    std::fs::create_dir_all(&base).map_err(|e| e.to_string())?;
    // Two builders of one recipe (`netinit-lab roots` beside a test, say)
    // would share the temporary tree: the second waits, then finds it done.
    let lock_path = base.join(format!(".{}.lock", recipe.key()));
    let lock = std::fs::File::create(&lock_path)
        .and_then(lock_exclusive)
        .map_err(|e| format!("lock {}: {e}", lock_path.display()))?;
    if dir.join(".netinit-complete").exists() {
        return Ok(dir);
    }
    let tmp = base.join(format!(".{}.tmp", recipe.key()));
    let _ = std::fs::remove_dir_all(&tmp);
    eprintln!(
        "netinit-lab: debootstrap {} (cached afterwards in {})",
        recipe.name,
        dir.display()
    );
    let include = recipe.include.join(",");
    run(Command::new("debootstrap")
        .args([
            "--variant=minbase",
            &format!("--include={include}"),
            "bookworm",
        ])
        .arg(&tmp)
        .arg(mirror()))
    .map_err(|e| format!("debootstrap: {e}"))?;
    for (path, contents, mode) in &recipe.files {
        let p = tmp.join(path.trim_start_matches('/'));
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::write(&p, contents).map_err(|e| format!("{}: {e}", p.display()))?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(*mode))
            .map_err(|e| e.to_string())?;
    }
    in_chroot(&tmp, &recipe.setup)?;
    // apt caches are dead weight in an image.
    let _ = std::fs::remove_dir_all(tmp.join("var/cache/apt/archives"));
    std::fs::write(tmp.join(".netinit-complete"), recipe.key()).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&tmp, &dir).map_err(|e| format!("rename to {}: {e}", dir.display()))?;
    drop(lock);
    Ok(dir)
}

/// Waits for an exclusive flock on `f`; it is released when `f` is closed.
fn lock_exclusive(f: std::fs::File) -> std::io::Result<std::fs::File> {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor belongs to `f`, which outlives the call.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } == 0 {
        Ok(f)
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// A squashfs of `root`, cached next to it.
pub fn squashfs(root: &Path) -> Result<PathBuf, String> {
    let out = root.with_extension("squashfs");
    if out.exists() {
        return Ok(out);
    }
    squash_root(root, &out)?;
    Ok(out)
}

/// A squashfs of the root tree `dir` at `out` (zstd, without the cache's
/// completion marker), written beside it first so a cut build leaves no
/// `out`.
pub fn squash_root(dir: &Path, out: &Path) -> Result<(), String> {
    let mut tmp = out.as_os_str().to_owned();
    tmp.push(".tmp");
    run(Command::new("mksquashfs").arg(dir).arg(&tmp).args([
        "-noappend",
        "-quiet",
        "-no-progress",
        "-comp",
        "zstd",
        "-e",
        ".netinit-complete",
    ]))?;
    std::fs::rename(&tmp, out).map_err(|e| e.to_string())
}

/// The real booted system: systemd with NetworkManager and networkd both
/// enabled; the lab masks one per boot (`systemd.mask=`).
pub fn realsys_recipe() -> Recipe {
    Recipe {
        name: "realsys",
        include: ["systemd", "systemd-sysv", "libpam-systemd", "udev", "dbus", "iproute2", "network-manager", "procps"].map(String::from).to_vec(),
        files: vec![],
        // The checker comes as a second squashfs layer (see roots.rs), so
        // changing it does not rebuild this root.
        setup: "systemctl enable NetworkManager.service systemd-networkd.service; echo realsys > /etc/hostname; passwd -d root".into(),
    }
}
