//! mount(2) and friends, and the file operations the root phase needs,
//! behind traits so the executor's call sequence is testable.

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use rustix::mount::MountFlags;
use rustix::mount::{mount, mount_move};

use crate::{Linux, Result, SysError};

/// Mounting.
pub trait Mount {
    fn mount(
        &mut self,
        source: &str,
        target: &Path,
        fstype: &str,
        flags: MountFlags,
        data: &str,
    ) -> Result<()>;
    // The signature repeats in `Linux` and the fakes, as every trait method's does.
    /// Like `mount`, but gives up waiting after `timeout` (an NFS mount to
    /// a dead server can block in the kernel for minutes). The default is
    /// for fakes; the real one waits on a thread.
    fn mount_bounded(
        &mut self,
        source: &str,
        target: &Path,
        fstype: &str,
        flags: MountFlags,
        data: &str,
        timeout: Duration,
    ) -> Result<()> {
        let _ = timeout;
        self.mount(source, target, fstype, flags, data)
    }
    /// MS_MOVE `from` onto `to`.
    fn move_mount(&mut self, from: &Path, to: &Path) -> Result<()>;
}

/// Reading and writing files and directories.
pub trait Files {
    fn mkdir_p(&mut self, path: &Path) -> Result<()>;
    /// Names in a directory; `None` if it can't be read.
    fn list_dir(&self, path: &Path) -> Option<Vec<String>>;
    fn read_to_string(&self, path: &Path) -> Option<String>;
    fn write(&mut self, path: &Path, contents: &str) -> Result<()>;
    fn exists(&self, path: &Path) -> bool;
    /// True for a symlink (not followed).
    fn is_symlink(&self, path: &Path) -> bool;
    fn size(&self, path: &Path) -> Result<u64>;
    /// Copies in chunks; after each, `progress` gets the bytes copied so
    /// far and returns false to stop (ETIMEDOUT).
    fn copy(
        &mut self,
        from: &Path,
        to: &Path,
        progress: &mut dyn FnMut(u64) -> bool,
    ) -> Result<u64>;
    /// Writes `rel` inside `root` (creating parent directories). Every
    /// symlink on the way resolves as if `root` were `/`, so nothing
    /// lands outside the new root.
    fn write_in(&mut self, root: &Path, rel: &str, contents: &str) -> Result<()>;
    /// Reads `rel` inside `root`, resolving symlinks the same way, up to
    /// [`MAX_READ`] bytes; `None` if missing, unreadable or longer.
    fn read_in(&self, root: &Path, rel: &str) -> Option<String>;
    /// Where `rel` inside `root` really is, symlinks resolved inside
    /// `root` (an image on the NFS medium may be a link).
    fn resolve_in(&self, root: &Path, rel: &str) -> Result<PathBuf>;
    /// Makes directory `rel` (and its parents) inside `root`, symlinks
    /// resolved as for `write_in`.
    fn mkdir_in(&mut self, root: &Path, rel: &str) -> Result<()>;
    /// Sets the owner and mode of `rel` inside `root` (a live user's home
    /// and files), symlinks resolved as for `write_in`.
    fn chown_in(&mut self, root: &Path, rel: &str, uid: u32, gid: u32, mode: u32) -> Result<()>;
}

/// The largest text file netinit reads from a root or medium: these are
/// small config files, and a server must not make PID 1 allocate at will.
pub const MAX_READ: u64 = 1 << 20;

/// The unit `copy` reads and reports progress in.
const COPY_CHUNK: usize = 4 << 20;

impl Mount for Linux {
    fn mount(
        &mut self,
        source: &str,
        target: &Path,
        fstype: &str,
        flags: MountFlags,
        data: &str,
    ) -> Result<()> {
        let object = || format!("{fstype} {source} on {}", target.display());
        let data = c_data(data).map_err(|e| SysError::new("mount", object(), e))?;
        mount(source, target, fstype, flags, data.as_deref())
            .map_err(|e| SysError::new("mount", object(), e))
    }

