//! switch_root: make the assembled root `/` and exec its init, freeing
//! the initramfs on the way. The network interface is not touched.

use std::convert::Infallible;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::Path;

use rustix::mount::mount_move;

use crate::{Result, SysError};

/// The API filesystems that move with us, as busybox and systemd do.
pub const MOVED: [&str; 4] = ["/dev", "/proc", "/sys", "/run"];

/// Moves /dev, /proc, /sys and /run under `newroot`.
pub fn move_api_mounts(newroot: &Path) -> Result<()> {
    for m in MOVED {
        let target = newroot.join(m.trim_start_matches('/'));
        if !target.is_dir() {
            std::fs::create_dir_all(&target)
                .map_err(|e| SysError::from_io("mkdir", target.display().to_string(), &e))?;
        }
        mount_move(m, &target).map_err(|e| {
            SysError::new("mount --move", format!("{m} to {}", target.display()), e)
        })?;
    }
    Ok(())
}

/// Deletes everything under `dir` that lives on `dev` (the initramfs),
/// never descending into other filesystems: `keep` (the new root) and
/// anything mounted elsewhere survive. Returns bytes freed (approximate).
pub fn free_initramfs(dir: &Path, dev: u64, keep: &Path) -> u64 {
    let mut freed = 0;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path == keep {
            continue;
        }
        let Ok(meta) = path.symlink_metadata() else {
            continue;
        };
        if meta.dev() != dev {
            continue;
        }
        if meta.is_dir() {
            freed += free_initramfs(&path, dev, keep);
            let _ = std::fs::remove_dir(&path);
        } else {
            freed += meta.len();
            let _ = std::fs::remove_file(&path);
        }
    }
    freed
}

/// Becomes `newroot` and execs `init` with `args`. Only returns on failure.
/// `/dev`, `/proc`, `/sys`, `/run` must already have been moved.
pub fn switch_root(newroot: &Path, init: &str, args: &[String]) -> Result<Infallible> {
    let init_in_root = newroot.join(init.trim_start_matches('/'));
    // Check before the point of no return, so the failure can still be reported and rescued.
    if init_in_root.symlink_metadata().is_err() {
        return Err(SysError::new(
            "exec",
            format!("{init} (not found in the new root)"),
            rustix::io::Errno::NOENT,
        ));
    }
    let root_dev = std::fs::metadata("/")
        .map_err(|e| SysError::from_io("stat", "/", &e))?
        .dev();
    rustix::process::chdir(newroot)
        .map_err(|e| SysError::new("chdir", newroot.display().to_string(), e))?;
    free_initramfs(Path::new("/"), root_dev, newroot);
    mount_move(".", "/")
        .map_err(|e| SysError::new("mount --move", format!("{} to /", newroot.display()), e))?;
    rustix::process::chroot(".")
        .map_err(|e| SysError::new("chroot", newroot.display().to_string(), e))?;
    rustix::process::chdir("/").map_err(|e| SysError::new("chdir", "/", e))?;
    // std's exec replaces the process without forking; the environment the
    // kernel gave PID 1 (HOME, TERM, unknown key=value words) passes on, as
    // with busybox's switch_root.
    let err = std::process::Command::new(init).args(args).exec();
    Err(SysError::from_io("exec", init, &err))
}
