//! switch_root: make the assembled root `/` and exec its init, freeing
//! the initramfs on the way. The network interface is not touched: no
//! socket or link is closed or downed on this path.
//!
//! Order matters. Everything that can still fail in a way the user can
//! fix is checked first ([`check_init`], [`check_newroot`]), while the
//! initramfs, /proc and /dev are intact for the rescue shell. Then
//! [`move_api_mounts`], then [`switch_root`], the point of no return.

use std::convert::Infallible;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use netinit_core::rootpath::{self, ResolveError};

use rustix::io::Errno;
use rustix::mount::mount_move;

use crate::{Result, SysError};

/// The API filesystems that move with us, as busybox and systemd do.
pub const MOVED: [&str; 4] = ["/dev", "/proc", "/sys", "/run"];

/// Resolves `path` (absolute, as seen from inside `root`) to a host path,
/// following symlinks as they would resolve after chroot into `root`:
/// absolute targets start again at `root`, `..` never climbs above it.
/// The final component must exist.
pub fn resolve_in(root: &Path, path: &str) -> Result<PathBuf> {
    let lookup = |parent: &[String], name: &str| -> Result<Option<String>> {
        let host = joined(root, parent).join(name);
        let at = || rootpath::display(parent, name);
        let meta = host
            .symlink_metadata()
            .map_err(|e| SysError::from_io("stat", at(), &e))?;
        if !meta.file_type().is_symlink() {
            return Ok(None);
        }
        let target =
            std::fs::read_link(&host).map_err(|e| SysError::from_io("readlink", at(), &e))?;
        Ok(Some(target.to_string_lossy().into_owned()))
    };
    match rootpath::resolve_in(path, lookup) {
        Ok(parts) => Ok(joined(root, &parts)),
        Err(ResolveError::Lookup { error, .. }) => Err(error),
        Err(ResolveError::Loop { at }) => Err(SysError::new("stat", at, Errno::LOOP)),
    }
}

fn joined(root: &Path, parts: &[String]) -> PathBuf {
    parts.iter().fold(root.to_path_buf(), |p, c| p.join(c))
}

/// Checks, while a failure can still be rescued, that `init` will exec
/// inside `newroot`: it exists (following symlinks inside the new root),
/// is an executable file, and its ELF interpreter or `#!` interpreter
/// exists too (else exec fails with a bare ENOENT after the initramfs is
/// gone).
pub fn check_init(newroot: &Path, init: &str) -> Result<()> {
    let not_found = |what: String, e: SysError| {
        let why = if e.errno == Errno::NOENT.raw_os_error() {
            "not found in the new root".to_owned()
        } else {
            format!("{} {} in the new root", e.call, e.object)
        };
        SysError::new(
            "exec",
            format!("{what} ({why})"),
            Errno::from_raw_os_error(e.errno),
        )
    };
    let file = resolve_in(newroot, init).map_err(|e| not_found(init.to_owned(), e))?;
    let meta = std::fs::metadata(&file).map_err(|e| SysError::from_io("stat", init, &e))?;
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return Err(SysError::new(
            "exec",
            format!("{init} (not an executable file in the new root)"),
            Errno::ACCESS,
        ));
    }
    let mut head = Vec::new();
    std::fs::File::open(&file)
        .and_then(|f| f.take(64 * 1024).read_to_end(&mut head))
        .map_err(|e| SysError::from_io("read", init, &e))?;
    let interp =
        netinit_core::elf::interpreter(&head).or_else(|| netinit_core::elf::shebang(&head));
    if let Some(interp) = interp {
        resolve_in(newroot, interp)
            .map_err(|e| not_found(format!("{init}: its interpreter {interp}"), e))?;
    }
    Ok(())
}

