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
    let mut unshare = std::process::Command::new("unshare");
    unshare
        .args(["-m", "--propagation", "private"])
        .arg(std::env::current_exe().unwrap());
    let (ok, text) = run_one_test(unshare, test, ("NETINIT_TEST_MOUNTNS", "1"));
    assert!(ok && text.contains("1 passed"), "{text}");
}

/// Runs the one test `test` of a test binary that `cmd` starts (under
/// unshare, in a chroot, …), ignored ones included, on one thread, with
/// `env` set: whether it passed, and all it printed.
pub fn run_one_test(
    mut cmd: std::process::Command,
    test: &str,
    env: (&str, &str),
) -> (bool, String) {
    let out = cmd
        .args([
            test,
            "--exact",
            "--include-ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(env.0, env.1)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
