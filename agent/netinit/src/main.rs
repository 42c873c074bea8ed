//! netinit: `/init` for network boots, plus the same phases as subcommands.
//!
//! Run as PID 1 it boots (see [`pid1`]). Otherwise the first argument picks
//! a subcommand. Arguments are parsed by hand: as /init our argv belongs to
//! the kernel and the real init, and an argument parser crate would cost
//! size for four small commands.

mod boot;
mod cmd;
mod keeper;
mod keeper6;
mod log;
mod net;
mod pid1;
mod root;
mod shell;
mod step;
#[cfg(test)]
mod testing;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args
        .first()
        .is_some_and(|a| a.as_str() == netinit_core::keeper::ARGV0)
    {
        return keeper::main(&args);
    }
    if args
        .first()
        .is_some_and(|a| a.as_str() == netinit_core::keeper::ARGV0_6)
    {
        return keeper6::main(&args);
    }
    if netinit_sys::host::is_pid1() {
        pid1::run(&args)
    }
    cmd::dispatch(&args)
}
