//! `netinit net [--json] [--cmdline STRING]`: the network phase alone.

use std::process::ExitCode;
use std::time::Instant;

use netinit_core::plan::NetMethod;

use super::Spec;
use crate::net::{bring_up, describe};

const SPEC: Spec = Spec {
    name: "net",
    flags: &["json"],
    valued: &["cmdline"],
    min_positional: 0,
    max_positional: 0,
    help: "\
Usage: netinit net [--json] [--cmdline STRING]

Runs netinit's network phase in the current network namespace, exactly as
at boot: load NIC drivers by modalias (when /lib/modules/$(uname -r)
exists), bring up lo and the candidate NICs, then DHCP on all of them at
once (first lease wins) or the static ip= configuration. Prints the result.

Options:
  --cmdline STRING  use this cmdline instead of /proc/cmdline
  --json            print the configuration as JSON

Exit status: 0 configured, 1 the network phase failed (one line says which
NICs were tried, their carrier state and the offers seen), 2 bad usage.",
};

/// `netinit net [--json] [--cmdline STRING]`.
pub fn main(args: &[String]) -> ExitCode {
    super::run(&SPEC, args, |p| {
        let plan = match super::plan_or_usage(p, "net") {
            Ok(plan) => plan,
            Err(code) => return code,
        };
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
                if p.flag("json") {
                    print!("{}", state.to_json(elapsed).to_pretty());
                } else {
                    println!("{}", describe(&state));
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("netinit: net: FAILED at {}: {e}", e.step);
                ExitCode::from(1)
            }
        }
    })
}
