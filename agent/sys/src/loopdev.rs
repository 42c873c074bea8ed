//! Loop devices with LOOP_CONFIGURE: one ioctl sets the backing file and
//! the flags atomically (read-only, autoclear), no LOOP_SET_FD race.

use std::path::{Path, PathBuf};

use linux_raw_sys::loop_device::{
    LO_FLAGS_AUTOCLEAR, LO_FLAGS_READ_ONLY, LOOP_CONFIGURE, LOOP_CTL_GET_FREE, loop_config,
};
use rustix::fd::AsFd;
use rustix::fs::{Mode, OFlags, open};
use rustix::ioctl::{Ioctl, IoctlOutput, Opcode, Setter, ioctl};

use crate::{Result, SysError};

/// An attached loop device. Keep it until the filesystem on it is
/// mounted: with autoclear, closing the last fd of an unmounted loop
/// device detaches it.
#[derive(Debug)]
pub struct Attached {
    pub path: PathBuf,
    _fd: Option<rustix::fd::OwnedFd>,
}

impl Attached {
    /// For fakes: a device with no fd to hold.
    pub fn unheld(path: PathBuf) -> Self {
        Attached { path, _fd: None }
    }
}

/// Attaches image files to loop devices.
pub trait Loop {
    /// Attaches `image` read-only with autoclear (the device frees itself
    /// when its last user, the squashfs mount, goes).
    fn attach(&mut self, image: &Path) -> Result<Attached>;
}

/// `LOOP_CTL_GET_FREE`: the ioctl's return value is the device number.
struct GetFree;

// SAFETY: LOOP_CTL_GET_FREE takes no argument and returns the free device
// number as the ioctl's result; we read nothing through the pointer.
unsafe impl Ioctl for GetFree {
    type Output = u32;
    const IS_MUTATING: bool = false;

    fn opcode(&self) -> Opcode {
        LOOP_CTL_GET_FREE as Opcode
    }

    fn as_ptr(&mut self) -> *mut core::ffi::c_void {
        std::ptr::null_mut()
    }

    unsafe fn output_from_ptr(
        out: IoctlOutput,
        _: *mut core::ffi::c_void,
    ) -> rustix::io::Result<u32> {
        u32::try_from(out).map_err(|_| rustix::io::Errno::RANGE)
    }
}

/// Claiming a free device can race with another process; retry a few times.
const ATTACH_TRIES: usize = 8;

impl Loop for crate::Linux {
    fn attach(&mut self, image: &Path) -> Result<Attached> {
        let name = image.display().to_string();
        let file = open(image, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| SysError::new("open", &name, e))?;
        let ctl = open(
            "/dev/loop-control",
            OFlags::RDWR | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| SysError::new("open", "/dev/loop-control", e))?;
        let mut last = rustix::io::Errno::BUSY;
        for _ in 0..ATTACH_TRIES {
            // SAFETY: GetFree matches LOOP_CTL_GET_FREE's contract (no argument, int result).
            let n = unsafe { ioctl(&ctl, GetFree) }
                .map_err(|e| SysError::new("LOOP_CTL_GET_FREE", "/dev/loop-control", e))?;
            let dev_path = PathBuf::from(format!("/dev/loop{n}"));
            let dev = open(&dev_path, OFlags::RDWR | OFlags::CLOEXEC, Mode::empty())
                .map_err(|e| SysError::new("open", dev_path.display().to_string(), e))?;
            let mut config = loop_config {
                fd: u32::try_from(rustix::fd::AsRawFd::as_raw_fd(&file.as_fd()))
                    .unwrap_or(u32::MAX),
                block_size: 0,
                // SAFETY: loop_info64 is a plain C struct of integers and byte arrays; all-zero is valid.
                info: unsafe { std::mem::zeroed() },
                __reserved: [0; 8],
            };
            config.info.lo_flags = LO_FLAGS_READ_ONLY as u32 | LO_FLAGS_AUTOCLEAR as u32;
            let bytes = name.as_bytes();
            let len = bytes.len().min(config.info.lo_file_name.len() - 1);
            config.info.lo_file_name[..len].copy_from_slice(&bytes[..len]);
            // SAFETY: LOOP_CONFIGURE reads a `struct loop_config`, which is exactly the Input type.
            let setter =
                unsafe { Setter::<{ LOOP_CONFIGURE as Opcode }, loop_config>::new(config) };
            // SAFETY: the opcode and argument type match (see above); `dev` is an open loop device.
            match unsafe { ioctl(&dev, setter) } {
                Ok(()) => {
                    return Ok(Attached {
                        path: dev_path,
                        _fd: Some(dev),
                    });
                }
                // Someone else configured it between GET_FREE and now.
                Err(rustix::io::Errno::BUSY) => last = rustix::io::Errno::BUSY,
                Err(e) => {
                    return Err(SysError::new(
                        "LOOP_CONFIGURE",
                        format!("{} for {name}", dev_path.display()),
                        e,
                    ));
                }
            }
        }
        Err(SysError::new("LOOP_CONFIGURE", name, last))
    }
}