    fn mount_bounded(
        &mut self,
        source: &str,
        target: &Path,
        fstype: &str,
        flags: MountFlags,
        data: &str,
        timeout: Duration,
    ) -> Result<()> {
        let object = format!("{fstype} {source} on {}", target.display());
        let err = |e| SysError::new("mount", object.clone(), e);
        // Each attempt mounts on its own private directory and is moved
        // onto the target only once it succeeded in time: an attempt
        // still blocked in the kernel when we give up can never stack a
        // mount on the target later (it detaches its own, see below).
        let private = private_target(target);
        std::fs::create_dir_all(&private).map_err(|e| io_err("mkdir", &private, &e))?;
        let (s, f, d) = (source.to_owned(), fstype.to_owned(), data.to_owned());
        let mount_it = move |at: &Path| {
            c_data(&d).and_then(|data| mount(s.as_str(), at, f.as_str(), flags, data.as_deref()))
        };
        let undo = |at: &Path| {
            let _ = rustix::mount::unmount(at, rustix::mount::UnmountFlags::DETACH);
            let _ = std::fs::remove_dir(at);
        };
        match bounded(private.clone(), timeout, mount_it, undo) {
            Ok(Ok(())) => {
                let moved = mount_move(&private, target).map_err(err);
                if moved.is_err() {
                    undo(&private);
                } else {
                    let _ = std::fs::remove_dir(&private);
                }
                moved
            }
            Ok(Err(e)) => {
                let _ = std::fs::remove_dir(&private);
                Err(err(e))
            }
            Err(Bounded::TimedOut) => Err(SysError::new(
                "mount",
                format!("{object} (no answer in {} s)", timeout.as_secs()),
                rustix::io::Errno::TIMEDOUT,
            )),
            Err(Bounded::NoThread(e)) => {
                let _ = std::fs::remove_dir(&private);
                Err(SysError::from_io(
                    "spawn",
                    format!("thread for {object}"),
                    &e,
                ))
            }
        }
    }

    fn move_mount(&mut self, from: &Path, to: &Path) -> Result<()> {
        mount_move(from, to).map_err(|e| {
            SysError::new(
                "mount --move",
                format!("{} to {}", from.display(), to.display()),
                e,
            )
        })
    }
}

/// A fresh directory beside `target` for one attempt.
fn private_target(target: &Path) -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = target
        .file_name()
        .map_or_else(|| "root".into(), |n| n.to_string_lossy().into_owned());
    target.with_file_name(format!(".{name}.attempt-{}-{n}", std::process::id()))
}

/// Why [`bounded`] gave no result.
#[derive(Debug)]
pub enum Bounded {
    TimedOut,
    /// The helper thread could not be started.
    NoThread(std::io::Error),
}

enum Slot<T> {
    Waiting,
    Done(T),
    Abandoned,
}

/// Runs `work(at)` on a helper thread and waits up to `timeout`. If the
/// wait gives up first, the thread, whenever `work` returns, sees that
/// under the same lock the waiter used to give up, and calls `undo(at)`
/// instead of handing over a result: nothing it did outlives the attempt.
pub fn bounded<T, W, U>(
    at: PathBuf,
    timeout: Duration,
    work: W,
    undo: U,
) -> std::result::Result<rustix::io::Result<T>, Bounded>
where
    T: Send + 'static,
    W: FnOnce(&Path) -> rustix::io::Result<T> + Send + 'static,
    U: FnOnce(&Path) + Send + 'static,
{
    use std::sync::{Arc, Condvar, Mutex};
    let shared = Arc::new((Mutex::new(Slot::Waiting), Condvar::new()));
    let theirs = Arc::clone(&shared);
    std::thread::Builder::new()
        .name("bounded-mount".into())
        .spawn(move || {
            let r = work(&at);
            let (lock, cv) = &*theirs;
            let Ok(mut slot) = lock.lock() else { return };
            if matches!(*slot, Slot::Abandoned) {
                undo(&at);
            } else {
                *slot = Slot::Done(r);
                cv.notify_all();
            }
        })
        .map_err(Bounded::NoThread)?;
    let (lock, cv) = &*shared;
    let slot = lock.lock().map_err(|_| Bounded::TimedOut)?;
    let (mut slot, _) = cv
        .wait_timeout_while(slot, timeout, |s| matches!(s, Slot::Waiting))
        .map_err(|_| Bounded::TimedOut)?;
    match std::mem::replace(&mut *slot, Slot::Abandoned) {
        Slot::Done(r) => Ok(r),
        _ => Err(Bounded::TimedOut),
    }
}

