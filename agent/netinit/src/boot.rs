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
    let (text, lossy) = read_cmdline(Path::new("/proc/cmdline"))
        .map_err(|e| StepError::new(Step::Cmdline, format_args!("read /proc/cmdline: {e}")))?;
    if lossy {
        crate::warn!(
            Step::Cmdline,
            "/proc/cmdline is not UTF-8; bytes that aren't were replaced with U+FFFD"
        );
    }
    plan::from_cmdline(&text).map_err(|e| StepError::new(Step::Cmdline, e))
}

/// Reads a kernel cmdline; the bool says whether bytes that are not
/// UTF-8 were replaced. The error is the bare I/O error. The kernel passes the boot loader's bytes as they
/// are (a Latin-1 menu title, a stray byte): one odd word must not stop
/// the boot, so it is read lossily and only that word is affected.
pub fn read_cmdline(path: &std::path::Path) -> Result<(String, bool), String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    match String::from_utf8(bytes) {
        Ok(t) => Ok((t, false)),
        Err(e) => Ok((String::from_utf8_lossy(e.as_bytes()).into_owned(), true)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cmdline_that_is_not_utf8_is_read_lossily() {
        let dir = std::env::temp_dir().join(format!("netinit-cmdline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("cmdline");
        // A boot loader menu in Latin-1 put a stray byte in a title=.
        std::fs::write(
            &f,
            b"title=Caf\xe9 ip=dhcp root=/dev/nfs nfsroot=10.0.0.1:/srv\n",
        )
        .unwrap();
        let (text, lossy) = read_cmdline(&f).unwrap();
        assert!(lossy);
        assert!(text.contains("ip=dhcp root=/dev/nfs nfsroot=10.0.0.1:/srv"));
        std::fs::write(&f, b"ip=dhcp\n").unwrap();
        assert_eq!(read_cmdline(&f).unwrap(), ("ip=dhcp\n".to_owned(), false));
        assert!(
            read_cmdline(&dir.join("missing"))
                .unwrap_err()
                .contains("No such file")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
