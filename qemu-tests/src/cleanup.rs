//! Teardown by PID, on every exit path: normal return, error, panic
//! (Drop) and Ctrl-C (signal handler). Only processes this run started
//! and namespaces it created are touched.

use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
struct Registry {
    pids: Vec<(u32, String)>,
    netns: Vec<String>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    pids: Vec::new(),
    netns: Vec::new(),
});

pub fn track_pid(pid: u32, what: &str) {
    if let Ok(mut r) = REGISTRY.lock() {
        r.pids.push((pid, what.to_owned()));
    }
}

pub fn forget_pid(pid: u32) {
    if let Ok(mut r) = REGISTRY.lock() {
        r.pids.retain(|(p, _)| *p != pid);
    }
}

pub fn track_netns(name: &str) {
    if let Ok(mut r) = REGISTRY.lock() {
        r.netns.push(name.to_owned());
    }
}

fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}

/// Stops one process: SIGTERM, then SIGKILL after 3 s.
pub fn stop(pid: u32) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(3);
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if alive(pid) {
        let _ = Command::new("kill")
            .arg("-KILL")
            .arg(pid.to_string())
            .status();
    }
    forget_pid(pid);
}

/// Stops everything still registered, newest first, then deletes the
/// namespaces. Idempotent.
pub fn all() {
    let (pids, netns) = match REGISTRY.lock() {
        Ok(mut r) => (std::mem::take(&mut r.pids), std::mem::take(&mut r.netns)),
        Err(_) => return,
    };
    for (pid, _) in pids.iter().rev() {
        stop(*pid);
    }
    for ns in netns {
        // Usually gone already (the lab deletes it); quiet if so.
        let _ = Command::new("ip")
            .args(["netns", "del", &ns])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// Ctrl-C and SIGTERM tear the lab down before exiting.
pub fn install_signal_handler() {
    let _ = ctrlc::set_handler(|| {
        eprintln!("netinit-lab: interrupted; tearing the lab down");
        all();
        std::process::exit(130);
    });
}

/// Runs [`all`] when dropped (panics, early returns).
#[derive(Debug)]
pub struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        all();
    }
}
