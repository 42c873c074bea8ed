//! `netinit net [--json] [--cmdline STRING]`: the network phase alone.

use std::process::ExitCode;
use std::time::Instant;

use netinit_core::net::NetState;
use netinit_core::plan::NetMethod;

use super::Spec;
use crate::info;
use crate::net::{bring_up, describe};
use crate::step::{Step, StepError};

const SPEC: Spec = Spec {
    name: "net",
    flags: &["json", "hook"],
    valued: &["cmdline"],
    min_positional: 0,
    max_positional: 0,
    help: "\
Usage: netinit net [--json] [--hook] [--cmdline STRING]

Runs netinit's network phase in the current network namespace, exactly as
at boot: load NIC drivers by modalias (when /lib/modules/$(uname -r)
exists), bring up lo and the candidate NICs, then DHCP on all of them at
once (first lease wins) or the static ip= configuration. Prints the result.

Options:
  --cmdline STRING  use this cmdline instead of /proc/cmdline
  --json            print the configuration as JSON
  --hook            network-only hook mode, for an initrd whose own scripts
                    mount the root: do nothing unless the cmdline asks for
                    a network root; else write /run/net-IFACE.conf (klibc
                    ipconfig's format, which the distribution's scripts read)
                    and /run/netinit/net.json, and print DEVICE=IFACE

Exit status: 0 configured (or, with --hook, nothing to do), 1 the network
phase failed (one line says which NICs were tried, their carrier state and
the offers seen), 2 bad usage.",
};

/// `netinit net [--json] [--cmdline STRING]`.
pub fn main(args: &[String]) -> ExitCode {
    super::run(&SPEC, args, |p| {
        let plan = match super::plan_or_usage(p, "net") {
            Ok(plan) => plan,
            Err(code) => return code,
        };
        let hook = p.flag("hook");
        // A local boot stays as the distribution does it: no network.
        if hook && plan.root.is_none() && plan.fetch.is_none() {
            return ExitCode::SUCCESS;
        }
        // A cmdline without a network root (e.g. a workstation's) still
        // means "try DHCP" here.
        let mut plan = plan;
        if plan.network.method == NetMethod::Off
            && plan.network.autoconf.is_none()
            && plan.network.ipv6.is_none()
        {
            plan.network.method = NetMethod::Dhcp;
        }
        let start = Instant::now();
        match bring_up(&plan) {
            Ok(state) => {
                let elapsed = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
                if hook {
                    return match hook_handoff(&state) {
                        Ok(()) => {
                            println!("DEVICE={}", state.interface);
                            ExitCode::SUCCESS
                        }
                        Err(e) => {
                            crate::log::failed(e.step, &e);
                            ExitCode::from(1)
                        }
                    };
                }
                if p.flag("json") {
                    print!("{}", state.to_json(elapsed).to_pretty());
                } else {
                    println!("{}", describe(&state));
                }
                ExitCode::SUCCESS
            }
            Err(e) if hook => {
                crate::log::failed(e.step, &e);
                ExitCode::from(1)
            }
            Err(e) => {
                eprintln!("netinit: net: FAILED at {}: {e}", e.step);
                ExitCode::from(1)
            }
        }
    })
}

/// The files a distribution's own boot script reads instead of running
/// ipconfig again: klibc's /run/net-IFACE.conf (initramfs-tools'
/// configure_networking, live-boot and casper source it) and netinit's
/// /run/netinit/net.json.
fn hook_handoff(state: &NetState) -> Result<(), StepError> {
    use netinit_sys::Linux;
    use netinit_sys::mount::Files;
    let err = |e| StepError::new(Step::Handoff, e);
    let mut sys = Linux;
    let conf = format!("/run/net-{}.conf", state.interface);
    let text = netinit_core::handoff::klibc_net_conf(state, None, netinit_sys::host::uptime_secs());
    sys.write(std::path::Path::new(&conf), &text).map_err(err)?;
    sys.write(
        std::path::Path::new("/run/netinit/net.json"),
        &state.to_json(0).to_pretty(),
    )
    .map_err(err)?;
    info!(Step::Handoff, "wrote {conf}, /run/netinit/net.json");
    Ok(())
}
