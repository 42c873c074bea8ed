//! The shells PID 1 offers: the rescue shell after a failure and the
//! debug shell of `break=` before a step.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::Command;

use crate::step::Step;
use crate::{info, warn};

pub fn is_executable(path: &str) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `break=` / `netinit.break=`: a shell before the step `at`, when netinit
/// is PID 1 and the initrd has /bin/sh; the boot goes on when it exits.
pub fn debug_break(plan: &netinit_core::plan::BootPlan, at: netinit_core::plan::BreakPoint) {
    if !plan.breaks.contains(&at) {
        return;
    }
    let step = Step::ALL
        .into_iter()
        .find(|s| s.as_str() == at.as_str())
        .unwrap_or(Step::Init);
    if std::process::id() != 1 {
        warn!(
            step,
            "break before {step}: not PID 1 (a hook in another initrd), ignored"
        );
    } else if !is_executable("/bin/sh") {
        warn!(
            step,
            "break before {step}: the initrd has no /bin/sh, going on"
        );
    } else {
        warn!(
            step,
            "break before {step}: starting /bin/sh; exit it to go on"
        );
        run_shell();
        info!(step, "shell exited; going on with {step}");
    }
}

pub fn run_shell() {
    let mut cmd = Command::new("/bin/sh");
    // SAFETY: pre_exec runs in the forked child before exec; setsid and the
    // TIOCSCTTY ioctl are async-signal-safe syscalls that touch no memory of
    // the parent.
    let child = unsafe {
        cmd.pre_exec(|| {
            let _ = rustix::process::setsid();
            let _ = rustix::process::ioctl_tiocsctty(rustix::stdio::stdin());
            Ok(())
        })
    }
    .spawn();
    match child {
        Ok(mut c) => {
            let _ = c.wait();
        }
        Err(e) => warn!(Step::Init, "exec /bin/sh: {e}"),
    }
}
