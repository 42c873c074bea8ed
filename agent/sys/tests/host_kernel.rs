//! netinit-sys's mount and switch_root calls on the host kernel, each in
//! a private mount namespace. They need root (and busybox-static for the
//! switch): scripts/test.sh runs them with `--include-ignored`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::Path;
use std::time::Duration;

use netinit_sys::mount::{Mount, MountFlags};

#[path = "../src/testing.rs"]
mod testing;
use testing::{in_private_mount_ns, run_one_test};

#[test]
#[ignore = "needs root: run by scripts/test.sh"]
fn host_kernel_bounded_mount_lands_on_the_target_via_a_private_dir() {
    in_private_mount_ns(
        "host_kernel_bounded_mount_lands_on_the_target_via_a_private_dir",
        || {
            let t = tempfile::tempdir().unwrap();
            let target = t.path().join("nfs");
            std::fs::create_dir_all(&target).unwrap();
            netinit_sys::Linux
                .mount_bounded(
                    "tmpfs",
                    &target,
                    "tmpfs",
                    MountFlags::empty(),
                    "size=1m",
                    Duration::from_secs(5),
                )
                .unwrap();
            let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
            let here: Vec<&str> = mounts
                .lines()
                .filter(|l| l.contains(t.path().to_str().unwrap()))
                .collect();
            assert_eq!(here.len(), 1, "{here:?}");
            assert!(here[0].contains(&format!(" {} tmpfs ", target.display())));
            // The attempt's private directory is gone.
            let left: Vec<_> = std::fs::read_dir(t.path()).unwrap().flatten().collect();
            assert_eq!(left.len(), 1, "{left:?}");
            // A failing attempt leaves nothing behind either.
            let e = netinit_sys::Linux
                .mount_bounded(
                    "none",
                    &target,
                    "no-such-fs",
                    MountFlags::empty(),
                    "",
                    Duration::from_secs(5),
                )
                .unwrap_err();
            assert_eq!(e.errno, netinit_core::errno::ENODEV);
            assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
        },
    );
}

#[test]
#[ignore = "needs root: run by scripts/test.sh"]
fn host_kernel_free_initramfs_stays_on_its_filesystem() {
    in_private_mount_ns("host_kernel_free_initramfs_stays_on_its_filesystem", || {
        use std::os::unix::fs::MetadataExt;
        let mut sys = netinit_sys::Linux;
        let t = tempfile::tempdir().unwrap();
        let fake = t.path().join("initramfs");
        std::fs::create_dir_all(&fake).unwrap();
        sys.mount("tmpfs", &fake, "tmpfs", MountFlags::empty(), "")
            .unwrap();
        for f in ["init", "lib/modules/x.ko", "etc/a/b/c"] {
            let p = fake.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "data").unwrap();
        }
        // A different filesystem inside (like /newroot or /dev) must survive.
        let other = fake.join("newroot");
        let mnt = fake.join("mnt");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::create_dir_all(&mnt).unwrap();
        sys.mount("tmpfs", &mnt, "tmpfs", MountFlags::empty(), "")
            .unwrap();
        std::fs::write(mnt.join("keep-me"), "x").unwrap();
        std::fs::write(other.join("keep-me-too"), "x").unwrap();
        let dev = std::fs::metadata(&fake).unwrap().dev();
        let freed = netinit_sys::switch::free_initramfs(&fake, dev, &other);
        assert_eq!(freed, 12);
        let mut left: Vec<String> = std::fs::read_dir(&fake)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["mnt", "newroot"]);
        assert!(mnt.join("keep-me").exists() && other.join("keep-me-too").exists());
    });
}

const SWITCH_TEST: &str = "host_kernel_switch_root_into_a_tmpfs";