/// mount(2)'s data argument: NULL when empty.
fn c_data(data: &str) -> rustix::io::Result<Option<std::ffi::CString>> {
    if data.is_empty() {
        return Ok(None);
    }
    std::ffi::CString::new(data)
        .map(Some)
        .map_err(|_| rustix::io::Errno::INVAL)
}

fn io_err(call: &'static str, path: &Path, e: &std::io::Error) -> SysError {
    SysError::from_io(call, path.display().to_string(), e)
}

impl Files for Linux {
    fn mkdir_p(&mut self, path: &Path) -> Result<()> {
        std::fs::create_dir_all(path).map_err(|e| io_err("mkdir", path, &e))
    }

    fn list_dir(&self, path: &Path) -> Option<Vec<String>> {
        let entries = std::fs::read_dir(path).ok()?;
        Some(
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
        )
    }

    fn read_to_string(&self, path: &Path) -> Option<String> {
        read_capped(std::fs::File::open(path).ok()?)
    }

    fn write(&mut self, path: &Path, contents: &str) -> Result<()> {
        if let Some(dir) = path.parent() {
            self.mkdir_p(dir)?;
        }
        std::fs::write(path, contents).map_err(|e| io_err("write", path, &e))
    }

    fn exists(&self, path: &Path) -> bool {
        path.symlink_metadata().is_ok()
    }

    fn is_symlink(&self, path: &Path) -> bool {
        path.symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
    }

    fn size(&self, path: &Path) -> Result<u64> {
        std::fs::metadata(path)
            .map(|m| m.len())
            .map_err(|e| io_err("stat", path, &e))
    }

    fn copy(
        &mut self,
        from: &Path,
        to: &Path,
        progress: &mut dyn FnMut(u64) -> bool,
    ) -> Result<u64> {
        use std::io::{Read, Write};
        let mut src = std::fs::File::open(from).map_err(|e| io_err("open", from, &e))?;
        let mut dst = std::fs::File::create(to).map_err(|e| io_err("create", to, &e))?;
        let mut buf = vec![0u8; COPY_CHUNK];
        let mut copied = 0u64;
        loop {
            let n = match src.read(&mut buf) {
                Ok(0) => return Ok(copied),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_err("read", from, &e)),
            };
            dst.write_all(buf.get(..n).unwrap_or(&[]))
                .map_err(|e| io_err("write", to, &e))?;
            copied = copied.saturating_add(n as u64);
            if !progress(copied) {
                return Err(SysError::new(
                    "copy",
                    from.display().to_string(),
                    rustix::io::Errno::TIMEDOUT,
                ));
            }
        }
    }

    fn write_in(&mut self, root: &Path, rel: &str, contents: &str) -> Result<()> {
        let full = under(root, rel);
        let err = |call, e| SysError::new(call, full.display().to_string(), e);
        let rootfd = open_root(root).map_err(|e| err("open", e))?;
        let rel = rel.trim_start_matches('/');
        if let Some(parent) = Path::new(rel).parent().and_then(Path::to_str) {
            mkdir_in(&rootfd, parent).map_err(|e| err("mkdir", e))?;
        }
        let fd = open_in(
            &rootfd,
            rel,
            OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::CLOEXEC,
        )
        .map_err(|e| err("open", e))?;
        let mut f = std::fs::File::from(fd);
        std::io::Write::write_all(&mut f, contents.as_bytes())
            .map_err(|e| io_err("write", &full, &e))
    }

    fn read_in(&self, root: &Path, rel: &str) -> Option<String> {
        let rootfd = open_root(root).ok()?;
        let fd = open_in(
            &rootfd,
            rel.trim_start_matches('/'),
            OFlags::RDONLY | OFlags::CLOEXEC,
        )
        .ok()?;
        read_capped(std::fs::File::from(fd))
    }

    fn mkdir_in(&mut self, root: &Path, rel: &str) -> Result<()> {
        let full = under(root, rel);
        let err = |call, e| SysError::new(call, full.display().to_string(), e);
        let rootfd = open_root(root).map_err(|e| err("open", e))?;
        mkdir_in(&rootfd, rel.trim_start_matches('/')).map_err(|e| err("mkdir", e))
    }

    fn chown_in(&mut self, root: &Path, rel: &str, uid: u32, gid: u32, mode: u32) -> Result<()> {
        let full = under(root, rel);
        let err = |call, e| SysError::new(call, full.display().to_string(), e);
        let rootfd = open_root(root).map_err(|e| err("open", e))?;
        // A final symlink is not followed: its target is not ours to chown.
        let fd = open_in(
            &rootfd,
            rel.trim_start_matches('/'),
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        )
        .map_err(|e| err("open", e))?;
        rustix::fs::fchown(
            &fd,
            Some(rustix::fs::Uid::from_raw(uid)),
            Some(rustix::fs::Gid::from_raw(gid)),
        )
        .map_err(|e| err("fchown", e))?;
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode)).map_err(|e| err("fchmod", e))
    }

    fn resolve_in(&self, root: &Path, rel: &str) -> Result<PathBuf> {
        let full = under(root, rel);
        let err = |e| SysError::new("open", full.display().to_string(), e);
        let rootfd = open_root(root).map_err(err)?;
        let fd = open_in(
            &rootfd,
            rel.trim_start_matches('/'),
            OFlags::PATH | OFlags::CLOEXEC,
        )
        .map_err(err)?;
        // The kernel's own names for what was opened: inside `root` by construction.
        let name = |fd: &OwnedFd| {
            std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
                .map_err(|e| io_err("readlink", &full, &e))
        };
        let (real, real_root) = (name(&fd)?, name(&rootfd)?);
        if !real.starts_with(&real_root) {
            return Err(err(rustix::io::Errno::XDEV));
        }
        Ok(real)
    }
}

