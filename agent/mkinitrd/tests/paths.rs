//! netinit-mkinitrd on a hostile --moddir: paths in modules.dep and
//! firmware names that point outside it, and symlinks inside it. A
//! synthetic tree, so these run everywhere (no lab cache).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::PathBuf;
use std::process::{Command, Output};

const KVER: &str = "6.1.0-test";

/// A minimal ELF64 LE with one `.modinfo` section holding `modinfo`.
fn module(modinfo: &[u8]) -> Vec<u8> {
    let shstrtab = b"\0.modinfo\0.shstrtab\0";
    let mut d = vec![0u8; 64];
    d[..6].copy_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1]);
    let info_at = d.len();
    d.extend_from_slice(modinfo);
    let str_at = d.len();
    d.extend_from_slice(shstrtab);
    let shoff = d.len();
    let mut sh = |name: u32, off: usize, size: usize| {
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(&name.to_le_bytes());
        h[0x18..0x20].copy_from_slice(&(off as u64).to_le_bytes());
        h[0x20..0x28].copy_from_slice(&(size as u64).to_le_bytes());
        d.extend_from_slice(&h);
    };
    sh(0, 0, 0);
    sh(1, info_at, modinfo.len());
    sh(10, str_at, shstrtab.len());
    d[0x28..0x30].copy_from_slice(&(shoff as u64).to_le_bytes());
    d[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
    d[0x3c..0x3e].copy_from_slice(&3u16.to_le_bytes());
    d[0x3e..0x40].copy_from_slice(&2u16.to_le_bytes());
    d
}

struct Tree {
    _t: tempfile::TempDir,
    root: PathBuf,
    out: PathBuf,
    agent: PathBuf,
}

impl Tree {
    fn new(dep: &str) -> Tree {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        let md = root.join("lib/modules").join(KVER);
        std::fs::create_dir_all(md.join("kernel")).unwrap();
        std::fs::create_dir_all(root.join("lib/firmware")).unwrap();
        std::fs::write(md.join("modules.dep"), dep).unwrap();
        let agent = t.path().join("agent");
        std::fs::copy("/bin/busybox", &agent).expect("busybox-static as a stand-in agent");
        Tree {
            out: t.path().join("initrd.img"),
            root,
            agent,
            _t: t,
        }
    }

    fn moddir(&self) -> PathBuf {
        self.root.join("lib/modules").join(KVER)
    }

    fn run(&self, module: &str) -> Output {
        Command::new(env!("CARGO_BIN_EXE_netinit-mkinitrd"))
            .args(["--moddir", self.root.to_str().unwrap(), "--kver", KVER])
            .args(["--modules", module, "--compress", "none"])
            .args(["--agent", self.agent.to_str().unwrap()])
            .args(["-o", self.out.to_str().unwrap()])
            .output()
            .unwrap()
    }

    /// (name, contents) of every file in the written archive.
    fn files(&self) -> Vec<(String, Vec<u8>)> {
        let data = std::fs::read(&self.out).unwrap();
        let (entries, _) = netinit_core::cpio::read_segment(&data).unwrap();
        entries
            .into_iter()
            .filter_map(|e| match e.kind {
                netinit_core::cpio::Kind::File(d) => Some((e.path, d)),
                _ => None,
            })
            .collect()
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn absolute_and_dotdot_module_paths_are_refused() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.ko");
    std::fs::write(&secret, module(b"license=GPL\0")).unwrap();
    for (dep, want) in [
        (format!("{}:\n", secret.display()), "absolute"),
        (
            format!("kernel/../../../../..{}:\n", secret.display()),
            "'..'",
        ),
    ] {
        let t = Tree::new(&dep);
        let r = t.run("secret");
        assert!(!r.status.success(), "{dep}: packed a file outside --moddir");
        assert!(stderr(&r).contains(want), "{dep}: {}", stderr(&r));
        assert!(stderr(&r).contains("modules.dep"), "{}", stderr(&r));
    }
}

#[test]
fn firmware_names_outside_lib_firmware_are_refused() {
    let t = Tree::new("kernel/nic.ko:\n");
    std::fs::write(
        t.moddir().join("kernel/nic.ko"),
        module(b"firmware=../modules/6.1.0-test/modules.dep\0firmware=nic/ok.bin\0"),
    )
    .unwrap();
    std::fs::create_dir_all(t.root.join("lib/firmware/nic")).unwrap();
    std::fs::write(t.root.join("lib/firmware/nic/ok.bin"), b"fw").unwrap();
    let r = t.run("nic");
    assert!(r.status.success(), "{}", stderr(&r));
    assert!(stderr(&r).contains("firmware name"), "{}", stderr(&r));
    let names: Vec<String> = t.files().into_iter().map(|(n, _)| n).collect();
    assert!(
        names.contains(&"lib/firmware/nic/ok.bin".to_owned()),
        "{names:?}"
    );
    assert!(names.iter().all(|n| !n.contains("..")), "{names:?}");
}

#[test]
fn symlinks_inside_moddir_resolve_inside_it() {
    let t = Tree::new("kernel/nic.ko:\n");
    // An absolute symlink, as a chroot or an image tree has them: it
    // means <moddir>/store/nic.ko, not the build host's /store/nic.ko.
    std::fs::create_dir_all(t.root.join("store")).unwrap();
    let inside = module(b"firmware=nicfw/fw.bin\0");
    std::fs::write(t.root.join("store/nic.ko"), &inside).unwrap();
    std::fs::write(t.root.join("store/fw.bin"), b"firmware").unwrap();
    std::os::unix::fs::symlink("/store/nic.ko", t.moddir().join("kernel/nic.ko")).unwrap();
    // A relative one that climbs past the root stops at the root.
    std::os::unix::fs::symlink(
        "../../../../../../../../../../store",
        t.root.join("lib/firmware/nicfw"),
    )
    .unwrap();
    let r = t.run("nic");
    assert!(r.status.success(), "{}", stderr(&r));
    let files = t.files();
    let get = |n: &str| files.iter().find(|(p, _)| p == n).map(|(_, d)| d.clone());
    assert_eq!(
        get(&format!("lib/modules/{KVER}/kernel/nic.ko")),
        Some(inside)
    );
    assert_eq!(get("lib/firmware/nicfw/fw.bin"), Some(b"firmware".to_vec()));
}
