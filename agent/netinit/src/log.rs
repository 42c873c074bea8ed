//! Logging: one line per event, `[    1.234567] netinit: <step>: <msg>`.
//!
//! As PID 1 every line goes to /dev/kmsg (so it is in `dmesg` and the
//! journal of the booted system) and exactly once to the console: when the
//! kernel will echo the kmsg line itself (its level is below
//! console_loglevel), we don't write it again; otherwise we write it to the
//! console ourselves, unless `quiet` asked for warnings and errors only.
//! /dev/kmsg is reopened per line because the kernel rate-limits writers
//! per open file (10 lines per 5 s by default) and drops the rest silently.
//!
//! Outside PID 1 (subcommands) lines go to stderr without kmsg.

use std::fmt;
use std::fs::OpenOptions;
use std::io::Write;
use std::sync::Mutex;

use netinit_core::plan::BootPlan;

use crate::step::Step;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Warn = 4,
    Info = 6,
}

#[derive(Debug)]
struct Sink {
    /// Write to /dev/kmsg (PID 1 only).
    kmsg: bool,
    /// Lines with a level below this are echoed to the console by the kernel.
    console_loglevel: u8,
    quiet: bool,
}

static SINK: Mutex<Sink> = Mutex::new(Sink {
    kmsg: false,
    console_loglevel: 0,
    quiet: false,
});

/// Switches to PID-1 mode once /dev and /proc are mounted.
pub fn init_pid1() {
    let console_loglevel = std::fs::read_to_string("/proc/sys/kernel/printk")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|w| w.parse().ok()))
        .unwrap_or(7);
    let kmsg = std::path::Path::new("/dev/kmsg").exists();
    let mut sink = SINK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    sink.kmsg = kmsg;
    sink.console_loglevel = console_loglevel;
}

/// Applies the plan's console preferences (`quiet`).
pub fn configure(plan: &BootPlan) {
    SINK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .quiet = plan.quiet;
}

/// Seconds since boot, from CLOCK_MONOTONIC (close to printk's clock).
pub fn uptime() -> (u64, u32) {
    netinit_sys::host::monotonic()
}

/// Milliseconds since boot; for step durations.
pub fn now_ms() -> u64 {
    let (s, us) = uptime();
    s * 1000 + u64::from(us) / 1000
}

/// One log line's text, without the timestamp or the kmsg level.
/// Messages carry names a server chose (file names on the NFS medium,
/// DHCP text, mount errors): control characters are escaped so that a
/// name can neither forge a second line in kmsg nor drive the console.
fn render(prefix: fmt::Arguments<'_>, msg: &dyn fmt::Display) -> String {
    let mut out = format!("netinit: {prefix}");
    for c in msg.to_string().chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() && (c as u32) < 0x80 => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

pub fn log(level: Level, step: Step, msg: fmt::Arguments<'_>) {
    let line = render(format_args!("{step}: "), &msg);
    // A thread that panicked mid-line poisons the lock; keep logging.
    let sink = SINK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut echoed = false;
    if sink.kmsg {
        let tagged = format!("<{}>{line}\n", level as u8);
        if let Ok(mut f) = OpenOptions::new().write(true).open("/dev/kmsg") {
            echoed =
                f.write_all(tagged.as_bytes()).is_ok() && (level as u8) < sink.console_loglevel;
        }
    }
    if echoed || (sink.quiet && level == Level::Info) {
        return;
    }
    let (s, us) = uptime();
    // A console write can only fail if the console is gone; nothing to do then.
    let _ = writeln!(std::io::stderr(), "[{s:5}.{us:06}] {line}");
}

/// Prints the `netinit: FAILED at <step>: <reason>` line. It bypasses
/// `quiet` and kmsg echo logic: this line must reach the console. It is
/// also what the panic hook prints, so it never waits for the log lock:
/// the panicking thread may hold it, or another thread stuck holding it.
pub fn failed(step: Step, reason: &dyn fmt::Display) {
    let line = render(format_args!("FAILED at {step}: "), reason);
    let kmsg = match SINK.try_lock() {
        Ok(sink) => sink.kmsg,
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner().kmsg,
        // Busy: decide without it (only PID 1 has a /dev/kmsg worth using).
        Err(std::sync::TryLockError::WouldBlock) => {
            netinit_sys::host::is_pid1() && std::path::Path::new("/dev/kmsg").exists()
        }
    };
    if kmsg {
        if let Ok(mut f) = OpenOptions::new().write(true).open("/dev/kmsg") {
            let _ = f.write_all(format!("<3>{line}\n").as_bytes());
        }
    }
    let _ = writeln!(std::io::stderr(), "{line}");
}

#[macro_export]
macro_rules! info {
    ($step:expr, $($arg:tt)*) => { $crate::log::log($crate::log::Level::Info, $step, format_args!($($arg)*)) };
}
#[macro_export]
macro_rules! warn {
    ($step:expr, $($arg:tt)*) => { $crate::log::log($crate::log::Level::Warn, $step, format_args!($($arg)*)) };
}

/// Times a step: logs `<step>: done in N ms` on success. The lab's phase
/// table is built from these lines.
pub fn timed<T, E>(step: Step, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    crate::step::set_current(step);
    let start = now_ms();
    let out = f();
    if out.is_ok() {
        log(
            Level::Info,
            step,
            format_args!("done in {} ms", now_ms().saturating_sub(start)),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_failure_line_never_waits_for_the_log_lock() {
        // A thread stuck while holding the lock (or one that panicked in
        // the middle of a line): the failure line must still go out.
        let guard = SINK.lock();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            failed(Step::Nfs, &"internal error: test");
            let _ = tx.send(());
        });
        let got = rx.recv_timeout(std::time::Duration::from_secs(2));
        drop(guard);
        assert!(got.is_ok(), "failed() blocked on the log lock");
    }

    #[test]
    fn control_characters_from_a_server_are_escaped() {
        // A file name on the NFS medium or a server's message could carry
        // a newline (a forged second log line) or an escape sequence that
        // rewrites the console.
        let name = "live/fs\n[    0.1] netinit: root: ok\x1b[2J\r\u{9b}x.squashfs";
        let line = render(
            format_args!("image: "),
            &format_args!("open {name}: ENOENT"),
        );
        assert_eq!(
            line,
            "netinit: image: open live/fs\\n[    0.1] netinit: root: ok\\x1b[2J\\r\\u{9b}x.squashfs: ENOENT"
        );
        assert!(!line.chars().any(char::is_control));
        // Plain text and non-ASCII letters are untouched.
        assert_eq!(
            render(format_args!("dhcp: "), &"hostname café-7"),
            "netinit: dhcp: hostname café-7"
        );
    }
}
