//! `netinit explain [--json] [--cmdline STRING]`: the boot plan, without
//! doing anything.

use std::process::ExitCode;

use netinit_core::explain;

use super::Spec;

// Each subcommand's argv spec is a table row, alike in shape by design.
const SPEC: Spec = Spec {
    name: "explain",
    flags: &["json", "netroot"],
    valued: &["cmdline"],
    min_positional: 0,
    max_positional: 0,
    help: "\
Usage: netinit explain [--json | --netroot] [--cmdline STRING]

Prints the boot plan netinit would follow for a kernel command line: how
the network comes up, which modules load, where the NFS root and the live
image are, the overlay, and the init to run. Nothing is changed.

Options:
  --cmdline STRING  plan this cmdline instead of /proc/cmdline
  --json            print the plan as JSON (keys: see docs/cmdline.md)
  --netroot         print nothing; exit 0 if the cmdline asks for a network
                    root, 1 if not (a local boot: the hooks stay out of it)

Exit status: 0 the cmdline is valid, 2 it is not (one line on stderr names
the parameter and what is wrong).",
};

pub fn main(args: &[String]) -> ExitCode {
    super::run(&SPEC, args, |p| match super::plan_or_usage(p, "explain") {
        Ok(plan) if p.flag("netroot") => {
            if plan.root.is_some() || plan.fetch.is_some() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Ok(plan) if p.flag("json") => {
            print!("{}", explain::to_json(&plan).to_pretty());
            ExitCode::SUCCESS
        }
        Ok(plan) => {
            print!("{}", explain::describe(&plan));
            ExitCode::SUCCESS
        }
        Err(code) => code,
    })
}
