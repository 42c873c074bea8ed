//! Loading kernel modules with finit_module(2).

use std::ffi::CString;
use std::path::Path;

use rustix::fs::{Mode, OFlags, open};
use rustix::system::finit_module;

use crate::{Result, SysError};

/// Loads one module file. The seam the coldplug executor is generic over.
/// Shared by threads: independent modules load concurrently.
pub trait ModuleLoader: Sync {
    /// Loads the module at `path` with `params` (space-separated
    /// `key=value`). Already loaded (EEXIST) is success.
    fn load(&self, name: &str, path: &Path, params: &str) -> Result<()>;
}

/// The real loader.
#[derive(Debug, Default)]
pub struct Finit;

/// `MODULE_INIT_COMPRESSED_FILE`: let the kernel decompress .ko.xz/.ko.zst
/// (needs CONFIG_MODULE_DECOMPRESS).
const MODULE_INIT_COMPRESSED_FILE: i32 = 4;

impl ModuleLoader for Finit {
    fn load(&self, name: &str, path: &Path, params: &str) -> Result<()> {
        let fd = open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| SysError::new("open", path.display().to_string(), e))?;
        let params = CString::new(params)
            .map_err(|_| SysError::new("finit_module", name, rustix::io::Errno::INVAL))?;
        let compressed = path
            .extension()
            .is_some_and(|e| e == "xz" || e == "zst" || e == "gz");
        let flags = if compressed {
            MODULE_INIT_COMPRESSED_FILE
        } else {
            0
        };
        match finit_module(&fd, &params, flags) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => Ok(()),
            Err(e) => Err(SysError::new("finit_module", name, e)),
        }
    }
}
