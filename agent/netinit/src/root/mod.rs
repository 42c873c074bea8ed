//! The root phase: NFS, live image, loop, overlay, hand-off, switch_root.

pub mod assemble;
mod backoff;
pub mod casper;
pub mod fetch;
pub mod handoff;
pub mod nbd;

use std::convert::Infallible;
use std::path::Path;

use netinit_core::net::NetState;
use netinit_core::plan::{BootPlan, BreakPoint};
use netinit_sys::Linux;

pub use assemble::Assembled;

use crate::log::timed;
use crate::net::{Preload, modules};
use crate::step::{Step, StepError};
use crate::{info, warn};

/// Mounts NFS, finds and mounts the image, builds the overlay in
/// `newroot`, and writes the hand-off files.
/// The root modules come from `preload` where it loaded them; a step loads
/// what is missing itself.
pub fn assemble(
    plan: &BootPlan,
    net: &NetState,
    newroot: &Path,
    preload: &mut Preload,
) -> Result<Assembled, StepError> {
    // The real kernel implements every trait the root phase is generic over.
    let mut sys = Linux;
    let mut modules = modules::Kernel {
        plan,
        preload: Some(preload),
    };
    crate::shell::debug_break(plan, BreakPoint::Nfs);
    let assembled = match &plan.fetch {
        Some(f) => fetch::assemble(
            &mut sys,
            (&netinit_sys::http::Tcp, &mut Linux),
            plan,
            f,
            newroot,
            &mut modules,
        )?,
        None => assemble::assemble(&mut sys, plan, net, newroot, &mut modules)?,
    };
    crate::shell::debug_break(plan, BreakPoint::Handoff);
    let wrote = timed(Step::Handoff, || {
        let mut wrote =
            handoff::write(&mut sys, net, &assembled, netinit_sys::host::uptime_secs())?;
        wrote.extend(handoff::write_links(
            &mut sys,
            net,
            &plan.network,
            &assembled.newroot,
        )?);
        Ok::<_, StepError>(wrote)
    })?;
    info!(Step::Handoff, "wrote {}", wrote.join(", "));
    // After the hand-off: casper's hostname wins over DHCP's, as with casper.
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    let session = casper::setup(&mut sys, plan, &assembled.newroot, days);
    if !session.is_empty() {
        info!(
            Step::Handoff,
            "casper session: wrote {}",
            session.join(", ")
        );
    }
    Ok(assembled)
}

/// Checks the new root and its init while failing is still rescuable,
/// then moves /dev, /proc, /sys, /run, frees the initramfs, chroots and
/// execs init. Returns only on failure.
pub fn switch_root(
    plan: &BootPlan,
    net: &NetState,
    root: &Assembled,
    init_args: &[String],
) -> Result<Infallible, StepError> {
    use netinit_sys::switch;
    crate::shell::debug_break(plan, BreakPoint::SwitchRoot);
    crate::step::set_current(Step::SwitchRoot);
    let fail = |e| StepError::new(Step::SwitchRoot, e);
    // Logged before /proc moves: the benchmark reads netinit's peak memory from here.
    if let Some(kib) = netinit_sys::host::peak_rss_kib() {
        info!(Step::SwitchRoot, "peak RSS (VmHWM) {kib} kB");
    }
    switch::check_newroot(&root.newroot).map_err(fail)?;
    switch::check_init(&root.newroot, &plan.init).map_err(|e| {
        let hint = if e.errno == netinit_core::errno::ENOENT {
            "set init= to the new root's init, e.g. init=/lib/systemd/systemd"
        } else {
            "the new root's init cannot be executed"
        };
        fail(e).hint(hint)
    })?;
    // Only an initramfs is ours to delete (util-linux's switch_root does the same).
    let free = switch::is_ram_fs(Path::new("/")).unwrap_or(false);
    if !free {
        warn!(
            Step::SwitchRoot,
            "/ is not a ramfs or tmpfs: not freeing it"
        );
    }
    // Logged while /dev/kmsg is still reachable (same clock as the lines
    // before it); the lab times switch_root from here.
    info!(Step::SwitchRoot, "exec {}", plan.init);
    switch::move_api_mounts(&root.newroot).map_err(fail)?;
    let err = match switch::enter_root(&root.newroot, free) {
        Ok(()) => {
            if plan.lease_keeper {
                start_keeper(net, plan.network.hostname.as_deref());
            }
            match switch::exec_init(&plan.init, init_args) {
                Ok(never) => match never {},
                Err(e) => e,
            }
        }
        Err(e) => e,
    };
    Err(fail(err).hint("the new root is not bootable"))
}

/// Starts the lease keeper inside the new root; a failure only costs the
/// renewals, so it is a warning. /dev/kmsg has moved with /dev, so the
/// lines still reach the log.
fn start_keeper(net: &NetState, hostname: Option<&str>) {
    match crate::keeper::start(net, hostname) {
        Ok(Some(pid)) => info!(
            Step::SwitchRoot,
            "lease keeper {} runs as pid {pid}",
            netinit_core::keeper::ARGV0
        ),
        Ok(None) => {}
        Err(e) => warn!(Step::SwitchRoot, "{e}; nothing will renew the lease"),
    }
    match crate::keeper6::start(net) {
        Ok(Some(pid)) => info!(
            Step::SwitchRoot,
            "DHCPv6 lease keeper {} runs as pid {pid}",
            netinit_core::keeper::ARGV0_6
        ),
        Ok(None) => {}
        Err(e) => warn!(Step::SwitchRoot, "{e}; nothing will renew the DHCPv6 lease"),
    }
}