/// The real switch_root, as far as it goes without being PID 1: a
/// tmpfs "initramfs" we chroot into, with /proc, /sys, /dev, /run and
/// a tmpfs new root holding a busybox init. The switch must move the
/// API mounts, free the initramfs but nothing mounted in it, and exec
/// init with its arguments inside the new root.
#[test]
#[ignore = "needs root, busybox-static: run by scripts/test.sh"]
fn host_kernel_switch_root_into_a_tmpfs() {
    if std::env::var_os("NETINIT_TEST_STAGE").is_some() {
        switch_inside_the_fake_initramfs();
        return;
    }
    in_private_mount_ns(SWITCH_TEST, || {
        use std::os::unix::fs::{PermissionsExt, symlink};
        let mut sys = netinit_sys::Linux;
        let t = tempfile::tempdir().unwrap();
        let (fake, peek) = (t.path().join("initramfs"), t.path().join("peek"));
        for d in [&fake, &peek] {
            std::fs::create_dir_all(d).unwrap();
        }
        sys.mount("tmpfs", &fake, "tmpfs", MountFlags::empty(), "mode=0755")
            .unwrap();
        // A second view of the initramfs, to see what is left once the new root hides it.
        sys.mount(&fake.to_string_lossy(), &peek, "", MountFlags::BIND, "")
            .unwrap();
        // This test binary runs inside; the host's /usr (read-only) carries its libraries.
        let mut binds = Vec::new();
        for d in ["usr", "lib", "lib64", "bin"] {
            let host = Path::new("/").join(d);
            match std::fs::read_link(&host) {
                Ok(target) => symlink(target, fake.join(d)).unwrap(),
                Err(_) if host.is_dir() => {
                    std::fs::create_dir_all(fake.join(d)).unwrap();
                    sys.mount(
                        &host.to_string_lossy(),
                        &fake.join(d),
                        "",
                        MountFlags::BIND | MountFlags::REC,
                        "",
                    )
                    .unwrap();
                    rustix::mount::mount_remount(
                        fake.join(d),
                        MountFlags::BIND | MountFlags::RDONLY,
                        "",
                    )
                    .unwrap();
                    binds.push(d.to_owned());
                }
                Err(_) => {}
            }
        }
        let exe = fake.join("netinit-test");
        std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        for (f, content) in [
            ("init", "initramfs /init"),
            ("scripts/local/a", "x"),
            ("etc/modules", "y"),
        ] {
            let p = fake.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
        for d in ["proc", "sys", "dev", "run", "newroot"] {
            std::fs::create_dir_all(fake.join(d)).unwrap();
        }

        let mut chroot = std::process::Command::new("chroot");
        chroot.arg(&fake).arg("/netinit-test");
        let (ok, text) = run_one_test(chroot, SWITCH_TEST, ("NETINIT_TEST_STAGE", "chroot"));
        assert!(ok, "{text}");

        // `fake` now shows the new root, moved over the initramfs.
        let read = |f: &str| {
            std::fs::read_to_string(fake.join(f)).unwrap_or_else(|e| panic!("{f}: {e}\n{text}"))
        };
        assert_eq!(
            read("run/marker"),
            "/sbin/init one two\n",
            "init ran with its arguments"
        );
        let listing: Vec<String> = read("run/root-ls").lines().map(str::to_owned).collect();
        for want in ["bin", "sbin", "hello", "proc", "sys", "dev", "run"] {
            assert!(
                listing.contains(&want.to_owned()),
                "{want} missing in {listing:?}"
            );
        }
        assert!(!listing.contains(&"netinit-test".to_owned()), "{listing:?}");
        assert_eq!(
            read("run/proc-ok"),
            "yes\n",
            "/proc moved into the new root"
        );
        assert_eq!(read("run/sys-ok"), "yes\n", "/sys moved into the new root");
        // The initramfs is empty but for the mounts inside it.
        let mut left: Vec<String> = std::fs::read_dir(&peek)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let mut want = binds.clone();
        want.push("newroot".into());
        want.sort();
        assert_eq!(left, want, "{text}");
    });
}

/// Runs chrooted in the fake initramfs: sets up what PID 1 would have
/// and switches. Returns only on failure (the test then fails).
fn switch_inside_the_fake_initramfs() {
    use netinit_sys::switch;
    use std::os::unix::fs::PermissionsExt;
    // Never let this run outside the fake initramfs: it deletes `/`.
    assert!(Path::new("/netinit-test").exists() && switch::is_ram_fs(Path::new("/")).unwrap());
    let mut sys = netinit_sys::Linux;
    for (fs, at) in [
        ("proc", "/proc"),
        ("sysfs", "/sys"),
        ("tmpfs", "/dev"),
        ("tmpfs", "/run"),
        ("tmpfs", "/newroot"),
    ] {
        sys.mount(fs, Path::new(at), fs, MountFlags::empty(), "")
            .unwrap();
    }
    let new = Path::new("/newroot");
    for d in ["bin", "sbin"] {
        std::fs::create_dir_all(new.join(d)).unwrap();
    }
    std::fs::copy("/usr/bin/busybox", new.join("bin/busybox")).unwrap();
    std::fs::write(new.join("hello"), "").unwrap();
    std::fs::write(
        new.join("sbin/init"),
        "#!/bin/busybox sh\n\
         echo \"$0 $*\" > /run/marker\n\
         /bin/busybox ls -a / > /run/root-ls\n\
         /bin/busybox test -e /proc/self/mounts && echo yes > /run/proc-ok\n\
         /bin/busybox test -d /sys/kernel && echo yes > /run/sys-ok\n",
    )
    .unwrap();
    std::fs::set_permissions(
        new.join("sbin/init"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    switch::check_newroot(new).unwrap();
    switch::check_init(new, "/sbin/init").unwrap();
    switch::move_api_mounts(new).unwrap();
    let err = switch::switch_root(new, "/sbin/init", &["one".into(), "two".into()], true);
    panic!("switch_root returned: {err:?}");
}
