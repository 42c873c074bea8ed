//! The root phase: NFS, live image, loop, overlay, hand-off, switch_root
//! (to be written).

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use netinit_core::net::NetState;
use netinit_core::plan::BootPlan;

use crate::step::{Step, StepError};

/// What the root phase built, for switch_root.
#[derive(Debug)]
pub struct Assembled {
    pub newroot: PathBuf,
}

/// Mounts NFS, finds and mounts the image, builds the overlay in
/// `newroot`, and writes the hand-off files into it.
pub fn assemble(_plan: &BootPlan, _net: &NetState, newroot: &Path) -> Result<Assembled, StepError> {
    let _ = newroot;
    Err(StepError::new(Step::Nfs, "root phase not written yet"))
}

/// Moves /dev, /proc, /sys, /run, frees the initramfs, chroots and execs
/// init. Returns only on failure.
pub fn switch_root(
    _plan: &BootPlan,
    _root: &Assembled,
    _init_args: &[String],
) -> Result<Infallible, StepError> {
    Err(StepError::new(
        Step::SwitchRoot,
        "switch_root not written yet",
    ))
}

/// `netinit mount-root NEWROOT [--cmdline STRING]`.
pub fn main(_args: &[String]) -> ExitCode {
    crate::cli::usage_error("mount-root: not written yet")
}