/// Whether `path` is on a ramfs or tmpfs (an initramfs), by its
/// filesystem magic.
pub fn is_ram_fs(path: &Path) -> Result<bool> {
    let st = rustix::fs::statfs(path)
        .map_err(|e| SysError::new("statfs", path.display().to_string(), e))?;
    let magic = u64::try_from(st.f_type).unwrap_or(0);
    Ok(magic == u64::from(linux_raw_sys::general::RAMFS_MAGIC)
        || magic == u64::from(linux_raw_sys::general::TMPFS_MAGIC))
}

/// The new root must be a mount of its own: moving it onto `/` needs a
/// mount point, and freeing the initramfs must not reach into it.
pub fn check_newroot(newroot: &Path) -> Result<()> {
    let root = std::fs::metadata("/").map_err(|e| SysError::from_io("stat", "/", &e))?;
    let new = std::fs::metadata(newroot)
        .map_err(|e| SysError::from_io("stat", newroot.display().to_string(), &e))?;
    if new.dev() == root.dev() {
        return Err(SysError::new(
            "switch_root",
            format!("{} (not a mount point)", newroot.display()),
            Errno::INVAL,
        ));
    }
    Ok(())
}

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
/// `/dev`, `/proc`, `/sys`, `/run` must already have been moved, and
/// [`check_init`] and [`check_newroot`] passed.
pub fn switch_root(newroot: &Path, init: &str, args: &[String], free: bool) -> Result<Infallible> {
    enter_root(newroot, free)?;
    exec_init(init, args)
}

/// Makes `newroot` the root and the working directory. The initramfs is
/// freed only when `free` (the caller checked with [`is_ram_fs`] that `/`
/// is one): deleting files on any other root would be a disaster. After
/// this only [`exec_init`] is left to do; a process started in between
/// (the lease keeper) already lives in the new root.
pub fn enter_root(newroot: &Path, free: bool) -> Result<()> {
    let root_dev = std::fs::metadata("/")
        .map_err(|e| SysError::from_io("stat", "/", &e))?
        .dev();
    rustix::process::chdir(newroot)
        .map_err(|e| SysError::new("chdir", newroot.display().to_string(), e))?;
    if free {
        free_initramfs(Path::new("/"), root_dev, newroot);
    }
    mount_move(".", "/")
        .map_err(|e| SysError::new("mount --move", format!("{} to /", newroot.display()), e))?;
    rustix::process::chroot(".")
        .map_err(|e| SysError::new("chroot", newroot.display().to_string(), e))?;
    rustix::process::chdir("/").map_err(|e| SysError::new("chdir", "/", e))
}