use rustix::fd::{AsRawFd, OwnedFd};
use rustix::fs::{Mode, OFlags, ResolveFlags};

fn read_capped(f: std::fs::File) -> Option<String> {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::Read::take(f, MAX_READ + 1), &mut text).ok()?;
    (text.len() as u64 <= MAX_READ).then_some(text)
}

fn open_root(root: &Path) -> rustix::io::Result<OwnedFd> {
    rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// openat2 with RESOLVE_IN_ROOT: absolute links and `..` stop at
/// `rootfd`. Without openat2 (kernels before 5.6), no symlink at all is
/// followed: every component is opened with O_NOFOLLOW.
fn open_in(rootfd: &OwnedFd, rel: &str, flags: OFlags) -> rustix::io::Result<OwnedFd> {
    let rel = if rel.is_empty() { "." } else { rel };
    // openat2 refuses a mode without O_CREAT.
    let mode = if flags.contains(OFlags::CREATE) {
        Mode::from_raw_mode(0o644)
    } else {
        Mode::empty()
    };
    match rustix::fs::openat2(
        rootfd,
        rel,
        flags,
        mode,
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    ) {
        Err(rustix::io::Errno::NOSYS) => open_nofollow(rootfd, rel, flags),
        r => r,
    }
}

fn open_nofollow(rootfd: &OwnedFd, rel: &str, flags: OFlags) -> rustix::io::Result<OwnedFd> {
    let parts: Vec<&str> = rel
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    if parts.contains(&"..") {
        return Err(rustix::io::Errno::XDEV);
    }
    let mut dir = rustix::io::dup(rootfd)?;
    let Some((last, dirs)) = parts.split_last() else {
        return Ok(dir);
    };
    for c in dirs {
        dir = rustix::fs::openat(
            &dir,
            *c,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
    }
    rustix::fs::openat(
        &dir,
        *last,
        flags | OFlags::NOFOLLOW,
        Mode::from_raw_mode(0o644),
    )
}

/// `mkdir -p` of `rel` inside `rootfd`, each level resolved in the root.
fn mkdir_in(rootfd: &OwnedFd, rel: &str) -> rustix::io::Result<()> {
    if rel.is_empty() {
        return Ok(());
    }
    match open_in(
        rootfd,
        rel,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
    ) {
        Ok(_) => return Ok(()),
        Err(rustix::io::Errno::NOENT) => {}
        Err(e) => return Err(e),
    }
    let path = Path::new(rel);
    let parent = path.parent().and_then(Path::to_str).unwrap_or("");
    let name = path.file_name().ok_or(rustix::io::Errno::INVAL)?;
    mkdir_in(rootfd, parent)?;
    let dir = open_in(
        rootfd,
        parent,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
    )?;
    match rustix::fs::mkdirat(&dir, name, Mode::from_raw_mode(0o755)) {
        Ok(()) | Err(rustix::io::Errno::EXIST) => Ok(()),
        Err(e) => Err(e),
    }
}

/// `path` joined under `root`, for absolute paths inside a new root.
pub fn under(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code
    use super::*;
    use std::os::unix::fs::symlink;

    /// A live user's home: made and owned inside the root; a link out of
    /// the root is neither followed for mkdir nor chowned.
    #[test]
    fn homes_are_made_and_owned_inside_the_root() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let t = tempfile::tempdir().unwrap();
        let (root, outside) = (t.path().join("root"), t.path().join("outside"));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        symlink(&outside, root.join("home")).unwrap();
        let mut sys = Linux;
        // Dangling inside the root: an error, nothing made outside.
        assert!(sys.mkdir_in(&root, "home/kim").is_err());
        let inside = root.join(outside.strip_prefix("/").unwrap()).join("kim");
        std::fs::create_dir_all(inside.parent().unwrap()).unwrap();
        sys.mkdir_in(&root, "home/kim").unwrap();
        assert!(!outside.join("kim").exists());
        assert!(inside.is_dir());
        let (uid, gid) = (
            rustix::process::getuid().as_raw(),
            rustix::process::getgid().as_raw(),
        );
        sys.chown_in(&root, "/home/kim", uid, gid, 0o750).unwrap();
        let meta = std::fs::metadata(&inside).unwrap();
        assert_eq!(
            (meta.uid(), meta.permissions().mode() & 0o777),
            (uid, 0o750)
        );
        // A final symlink is refused (ELOOP), its target untouched.
        symlink(&outside, root.join("link")).unwrap();
        let before = std::fs::metadata(&outside).unwrap().permissions().mode();
        assert_eq!(
            sys.chown_in(&root, "link", uid, gid, 0o700)
                .unwrap_err()
                .errno,
            40
        );
        assert_eq!(
            std::fs::metadata(&outside).unwrap().permissions().mode(),
            before
        );
    }

    /// A new root whose files are symlinks out of it, as a hostile or
    /// careless image could ship them.
    #[test]
    fn writes_in_a_root_never_follow_a_symlink_out_of_it() {
        let t = tempfile::tempdir().unwrap();
        let (root, outside) = (t.path().join("root"), t.path().join("outside"));
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("shadow"), "secret").unwrap();
        // An absolute link to a file outside, a relative one climbing out,
        // and a directory link.
        symlink(outside.join("shadow"), root.join("etc/hostname")).unwrap();
        symlink("../../outside/shadow", root.join("etc/resolv.conf")).unwrap();
        symlink(&outside, root.join("etc/network")).unwrap();
        let mut sys = Linux;
        // Dangling inside the root: an error, and nothing written anywhere.
        assert_eq!(
            sys.write_in(&root, "etc/hostname", "x").unwrap_err().errno,
            2
        );
        assert_eq!(
            std::fs::read_to_string(outside.join("shadow")).unwrap(),
            "secret"
        );
        let inside = root.join(outside.strip_prefix("/").unwrap());
        std::fs::create_dir_all(&inside).unwrap();
        std::fs::create_dir_all(root.join("outside")).unwrap();
        for rel in [
            "etc/hostname",
            "/etc/resolv.conf",
            "etc/network/interfaces.d/netinit-eth0",
        ] {
            sys.write_in(&root, rel, "from netinit\n").unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(outside.join("shadow")).unwrap(),
            "secret"
        );
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 1);
        // The links resolved as if the root were `/`: everything landed inside.
        assert_eq!(
            std::fs::read_to_string(inside.join("shadow")).unwrap(),
            "from netinit\n"
        );
        assert_eq!(
            std::fs::read_to_string(root.join("outside/shadow")).unwrap(),
            "from netinit\n"
        );
        assert!(inside.join("interfaces.d/netinit-eth0").is_file());
        assert_eq!(
            sys.read_in(&root, "etc/hostname").as_deref(),
            Some("from netinit\n")
        );
        // Reads are capped.
        std::fs::write(root.join("big"), vec![b'x'; (MAX_READ + 1) as usize]).unwrap();
        assert_eq!(sys.read_in(&root, "big"), None);
        assert_eq!(sys.read_to_string(&root.join("big")), None);
        // An image that is a link out of the medium resolves inside it.
        symlink("/outside/shadow", root.join("image.squashfs")).unwrap();
        assert_eq!(
            sys.resolve_in(&root, "image.squashfs").unwrap(),
            root.join("outside/shadow")
        );
        symlink("../../../../../../../etc/passwd", root.join("escape")).unwrap();
        assert_eq!(
            sys.resolve_in(&root, "escape").unwrap_err().errno,
            netinit_core::errno::ENOENT
        );
        // A plain file is written where it says.
        sys.write_in(&root, "etc/motd", "hi\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join("etc/motd")).unwrap(),
            "hi\n"
        );
    }

    #[test]
    fn copy_goes_in_chunks_and_stops_when_told() {
        let t = tempfile::tempdir().unwrap();
        let (src, dst) = (t.path().join("src"), t.path().join("dst"));
        let data: Vec<u8> = (0..(9u32 << 20)).map(|i| i as u8).collect();
        std::fs::write(&src, &data).unwrap();
        let mut seen = Vec::new();
        let n = Linux
            .copy(&src, &dst, &mut |c| {
                seen.push(c);
                true
            })
            .unwrap();
        assert_eq!(n, 9 << 20);
        assert_eq!(seen, [4 << 20, 8 << 20, 9 << 20]);
        assert_eq!(std::fs::read(&dst).unwrap(), data);
        let e = Linux.copy(&src, &dst, &mut |_| false).unwrap_err();
        assert_eq!(e.errno, netinit_core::errno::ETIMEDOUT);
    }

    #[test]
    fn an_abandoned_attempt_undoes_itself_and_never_touches_the_target() {
        use std::sync::{Arc, Mutex};
        let log = Arc::new(Mutex::new(Vec::<String>::new()));
        let (l1, l2) = (log.clone(), log.clone());
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        let (undone_tx, undone) = std::sync::mpsc::channel::<()>();
        // A mount that blocks past the timeout (until released), then succeeds.
        let r = bounded(
            PathBuf::from("/run/.nfs.attempt-1"),
            Duration::from_millis(50),
            move |at: &Path| {
                let _ = blocked.recv();
                l1.lock().unwrap().push(format!("mounted {}", at.display()));
                Ok(())
            },
            move |at: &Path| {
                l2.lock().unwrap().push(format!("undone {}", at.display()));
                let _ = undone_tx.send(());
            },
        );
        assert!(matches!(r, Err(Bounded::TimedOut)));
        release.send(()).unwrap();
        undone.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(
            *log.lock().unwrap(),
            ["mounted /run/.nfs.attempt-1", "undone /run/.nfs.attempt-1"]
        );
        // In time: the result is handed over and nothing is undone.
        let log = Arc::new(Mutex::new(Vec::<String>::new()));
        let l3 = log.clone();
        let r = bounded(
            PathBuf::from("/x"),
            Duration::from_secs(5),
            |_: &Path| Ok(7),
            move |_: &Path| l3.lock().unwrap().push("undone".into()),
        );
        assert_eq!(r.unwrap().unwrap(), 7);
        assert!(log.lock().unwrap().is_empty());
        // The private directory sits beside the target, never on it.
        let p = private_target(Path::new("/run/netinit/nfs"));
        assert_eq!(p.parent(), Some(Path::new("/run/netinit")));
        assert_ne!(p, Path::new("/run/netinit/nfs"));
    }
}
