//! The executor: runs the plan's steps in order.
//!
//! `/proc/cmdline → BootPlan → network → root → hand-off → switch_root`.
//! Each phase lives in its own module; this file only sequences them.

use std::convert::Infallible;
use std::path::Path;

use netinit_core::plan::{self, BootPlan};

use crate::log;
use crate::step::{Step, StepError};

/// Where the new root is assembled before switch_root.
pub const NEWROOT: &str = "/newroot";

/// Boots. Returns only on failure; success execs the real init.
/// `on_plan` sees the plan as soon as it exists (PID 1 takes its failure
/// policy from it).
pub fn boot(args: &[String], on_plan: &mut dyn FnMut(&BootPlan)) -> Result<Infallible, StepError> {
    let plan = log::timed(Step::Cmdline, load_plan)?;
    on_plan(&plan);
    log::configure(&plan);
    for note in &plan.notes {
        crate::warn!(Step::Cmdline, "{note}");
    }
    let (net, mut preload) = crate::net::bring_up_for_root(&plan)?;
    let root = crate::root::assemble(&plan, &net, Path::new(NEWROOT), &mut preload)?;
    // As PID 1 our argv after argv[0] is exactly what the kernel meant for init.
    let init_args = args.get(1..).unwrap_or(&[]);
    crate::root::switch_root(&plan, &net, &root, init_args)
}

/// Reads and plans /proc/cmdline.
pub fn load_plan() -> Result<BootPlan, StepError> {
    let (text, lossy) = crate::cli::read_cmdline(Path::new("/proc/cmdline"))
        .map_err(|e| StepError::new(Step::Cmdline, format_args!("read /proc/cmdline: {e}")))?;
    if lossy {
        crate::warn!(
            Step::Cmdline,
            "/proc/cmdline is not UTF-8; bytes that aren't were replaced with U+FFFD"
        );
    }
    plan::from_cmdline(&text).map_err(|e| StepError::new(Step::Cmdline, e))
}
