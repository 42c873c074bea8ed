//! `netinit check-kernel [CONFIG]` (to be written).

use std::process::ExitCode;

pub fn main(_args: &[String]) -> ExitCode {
    crate::cli::usage_error("check-kernel: not written yet")
}
