//! netinit-mkinitrd against the real Debian kernel tree (lab cache) and
//! GNU cpio. Run by scripts/test.sh after the lab's setup fetched the kernel.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn kernel_tree() -> PathBuf {
    if let Some(t) = std::env::var_os("NETINIT_KERNEL_TREE") {
        return PathBuf::from(t);
    }
    let base = PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/netinit-lab/kernel");
    std::fs::read_dir(&base)
        .unwrap_or_else(|e| panic!("{}: {e} (run netinit-lab setup)", base.display()))
        .next()
        .unwrap()
        .unwrap()
        .path()
}

/// Any static binary works as the agent for packing purposes; use the real one if built.
fn agent(dir: &Path) -> PathBuf {
    let ws = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/x86_64-unknown-linux-musl/release/netinit");
    if ws.is_file() {
        return ws;
    }
    let p = dir.join("static-agent");
    std::fs::copy("/bin/busybox", &p).expect("busybox-static as a stand-in agent");
    p
}

fn mkinitrd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netinit-mkinitrd"))
        .args(args)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap()
}

fn gnu_list(cpio: &[u8]) -> Vec<String> {
    let mut child = Command::new("cpio")
        .args(["-it", "--quiet"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), cpio).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
#[ignore = "needs the Debian kernel in the lab cache: run by scripts/test.sh"]
fn debian_nic_and_nfs_module_closure_listed_by_gnu_cpio() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("initrd.img");
    let a = agent(t.path());
    let k = kernel_tree();
    let r = mkinitrd(&[
        "--moddir",
        k.to_str().unwrap(),
        "--modules",
        "nfsv3:e1000e:8139too:atl1c:alx",
        "--modules",
        "virtio-net",
        "--compress",
        "none",
        "--agent",
        a.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(r.status.success(), "{err}");
    assert!(err.contains("19 modules"), "{err}");
    assert!(
        err.contains("note: no squashfs overlay loop in the initrd"),
        "{err}"
    );
    let names = gnu_list(&std::fs::read(&out).unwrap());
    for want in ["init", "dev/console"] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
    for m in [
        "sunrpc",
        "lockd",
        "grace",
        "nfs",
        "nfs_acl",
        "netfs",
        "fscache",
        "nfsv3",
        "e1000e",
        "8139too",
        "mii",
        "atl1c",
        "alx",
        "mdio",
        "virtio_net",
        "virtio",
        "virtio_ring",
        "net_failover",
        "failover",
    ] {
        assert!(
            names.iter().any(|n| n.ends_with(&format!("/{m}.ko"))),
            "{m}.ko missing"
        );
    }
    for f in [
        "modules.dep",
        "modules.alias",
        "modules.softdep",
        "modules.builtin",
    ] {
        assert!(names.iter().any(|n| n.ends_with(f)), "{f}");
    }
    // Nothing else: no bin, no etc, no shell.
    assert!(
        names
            .iter()
            .all(|n| n == "init" || n.starts_with("dev") || n.starts_with("lib")),
        "{names:?}"
    );
}

#[test]
#[ignore = "needs the Debian kernel in the lab cache: run by scripts/test.sh"]
fn deterministic_compressed_appendable_and_listable() {
    let t = tempfile::tempdir().unwrap();
    let a = agent(t.path());
    let k = kernel_tree();
    let build = |name: &str, compress: &str, extra: &[&str]| {
        let out = t.path().join(name);
        let mut args = vec![
            "--moddir",
            k.to_str().unwrap(),
            "--agent",
            a.to_str().unwrap(),
            "--compress",
            compress,
            "-o",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let r = mkinitrd(&args);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        (
            std::fs::read(&out).unwrap(),
            String::from_utf8_lossy(&r.stderr).into_owned(),
        )
    };
    let (z1, summary) = build("a.zst", "zstd", &[]);
    let (z2, _) = build("b.zst", "zstd", &[]);
    assert_eq!(z1, z2, "same inputs, same bytes");
    assert!(summary.contains("zstd"), "{summary}");
    println!("REPORT default initrd: {summary}");
    // xz must use CRC32 checks: the kernel's decoder has no SHA-256/CRC64.
    let (_, _) = build("c.xz", "xz", &[]);
    let info = Command::new("xz")
        .args(["-lvv", t.path().join("c.xz").to_str().unwrap()])
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.contains("CRC32") && !info.contains("CRC64") && !info.contains("SHA-256"),
        "{info}"
    );
    // Append to a "distro" initrd: an uncompressed cpio + our compressed segment.
    let base = t.path().join("distro.img");
    std::fs::write(&base, {
        let mut a = netinit_core::cpio::Archive::new();
        a.file("init", 0o755, b"#!/bin/sh\n".to_vec()).unwrap();
        a.file("etc/distro-only", 0o644, b"x".to_vec()).unwrap();
        a.write(0)
    })
    .unwrap();
    let (appended, _) = build(
        "appended.img",
        "gzip",
        &["--append-to", base.to_str().unwrap()],
    );
    assert!(appended.starts_with(&std::fs::read(&base).unwrap()));
    let list = Command::new(env!("CARGO_BIN_EXE_netinit-mkinitrd"))
        .args(["--list", t.path().join("appended.img").to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("0 -rw-r--r--") && l.ends_with("/etc/distro-only")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("1 -rwxr-xr-x") && l.ends_with(" /init")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("1 crw-------") && l.contains("/dev/console (char 5:1)")),
        "{text}"
    );
}

#[test]
#[ignore = "needs the Debian kernel in the lab cache: run by scripts/test.sh"]
fn shell_goes_in_as_bin_sh_and_must_be_static() {
    let t = tempfile::tempdir().unwrap();
    let a = agent(t.path());
    let k = kernel_tree();
    let out = t.path().join("initrd.img");
    let build = |shell: &str| {
        mkinitrd(&[
            "--moddir",
            k.to_str().unwrap(),
            "--agent",
            a.to_str().unwrap(),
            "--modules",
            "virtio_net",
            "--compress",
            "none",
            "--shell",
            shell,
            "-o",
            out.to_str().unwrap(),
        ])
    };
    let r = build("/bin/busybox");
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(r.status.success(), "{err}");
    assert!(err.contains(", /bin/sh "), "{err}");
    let names = gnu_list(&std::fs::read(&out).unwrap());
    assert!(names.iter().any(|n| n == "bin/sh"), "{names:?}");
    assert_eq!(
        std::fs::metadata("/bin/busybox").unwrap().len(),
        netinit_core::cpio::read_segment(&std::fs::read(&out).unwrap())
            .unwrap()
            .0
            .iter()
            .find(|e| e.path == "bin/sh")
            .unwrap()
            .size() as u64
    );
    // A dynamically linked shell would not run in the initrd.
    let r = build("/bin/bash");
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1));
    assert!(
        err.starts_with(
            "netinit-mkinitrd: /bin/bash is dynamically linked; the initrd has no libraries"
        ),
        "{err}"
    );
}

