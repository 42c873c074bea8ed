//! Support for host-kernel tests: shared by this crate's tests (included
//! by path) and netinit's (the `test-support` feature); never in /init.
#![allow(clippy::unwrap_used, clippy::panic)] // test code

/// Runs `body` in a private mount namespace: re-execs the running test
/// binary under `unshare -m`, running only `test` (its full name), so
/// nothing mounted in `body` is seen by the host.
pub fn in_private_mount_ns(test: &str, body: impl FnOnce()) {
    if std::env::var_os("NETINIT_TEST_MOUNTNS").is_some() {
        body();
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private"])
        .arg(exe)
        .args([
            test,
            "--exact",
            "--include-ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("NETINIT_TEST_MOUNTNS", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && text.contains("1 passed"), "{text}");
}
