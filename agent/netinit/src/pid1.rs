//! PID 1: early mounts, the console, and what happens on failure.
//!
//! PID 1 must never exit (the kernel panics) and must never hang silently.
//! Every path out of [`run`] is an exec of the real init, a rescue shell,
//! a reboot or a power-off, each preceded by a line on the console.

use std::ffi::CStr;
use std::fs;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rustix::mount::{MountFlags, mount};

use netinit_core::plan::FailurePolicy;

use crate::step::{self, Step, StepError};
use crate::{boot, info, log, shell, warn};

/// One early mount: what the kernel does not give an initramfs /init.
struct EarlyMount {
    source: &'static str,
    target: &'static str,
    fstype: &'static str,
    flags: MountFlags,
    data: Option<&'static CStr>,
}

const NOSUID_NODEV_NOEXEC: MountFlags = MountFlags::NOSUID
    .union(MountFlags::NODEV)
    .union(MountFlags::NOEXEC);

/// A table, not code: the order matters (/dev before the console).
const EARLY_MOUNTS: [EarlyMount; 4] = [
    EarlyMount {
        source: "devtmpfs",
        target: "/dev",
        fstype: "devtmpfs",
        flags: MountFlags::NOSUID,
        data: Some(c"mode=0755"),
    },
    EarlyMount {
        source: "proc",
        target: "/proc",
        fstype: "proc",
        flags: NOSUID_NODEV_NOEXEC,
        data: None,
    },
    EarlyMount {
        source: "sysfs",
        target: "/sys",
        fstype: "sysfs",
        flags: NOSUID_NODEV_NOEXEC,
        data: None,
    },
    EarlyMount {
        source: "tmpfs",
        target: "/run",
        fstype: "tmpfs",
        flags: MountFlags::NOSUID.union(MountFlags::NODEV),
        data: Some(c"mode=0755"),
    },
];

/// Failure policy until the cmdline is parsed (then the plan's applies).
/// Packed as `shell << 31 | reboot_secs` so the panic hook can read it.
static POLICY: AtomicU32 = AtomicU32::new(pack(FailurePolicy::DEFAULT));

const fn pack(p: FailurePolicy) -> u32 {
    ((p.shell as u32) << 31) | (p.reboot_after_secs & 0x7fff_ffff)
}

fn set_policy(policy: FailurePolicy) {
    POLICY.store(pack(policy), Ordering::Relaxed);
}

fn policy() -> (bool, u32) {
    let raw = POLICY.load(Ordering::Relaxed);
    (raw >> 31 == 1, raw & 0x7fff_ffff)
}

pub fn run(args: &[String]) -> ! {
    early_mounts();
    log::init_pid1();
    std::panic::set_hook(panic_hook(reboot_after, park_forever));
    let (s, us) = log::uptime();
    info!(
        Step::Init,
        "netinit {} started at {s}.{us:06} s",
        env!("CARGO_PKG_VERSION")
    );

    loop {
        let err = match boot::boot(args, &mut |plan| {
            set_policy(plan.failure);
        }) {
            Ok(never) => match never {},
            Err(err) => err,
        };
        fail(&err);
    }
}

/// A helper thread's end after a panic: it never runs again.
fn park_forever() -> ! {
    loop {
        std::thread::park();
    }
}

type PanicHook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Send + Sync>;

/// Reports a panic, then reboots per the failure policy. No rescue
/// shell from a panic hook: the process state is suspect.
///
/// Only a panic on the thread that installed the hook (the boot's main
/// thread) reboots. A helper thread's panic (a bounded mount, a socket
/// closer) is reported and that thread stops for good: the main thread
/// goes on, and sees the helper's work as not done (every wait on a
/// helper is bounded). Returning from the hook is not an option: the
/// release build aborts on panic, and PID 1 aborting is a kernel panic.
/// `stop` is how the helper thread stops (a test's says when it has).
fn panic_hook(reboot: fn(u32) -> !, stop: fn() -> !) -> PanicHook {
    let main = std::thread::current().id();
    Box::new(move |info| {
        let me = std::thread::current();
        if me.id() != main {
            log::failed(
                step::current(),
                &format_args!(
                    "internal error in helper thread {}: {info}; that thread is stopped, the boot goes on",
                    me.name().unwrap_or("(unnamed)")
                ),
            );
            stop();
        }
        log::failed(step::current(), &format_args!("internal error: {info}"));
        let (_, secs) = policy();
        reboot(secs)
    })
}