#[test]
#[ignore = "needs the Debian kernel in the lab cache: run by scripts/test.sh"]
fn unknown_module_suggests_close_names() {
    let t = tempfile::tempdir().unwrap();
    let a = agent(t.path());
    let k = kernel_tree();
    let r = mkinitrd(&[
        "--moddir",
        k.to_str().unwrap(),
        "--agent",
        a.to_str().unwrap(),
        "--modules",
        "e1000x",
        "-o",
        t.path().join("x").to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(1));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.starts_with("netinit-mkinitrd: unknown module 'e1000x' for kernel 6.1.0-"),
        "{err}"
    );
    assert!(
        err.contains("; did you mean ") && err.contains(" e1000,"),
        "{err}"
    );
}

#[test]
fn gnu_cpio_archive_reads_back_with_our_reader() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("src");
    std::fs::create_dir_all(src.join("a/b")).unwrap();
    std::fs::write(src.join("a/b/file"), "hello").unwrap();
    std::os::unix::fs::symlink("b/file", src.join("a/link")).unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg("find . | sort | cpio -o -H newc --quiet")
        .current_dir(&src)
        .output()
        .unwrap();
    assert!(out.status.success());
    let (entries, used) = netinit_core::cpio::read_segment(&out.stdout).unwrap();
    assert_eq!(used, out.stdout.len());
    let by: std::collections::BTreeMap<String, netinit_core::cpio::Kind> =
        entries.into_iter().map(|e| (e.path, e.kind)).collect();
    assert_eq!(
        by["a/b/file"],
        netinit_core::cpio::Kind::File(b"hello".to_vec())
    );
    assert_eq!(
        by["a/link"],
        netinit_core::cpio::Kind::Symlink("b/file".into())
    );
    assert_eq!(by["a"], netinit_core::cpio::Kind::Dir);
}

#[test]
fn our_archive_extracts_with_gnu_cpio() {
    let t = tempfile::tempdir().unwrap();
    let mut a = netinit_core::cpio::Archive::new();
    a.file("x/y/z", 0o640, b"data".to_vec()).unwrap();
    a.add(
        "x/l",
        0o777,
        netinit_core::cpio::Kind::Symlink("y/z".into()),
    )
    .unwrap();
    let mut child = Command::new("cpio")
        .args(["-idm", "--quiet"])
        .current_dir(t.path())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &a.write(1_700_000_000)).unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(
        std::fs::read_to_string(t.path().join("x/l")).unwrap(),
        "data"
    );
    let meta = std::fs::metadata(t.path().join("x/y/z")).unwrap();
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    assert_eq!(meta.permissions().mode() & 0o777, 0o640);
    assert_eq!(meta.mtime(), 1_700_000_000);
}
