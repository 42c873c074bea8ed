//! mount(2) and friends, and the file operations the root phase needs,
//! behind traits so the executor's call sequence is testable.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

pub use rustix::mount::MountFlags;
use rustix::mount::{mount, mount_move};

use crate::{Result, SysError};

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
    fn copy(&mut self, from: &Path, to: &Path) -> Result<u64>;
}

/// The real kernel.
#[derive(Debug, Default)]
pub struct Linux;

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
        let (tx, rx) = mpsc::channel();
        let (s, t, f, d) = (
            source.to_owned(),
            target.to_path_buf(),
            fstype.to_owned(),
            data.to_owned(),
        );
        std::thread::spawn(move || {
            let result = c_data(&d)
                .and_then(|data| mount(s.as_str(), &t, f.as_str(), flags, data.as_deref()));
            let _ = tx.send(result);
        });
        let object = format!("{fstype} {source} on {}", target.display());
        match rx.recv_timeout(timeout) {
            Ok(r) => r.map_err(|e| SysError::new("mount", object, e)),
            // The thread stays blocked in the kernel; we report and move on.
            Err(_) => Err(SysError::new(
                "mount",
                format!("{object} (no answer in {} s)", timeout.as_secs()),
                rustix::io::Errno::TIMEDOUT,
            )),
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
        std::fs::read_to_string(path).ok()
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

    fn copy(&mut self, from: &Path, to: &Path) -> Result<u64> {
        std::fs::copy(from, to).map_err(|e| io_err("copy", from, &e))
    }
}

/// `path` joined under `root`, for absolute paths inside a new root.
pub fn under(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}
