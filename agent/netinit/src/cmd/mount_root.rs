//! `netinit mount-root NEWROOT [--cmdline STRING]`: hook mode, the network
//! and root phases without switch_root.

use std::path::Path;
use std::process::ExitCode;

use super::Spec;
use crate::log;
use crate::root::assemble;
use crate::step::Step;
use crate::{info, warn};

const SPEC: Spec = Spec {
    name: "mount-root",
    flags: &[],
    valued: &["cmdline"],
    min_positional: 1,
    max_positional: 1,
    help: "\
Usage: netinit mount-root NEWROOT [--cmdline STRING]

Hook mode, for mkinitcpio and initramfs-tools: runs netinit's network
phase and root assembly (NFS, live image, loop, overlay) into NEWROOT and
writes the hand-off files, but does not switch root; the calling initramfs
does that. NEWROOT must exist.

Options:
  --cmdline STRING  use this cmdline instead of /proc/cmdline

Exit status: 0 the root is mounted on NEWROOT, 1 a step failed (the line
'netinit: FAILED at <step>: <reason>' says which and why), 2 bad usage.",
};

/// `netinit mount-root NEWROOT [--cmdline STRING]`.
pub fn main(args: &[String]) -> ExitCode {
    super::run(&SPEC, args, |p| {
        let newroot = Path::new(p.positional.first().map_or("", String::as_str));
        if !newroot.is_dir() {
            return super::usage_error(&format!(
                "mount-root: {} is not a directory",
                newroot.display()
            ));
        }
        let plan = match super::plan_or_usage(p, "mount-root") {
            Ok(plan) => plan,
            Err(code) => return code,
        };
        for note in &plan.notes {
            warn!(Step::Cmdline, "{note}");
        }
        let assembled = crate::net::bring_up_for_root(&plan)
            .and_then(|(net, mut preload)| assemble(&plan, &net, newroot, &mut preload));
        match assembled {
            Ok(a) => {
                info!(
                    Step::Handoff,
                    "root ready on {} from {}:{}",
                    a.newroot.display(),
                    a.root.server,
                    a.root.path
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                log::failed(e.step, &e);
                ExitCode::from(1)
            }
        }
    })
}