/// Execs `init` with `args` in place of this process. Only returns on failure.
pub fn exec_init(init: &str, args: &[String]) -> Result<Infallible> {
    // std's exec replaces the process without forking; the environment the
    // kernel gave PID 1 (HOME, TERM, unknown key=value words) passes on, as
    // with busybox's switch_root.
    let err = std::process::Command::new(init).args(args).exec();
    Err(SysError::from_io("exec", init, &err))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code

    use super::*;
    use std::os::unix::fs::symlink;

    fn exe(path: &Path, content: &[u8]) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// A merged-/usr root like Debian's: /sbin/init → /lib/systemd/systemd,
    /// /lib → usr/lib, relative and absolute links.
    fn debian_like() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        exe(&r.join("usr/lib/systemd/systemd"), b"#!/bin/sh\nexit 0\n");
        exe(&r.join("usr/bin/sh"), b"\x7fELF static enough");
        symlink("usr/lib", r.join("lib")).unwrap();
        symlink("usr/bin", r.join("bin")).unwrap();
        std::fs::create_dir_all(r.join("usr/sbin")).unwrap();
        symlink("usr/sbin", r.join("sbin")).unwrap();
        symlink("/lib/systemd/systemd", r.join("usr/sbin/init")).unwrap();
        t
    }

    #[test]
    fn resolves_symlinks_inside_the_new_root() {
        let t = debian_like();
        let r = t.path();
        assert_eq!(
            resolve_in(r, "/sbin/init").unwrap(),
            r.join("usr/lib/systemd/systemd")
        );
        assert_eq!(
            resolve_in(r, "/sbin/../bin/sh").unwrap(),
            r.join("usr/bin/sh")
        );
        // `..` stops at the new root, as it will after chroot.
        assert_eq!(
            resolve_in(r, "/../../../bin/sh").unwrap(),
            r.join("usr/bin/sh")
        );
        // An absolute link must not resolve against the host: /etc/passwd
        // exists here but not in the new root.
        symlink("/etc/passwd", r.join("escape")).unwrap();
        let e = resolve_in(r, "/escape").unwrap_err();
        assert_eq!(
            (e.call, e.object.as_str(), e.errno),
            ("stat", "/etc", netinit_core::errno::ENOENT)
        );
        symlink("loop2", r.join("loop1")).unwrap();
        symlink("loop1", r.join("loop2")).unwrap();
        assert_eq!(
            resolve_in(r, "/loop1").unwrap_err().errno,
            netinit_core::errno::ELOOP
        );
        assert_eq!(
            check_init(r, "/loop1").unwrap_err().to_string(),
            "exec /loop1 (stat /loop1 in the new root): ELOOP"
        );
    }

    #[test]
    fn init_checks_name_what_is_missing() {
        let t = debian_like();
        let r = t.path();
        check_init(r, "/sbin/init").unwrap();
        check_init(r, "/bin/sh").unwrap();
        assert_eq!(
            check_init(r, "/sbin/nope").unwrap_err().to_string(),
            "exec /sbin/nope (not found in the new root): ENOENT"
        );
        // Dangling link: the file it points at is gone.
        std::fs::remove_file(r.join("usr/lib/systemd/systemd")).unwrap();
        assert_eq!(
            check_init(r, "/sbin/init").unwrap_err().to_string(),
            "exec /sbin/init (not found in the new root): ENOENT"
        );
        // A script whose interpreter is missing.
        exe(&r.join("init.sh"), b"#!/bin/bash -e\ntrue\n");
        assert_eq!(
            check_init(r, "/init.sh").unwrap_err().to_string(),
            "exec /init.sh: its interpreter /bin/bash (not found in the new root): ENOENT"
        );
        // Not executable, and a directory.
        std::fs::write(r.join("plain"), "x").unwrap();
        assert_eq!(
            check_init(r, "/plain").unwrap_err().errno,
            netinit_core::errno::EACCES
        );
        assert_eq!(
            check_init(r, "/usr").unwrap_err().errno,
            netinit_core::errno::EACCES
        );
    }

    #[test]
    fn init_check_follows_the_elf_interpreter() {
        // This test binary is dynamic: its loader is missing from an empty root.
        let me = std::env::current_exe().unwrap();
        let interp = netinit_core::elf::interpreter(&std::fs::read(&me).unwrap())
            .unwrap()
            .to_owned();
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("sbin")).unwrap();
        std::fs::copy(&me, t.path().join("sbin/init")).unwrap();
        let e = check_init(t.path(), "/sbin/init").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "exec /sbin/init: its interpreter {interp} (not found in the new root): ENOENT"
            )
        );
        exe(&t.path().join(interp.trim_start_matches('/')), b"\x7fELF");
        check_init(t.path(), "/sbin/init").unwrap();
    }

    #[test]
    fn ram_fs_and_mount_point_checks() {
        // /dev/shm is a tmpfs on any Linux with systemd or udev; / is not ours to judge.
        if Path::new("/dev/shm").is_dir() {
            assert!(is_ram_fs(Path::new("/dev/shm")).unwrap());
        }
        assert!(!is_ram_fs(Path::new("/proc")).unwrap());
        assert_eq!(
            is_ram_fs(Path::new("/nonexistent")).unwrap_err().errno,
            netinit_core::errno::ENOENT
        );
        let e = check_newroot(Path::new("/")).unwrap_err();
        assert_eq!(e.to_string(), "switch_root / (not a mount point): EINVAL");
        check_newroot(Path::new("/proc")).unwrap();
    }
}
