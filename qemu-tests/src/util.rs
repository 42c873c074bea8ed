//! Small process and path helpers.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `$NETINIT_LAB_CACHE`, else `~/.cache/netinit-lab` (shared by worktrees).
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("NETINIT_LAB_CACHE") {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    home.join(".cache/netinit-lab")
}

/// Runs a command to completion; `Err` carries its stderr.
pub fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `program` with `input` on stdin. Deliberately apart from
/// netinit-mkinitrd's `compress::pipe` (a binary crate the lab cannot link):
/// output with a failed exit counts here, for `xz --single-stream`.
pub fn pipe(program: &str, args: &[&str], input: &[u8]) -> Result<Vec<u8>, String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{program}: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let data = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{program}: {e}"))?;
    let _ = writer.join();
    // xz --single-stream exits 0 even with trailing data; others must succeed.
    if !out.status.success() && out.stdout.is_empty() {
        return Err(format!(
            "{program}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out.stdout)
}

/// `sh -c script` in a private mount namespace: mounts it makes (tmpfs
/// over /lib/modules, /proc in a chroot, …) vanish with it and never
/// touch the host. Extra args become `$0`, `$1`, … of the script.
pub fn private_mount_ns_sh(script: &str) -> Command {
    let mut c = Command::new("unshare");
    c.args(["-m", "--propagation", "private", "--", "sh", "-c", script]);
    c
}

/// The workspace root (qemu-tests/..).
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds `package` as a static musl binary, the kind an initrd carries.
pub fn build_static(package: &str) -> Result<String, String> {
    run(Command::new("cargo")
        .args([
            "build",
            "--release",
            "--locked",
            "-p",
            package,
            "--target",
            "x86_64-unknown-linux-musl",
        ])
        .current_dir(workspace()))
}

/// Keeps a run's work directory when asked to or when something failed,
/// saying where its `logs` are; removes it otherwise.
pub fn keep_or_remove(keep: bool, work: &Path, logs: &Path) {
    if keep {
        println!("\nlogs: {}", logs.display());
    } else {
        let _ = std::fs::remove_dir_all(work);
    }
}
