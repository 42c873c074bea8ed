//! `netinit check-kernel` against the Debian kernel's real config and
//! crafted broken ones.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn debian_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/data/config-debian-6.1.0-56-amd64")
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netinit"))
        .arg("check-kernel")
        .args(args)
        .output()
        .unwrap()
}

fn tmp(name: &str, contents: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netinit-ck-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap();
    p
}

#[test]
fn debian_kernel_passes() {
    let out = run(&[debian_config().to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("ok       CONFIG_NFS_FS"), "{text}");
    assert!(text.contains("CONFIG_NFS_FS                m"), "{text}");
    assert!(text.contains("CONFIG_PACKET                y"), "{text}");
    assert!(
        text.ends_with("result: ok, netinit can boot with this kernel\n"),
        "{text}"
    );
}

#[test]
fn gzip_config_is_read() {
    let plain = std::fs::read(debian_config()).unwrap();
    let gz = Command::new("gzip")
        .arg("-c")
        .arg(debian_config())
        .output()
        .unwrap();
    assert!(gz.status.success());
    assert!(gz.stdout.len() < plain.len());
    let p = tmp("config.gz", &gz.stdout);
    let out = run(&["--json", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["ok"], true);
    let nfs = doc["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["option"] == "CONFIG_NFS_FS")
        .unwrap();
    assert_eq!(nfs["state"], "m");
}

#[test]
fn missing_overlay_and_packet_module_fail() {
    let text = std::fs::read_to_string(debian_config())
        .unwrap()
        .replace("CONFIG_OVERLAY_FS=m", "# CONFIG_OVERLAY_FS is not set")
        .replace("CONFIG_PACKET=y", "CONFIG_PACKET=m");
    let p = tmp("broken", text.as_bytes());
    let out = run(&[p.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("MISSING  CONFIG_OVERLAY_FS            missing  the writable live root"),
        "{stdout}"
    );
    assert!(
        stdout.contains("MISSING  CONFIG_PACKET                m        DHCP"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "result: netinit cannot boot with this kernel: CONFIG_PACKET, CONFIG_OVERLAY_FS"
        ),
        "{stdout}"
    );
}

#[test]
fn compressed_modules_without_decompress_fail() {
    let text = std::fs::read_to_string(debian_config())
        .unwrap()
        .replace(
            "CONFIG_MODULE_COMPRESS_NONE=y",
            "# CONFIG_MODULE_COMPRESS_NONE is not set",
        )
        .replace(
            "# CONFIG_MODULE_COMPRESS_ZSTD is not set",
            "CONFIG_MODULE_COMPRESS_ZSTD=y",
        );
    let p = tmp("zstd-modules", text.as_bytes());
    let out = run(&[p.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("MODULE_DECOMPRESS is not set"), "{stdout}");
}

#[test]
fn unreadable_or_foreign_input_is_usage_error() {
    let out = run(&["/nonexistent/config"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("netinit: check-kernel: read /nonexistent/config:"),
        "{err}"
    );

    let p = tmp("notes.txt", b"CONFIG_A=y\nthis is not a config\n");
    let out = run(&[p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2: expected CONFIG_NAME=value"), "{err}");

    let out = run(&["--bogus"]);
    assert_eq!(out.status.code(), Some(2));
}
