//! The initramfs hooks: shellcheck, and the mkinitcpio hooks driven the way
//! mkinitcpio's documented hook API drives them (it is not packaged in
//! Debian). The initramfs-tools hook is tested for real with Debian's
//! mkinitramfs and booted in the lab (qemu-tests).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::{Path, PathBuf};
use std::process::Command;

fn hooks() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../initramfs-hooks")
}

fn sh(shell: &str, script: &str) -> (bool, String) {
    let out = Command::new(shell).arg("-c").arg(script).output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn shellcheck_every_hook() {
    let h = hooks();
    for (shell, file) in [
        ("sh", "initramfs-tools/hooks/netinit"),
        ("sh", "initramfs-tools/scripts/netinit"),
        ("sh", "initramfs-tools/scripts/init-premount/netinit"),
        ("bash", "mkinitcpio/install/netinit"),
        ("dash", "mkinitcpio/hooks/netinit"),
        ("bash", "dracut/95netinit/module-setup.sh"),
        ("sh", "dracut/95netinit/netinit-mount.sh"),
        ("sh", "dracut/95netinit/netinit-cmdline.sh"),
    ] {
        let out = Command::new("shellcheck")
            .args(["-s", shell])
            .arg(h.join(file))
            .output()
            .expect("shellcheck (apt-get install shellcheck)");
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// mkinitcpio sources the install hook in bash and calls build() with
/// add_binary/add_module/add_checked_modules/add_runscript defined.
#[test]
fn mkinitcpio_install_hook_build() {
    let script = format!(
        r#"
        calls=""
        add_binary() {{ calls="$calls|binary $*"; }}
        add_module() {{ calls="$calls|module $*"; }}
        add_checked_modules() {{ calls="$calls|checked $*"; }}
        add_runscript() {{ calls="$calls|runscript"; }}
        . '{}'
        build
        printf '%s\n' "$calls" | tr '|' '\n'
        help | head -n 1
        "#,
        hooks().join("mkinitcpio/install/netinit").display()
    );
    let (ok, out) = sh("bash", &script);
    assert!(ok, "{out}");
    let lines: Vec<&str> = out.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines,
        [
            "binary /usr/bin/netinit /usr/bin/netinit",
            "module nfs",
            "module nfsv3",
            "module nfsv4",
            "module squashfs",
            "module overlay",
            "module loop",
            "module af_packet",
            "checked /drivers/net/ethernet/",
            "checked /drivers/net/virtio_net",
            "runscript",
            "Boots from a network root with netinit: DHCP on every NIC at once (or a",
        ]
    );
}

/// With the systemd hook in HOOKS the build stops with the reason: its
/// init would never run netinit's runtime hook.
#[test]
fn mkinitcpio_install_hook_refuses_the_systemd_hook() {
    let script = format!(
        r#"
        error() {{ echo "ERROR: $*"; }}
        add_binary() {{ echo "added"; }}
        _hooks=(base systemd autodetect netinit)
        . '{}'
        build
        echo "not reached"
        "#,
        hooks().join("mkinitcpio/install/netinit").display()
    );
    let (ok, out) = sh("bash", &script);
    assert!(!ok, "{out}");
    assert!(
        out.starts_with("ERROR: netinit: the 'systemd' hook's init runs no runtime hooks"),
        "{out}"
    );
    assert!(
        !out.contains("added") && !out.contains("not reached"),
        "{out}"
    );
}

/// mkinitcpio's init (busybox ash) sources the runtime hook, calls
/// run_hook, then "$mount_handler" "$new_root". A cmdline without a network
/// root (netinit explain --netroot exits 1) keeps mkinitcpio's own handler
/// and root.
#[test]
fn mkinitcpio_runtime_hook_mounts_through_netinit() {
    let t = tempfile::tempdir().unwrap();
    let bin = t.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fake = bin.join("netinit");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nif [ \"$1 $2\" = 'explain --netroot' ]; then [ \"$LOCAL\" != 1 ]; exit; fi\necho \"netinit $*\" >> '{}'\n[ \"$FAIL\" != 1 ]\n",
            t.path().join("calls").display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    for (fail, local) in [("0", "0"), ("1", "0"), ("0", "1")] {
        let script = format!(
            r#"
            PATH='{bin}':$PATH FAIL={fail} LOCAL={local}
            export FAIL LOCAL
            root=/dev/nfs
            mount_handler=default_mount_handler
            default_mount_handler() {{ echo "DEFAULT $1 root=$root"; }}
            err() {{ echo "ERROR: $*"; }}
            launch_interactive_shell() {{ echo "SHELL"; }}
            . '{hook}'
            run_hook
            "$mount_handler" /new_root
            "#,
            bin = bin.display(),
            hook = hooks().join("mkinitcpio/hooks/netinit").display()
        );
        // mkinitcpio's init is busybox ash.
        let o = Command::new("busybox")
            .args(["sh", "-c", &script])
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{out}");
        if local == "1" {
            assert_eq!(out, "DEFAULT /new_root root=/dev/nfs\n");
        } else if fail == "1" {
            assert!(
                out.contains("ERROR: netinit could not mount the root on /new_root")
                    && out.contains("SHELL"),
                "{out}"
            );
        } else {
            assert!(out.is_empty(), "{out}");
        }
    }
    let calls = std::fs::read_to_string(t.path().join("calls")).unwrap();
    assert_eq!(
        calls,
        "netinit mount-root /new_root\nnetinit mount-root /new_root\n"
    );
}
