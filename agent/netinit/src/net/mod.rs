//! The network phase: modules → links → DHCP or static `ip=` (to be written).

pub mod modules;

use std::process::ExitCode;

use netinit_core::net::NetState;
use netinit_core::plan::BootPlan;

use crate::step::{Step, StepError};

/// Loads drivers, brings links up and configures the boot interface.
/// Never sets a link down or flushes an address in use.
pub fn bring_up(_plan: &BootPlan) -> Result<NetState, StepError> {
    Err(StepError::new(
        Step::Modules,
        "network phase not written yet",
    ))
}

/// `netinit net [--json] [--cmdline STRING]`.
pub fn main(_args: &[String]) -> ExitCode {
    crate::cli::usage_error("net: not written yet")
}