fn early_mounts() {
    for m in &EARLY_MOUNTS {
        // Best effort: a missing mount point is created; an already-mounted
        // target (e.g. CONFIG_DEVTMPFS_MOUNT) reports EBUSY and is fine.
        let _ = fs::create_dir_all(m.target);
        match mount(m.source, m.target, m.fstype, m.flags, m.data) {
            Ok(()) | Err(rustix::io::Errno::BUSY) => {}
            Err(e) => {
                // The logger may not work yet; stderr is the console if the
                // initrd has /dev/console.
                eprintln!(
                    "netinit: init: mount {} on {}: {}",
                    m.fstype,
                    m.target,
                    netinit_core::errno::describe(e.raw_os_error())
                );
            }
        }
    }
    ensure_console();
}

/// The kernel opens /dev/console for init only if the initramfs has it.
/// If it didn't, open it now from devtmpfs so our output is seen.
fn ensure_console() {
    if rustix::io::fcntl_getfd(rustix::stdio::stderr()).is_ok() {
        return;
    }
    let flags = rustix::fs::OFlags::RDWR | rustix::fs::OFlags::NOCTTY;
    let Ok(console) = rustix::fs::open("/dev/console", flags, rustix::fs::Mode::empty()) else {
        return;
    };
    let _ = rustix::stdio::dup2_stdin(&console);
    let _ = rustix::stdio::dup2_stdout(&console);
    let _ = rustix::stdio::dup2_stderr(&console);
}

/// Prints the failure, then rescue shell, reboot or power-off as configured.
/// Returns only when a rescue shell exited, so the caller retries the boot.
fn fail(err: &StepError) {
    log::failed(err.step, err);
    let (shell, secs) = policy();
    if shell && shell::is_executable("/bin/sh") {
        rescue_shell();
        info!(Step::Init, "rescue shell exited; retrying the boot");
        return;
    }
    reboot_after(secs)
}

fn rescue_shell() {
    warn!(
        Step::Init,
        "starting rescue shell /bin/sh; exit it to retry the boot"
    );
    shell::run_shell();
}

fn reboot_after(secs: u32) -> ! {
    if secs == 0 {
        log::failed(step::current(), &"powering off (netinit.reboot=0)");
        let _ = netinit_sys::power::power_off();
    } else {
        log::failed(
            step::current(),
            &format_args!("rebooting in {secs} s (set netinit.reboot=N to change)"),
        );
        std::thread::sleep(Duration::from_secs(u64::from(secs)));
        let _ = netinit_sys::power::restart();
    }
    // reboot(2) only fails without CAP_SYS_BOOT. PID 1 must not exit (the
    // kernel would panic without our reason), so say so and idle.
    log::failed(
        step::current(),
        &"reboot(2) failed; halting here, power-cycle the machine",
    );
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Condvar, Mutex};

    fn test_reboot(secs: u32) -> ! {
        println!("REBOOT {secs}");
        std::process::exit(3)
    }

    /// Set once the helper has been reported and stopped.
    static STOPPED: (Mutex<bool>, Condvar) = (Mutex::new(false), Condvar::new());

    fn test_stop() -> ! {
        *STOPPED.0.lock().unwrap() = true;
        STOPPED.1.notify_all();
        park_forever()
    }

    /// Runs in a child process (the hook is process-wide).
    #[test]
    fn a_panic_in_a_helper_thread_does_not_reboot_while_main_goes_on() {
        if std::env::var_os("NETINIT_TEST_PANIC_HOOK").is_some() {
            std::panic::set_hook(panic_hook(test_reboot, test_stop));
            let _ = std::thread::Builder::new()
                .name("helper".into())
                .spawn(|| panic!("helper broke"));
            // Until the hook has reported and stopped the helper, not a guessed delay.
            let (lock, stopped) = &STOPPED;
            drop(stopped.wait_while(lock.lock().unwrap(), |s| !*s).unwrap());
            println!("MAIN CARRIED ON");
            std::process::exit(0);
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "pid1::tests::a_panic_in_a_helper_thread_does_not_reboot_while_main_goes_on",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("NETINIT_TEST_PANIC_HOOK", "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stdout.contains("MAIN CARRIED ON"), "{stdout}{stderr}");
        assert!(!stdout.contains("REBOOT"), "{stdout}");
        assert!(stderr.contains("FAILED at "), "{stderr}");
        assert!(stderr.contains("helper broke"), "{stderr}");
    }
}
