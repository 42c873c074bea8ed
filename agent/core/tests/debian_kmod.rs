//! The module index against the real Debian kernel's files (fetched by the
//! lab: `netinit-lab setup`, or scripts/test.sh). Asserts the dependency
//! chains the lab notes measured.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::PathBuf;

use netinit_core::kmod::ModuleIndex;

/// `$NETINIT_KERNEL_TREE` or the lab's cache; the only kernel version there.
fn modules_dir() -> PathBuf {
    let tree = std::env::var_os("NETINIT_KERNEL_TREE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").expect("HOME");
            let base = PathBuf::from(home).join(".cache/netinit-lab/kernel");
            let first = std::fs::read_dir(&base)
                .unwrap_or_else(|e| {
                    panic!(
                        "{}: {e} (run `cargo run -p netinit-lab -- setup` first)",
                        base.display()
                    )
                })
                .next()
                .expect("no kernel in the lab cache")
                .unwrap();
            first.path()
        });
    let lib = tree.join("lib/modules");
    let kver = std::fs::read_dir(&lib)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name();
    lib.join(kver)
}

fn index() -> ModuleIndex {
    let dir = modules_dir();
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    ModuleIndex::parse(
        &read("modules.dep"),
        &read("modules.alias"),
        &read("modules.softdep"),
        &read("modules.builtin"),
    )
    .unwrap()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
#[ignore = "needs the Debian kernel in the lab cache: run by scripts/test.sh"]
fn debian_chains() {
    let idx = index();
    assert!(idx.modules.len() > 3000, "{}", idx.modules.len());
    for (want, chain) in [
        (
            "nfsv3",
            &[
                "netfs", "fscache", "sunrpc", "grace", "lockd", "nfs", "nfs_acl", "nfsv3",
            ][..],
        ),
        (
            "virtio_net",
            &[
                "virtio_ring",
                "virtio",
                "failover",
                "net_failover",
                "virtio_net",
            ][..],
        ),
        (
            "virtio_pci",
            &[
                "virtio_ring",
                "virtio",
                "virtio_pci_modern_dev",
                "virtio_pci_legacy_dev",
                "virtio_pci",
            ][..],
        ),
        ("e1000", &["e1000"][..]),
        ("e1000e", &["e1000e"][..]),
        ("squashfs", &["squashfs"][..]),
        ("overlay", &["overlay"][..]),
        ("loop", &["loop"][..]),
    ] {
        let (order, errors) = idx.load_order(&s(&[want]));
        assert!(errors.is_empty(), "{want}: {errors:?}");
        // Order among independent deps is ours to pick; the set and the
        // "deps before dependents" rule are what matter.
        let mut got = order.clone();
        got.sort();
        let mut exp = s(chain);
        exp.sort();
        assert_eq!(got, exp, "{want}: {order:?}");
        assert_eq!(order.last().map(String::as_str), Some(want));
    }
    // PACKET is built in on this kernel: it resolves to nothing to load.
    // A name in neither modules.dep nor modules.builtin is an error.
    assert!(idx.is_builtin("af_packet"));
    assert!(idx.resolve("af_packet").unwrap().is_empty());
    assert!(!idx.is_builtin("no_such_module"));
    assert!(idx.resolve("no_such_module").is_err());
}

#[test]
#[ignore = "needs the Debian kernel in the lab cache: run by scripts/test.sh"]
fn qemu_nics_resolve_by_modalias() {
    let idx = index();
    // modaliases as QEMU's models present them in /sys/bus/pci/devices/*/modalias.
    for (modalias, want) in [
        (
            "pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00",
            &["e1000"][..],
        ),
        (
            "pci:v00008086d000010D3sv00001AF4sd00001100bc02sc00i00",
            &["e1000e"][..],
        ),
        (
            "pci:v000010ECd00008139sv00001AF4sd00001100bc02sc00i00",
            &["8139too", "8139cp"][..],
        ),
        (
            "pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00",
            &["virtio_pci"][..],
        ),
        ("virtio:d00000001v00001AF4", &["virtio_net"][..]),
    ] {
        let mut got = idx.modules_for_alias(modalias);
        got.sort();
        let mut exp = s(want);
        exp.sort();
        assert_eq!(got, exp, "{modalias}");
    }
}
