//! `netinit explain [--json] [--cmdline STRING]` (to be written).

use std::process::ExitCode;

pub fn main(_args: &[String]) -> ExitCode {
    crate::cli::usage_error("explain: not written yet")
}
