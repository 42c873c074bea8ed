//! NBD root: connect and hand the socket to the kernel, find the
//! filesystem, mount it; a read-only filesystem (squashfs, erofs) or
//! `netinit.overlay=1` gets a tmpfs overlay, like a live image.
//!
//! The device is mounted under /run/netinit/nbd when it goes under an
//! overlay, so it stays reachable after switch_root.

use std::net::SocketAddrV4;
use std::path::{Path, PathBuf};
use std::time::Duration;

use netinit_core::nbd::{NbdSpec, SNIFF_BYTES, read_only_fs, sniff_fstype, split_options};
use netinit_core::plan::{BootPlan, NfsVersion, ResolvedRoot, ServerSource};
use netinit_core::size::human_bytes;
use netinit_sys::Clock;
use netinit_sys::mount::{Files, Mount, MountFlags};
use netinit_sys::nbd::{Connected, Nbd};

use super::assemble::{Assembled, mount_overlay};
use super::backoff::Backoff;
use crate::log::timed;
use crate::net::modules::Modules;
use crate::step::{Step, StepError};
use crate::{info, warn};

pub const NBD_DIR: &str = "/run/netinit/nbd";

/// The longest one connection attempt may block.
const ATTEMPT_CAP: Duration = Duration::from_secs(10);

pub fn assemble<S: Mount + Files + Nbd + Clock>(
    sys: &mut S,
    plan: &BootPlan,
    spec: &NbdSpec,
    newroot: &Path,
    modules: &mut dyn Modules,
) -> Result<Assembled, StepError> {
    let budget = Duration::from_secs(u64::from(plan.timeouts.nfs_secs));
    let (dev, fstype, under_overlay) = timed(Step::Nbd, || {
        connect_and_mount(sys, plan, spec, newroot, budget, modules)
    })?;
    if under_overlay {
        timed(Step::Overlay, || {
            modules.ensure(Step::Overlay, &["overlay"]);
            mount_overlay(sys, &[PathBuf::from(NBD_DIR)], &plan.overlay, newroot)
        })?;
    }
    Ok(Assembled {
        newroot: newroot.to_path_buf(),
        root: ResolvedRoot {
            server: std::net::IpAddr::V4(spec.server),
            path: format!("nbd:{}:{}/{}", spec.server, spec.port, spec.export),
            options: spec.fs_options.clone(),
            version: NfsVersion::V3,
            server_from: ServerSource::Cmdline,
            options_from: vec!["cmdline"; spec.fs_options.len()],
            refused: Vec::new(),
            servers: Vec::new(),
        },
        images: vec![PathBuf::from(format!("{dev} ({fstype})"))],
    })
}

/// Connects the export to an NBD device and mounts its filesystem: at
/// `newroot`, or read-only under an overlay. The device, the filesystem,
/// and whether an overlay goes on top.
fn connect_and_mount<S: Mount + Files + Nbd + Clock>(
    sys: &mut S,
    plan: &BootPlan,
    spec: &NbdSpec,
    newroot: &Path,
    budget: Duration,
    modules: &mut dyn Modules,
) -> Result<(String, String, bool), StepError> {
    modules.ensure(Step::Nbd, &["nbd"]);
    let c = connect(sys, spec, budget)?;
    let dev = PathBuf::from(format!("/dev/nbd{}", c.index));
    info!(
        Step::Nbd,
        "{}:{} export '{}': {}{}, block size {}, on {}",
        spec.server,
        spec.port,
        spec.export,
        human_bytes(c.export.size),
        if c.export.read_only() {
            ", read-only"
        } else {
            ""
        },
        c.export.kernel_block_size(),
        dev.display()
    );
    let fstype = match &spec.fstype {
        Some(f) => f.clone(),
        None => sniff(sys, &dev)?,
    };
    let under_overlay = read_only_fs(&fstype) || plan.overlay.nfs_root;
    let read_only = under_overlay || spec.read_only || c.export.read_only();
    if !under_overlay && read_only {
        warn!(
            Step::Nbd,
            "the root is read-only ({}) and has no overlay: writes will fail (netinit.overlay=1 keeps them in RAM)",
            if spec.read_only {
                "ro in root=nbd:"
            } else {
                "the server exports it read-only"
            }
        );
    }
    modules.ensure(Step::Nbd, &[fs_module(&fstype)]);
    let target = if under_overlay {
        PathBuf::from(NBD_DIR)
    } else {
        newroot.to_path_buf()
    };
    let (names, data) = split_options(&spec.fs_options);
    let mut flags = names.iter().fold(MountFlags::empty(), |f, n| f | flag(n));
    if read_only {
        flags |= MountFlags::RDONLY;
    }
    let source = dev.display().to_string();
    sys.mkdir_p(&target)
        .and_then(|()| sys.mount(&source, &target, &fstype, flags, &data))
        .map_err(|e| {
            StepError::new(Step::Nbd, e).hint(
                "is the filesystem's module in the initrd, and is the export that filesystem?",
            )
        })?;
    info!(
        Step::Nbd,
        "mounted {source} ({fstype}{}) on {}",
        if read_only { ", read-only" } else { "" },
        target.display()
    );
    Ok((source, fstype, under_overlay))
}

fn flag(name: &str) -> MountFlags {
    match name {
        "noatime" => MountFlags::NOATIME,
        "nodiratime" => MountFlags::NODIRATIME,
        "relatime" => MountFlags::RELATIME,
        "strictatime" => MountFlags::STRICTATIME,
        "nosuid" => MountFlags::NOSUID,
        "nodev" => MountFlags::NODEV,
        "noexec" => MountFlags::NOEXEC,
        "sync" => MountFlags::SYNCHRONOUS,
        "dirsync" => MountFlags::DIRSYNC,
        _ => MountFlags::empty(),
    }
}

/// The module that provides `fstype` (ext2/ext3 mount with ext4).
fn fs_module(fstype: &str) -> &str {
    match fstype {
        "ext2" | "ext3" => "ext4",
        other => other,
    }
}

fn sniff<S: Nbd>(sys: &S, dev: &Path) -> Result<String, StepError> {
    let head = sys
        .read_head(dev, SNIFF_BYTES)
        .map_err(|e| StepError::new(Step::Nbd, e))?;
    sniff_fstype(&head).map(str::to_owned).ok_or_else(|| {
        StepError::new(
            Step::Nbd,
            format_args!(
                "no filesystem recognised on {} (squashfs, erofs, ext2/3/4 and xfs are)",
                dev.display()
            ),
        )
        .hint("name it: root=nbd:SERVER:PORT/EXPORT:FSTYPE")
    })
}

/// Connects, retrying a server that is not up yet with back-off until
/// `budget` is spent; a refused export or a missing driver fails at once.
fn connect<S: Nbd + Clock>(
    sys: &mut S,
    spec: &NbdSpec,
    budget: Duration,
) -> Result<Connected, StepError> {
    let addr = SocketAddrV4::new(spec.server, spec.port);
    let mut retry = Backoff::start(sys, budget, ATTEMPT_CAP);
    loop {
        let left = retry.bound(sys);
        match sys.nbd_connect(addr, &spec.export, left) {
            Ok(c) => return Ok(c),
            Err(e) if e.is_transient() && retry.has_time(sys) => {
                warn!(
                    Step::Nbd,
                    "attempt {}: {e}; retrying in {} ms",
                    retry.attempt,
                    retry.delay().as_millis()
                );
                retry.wait(sys);
            }
            Err(e) => {
                let hint = match &e {
                    netinit_sys::nbd::ConnectError::Sys(s) if s.call == "netlink" => {
                        "is the nbd module in the initrd? (netinit check-kernel; CONFIG_BLK_DEV_NBD)"
                    }
                    netinit_sys::nbd::ConnectError::Sys(_) => {
                        "is nbd-server or nbdkit running and reachable on that port?"
                    }
                    netinit_sys::nbd::ConnectError::Handshake { .. } => {
                        "check the export name in root=nbd:SERVER:PORT/EXPORT against the server's list"
                    }
                };
                let mut err = StepError::new(Step::Nbd, &e).hint(hint);
                err.reason.push_str(&retry.tally(sys));
                return Err(err);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::assemble::fake::FakeSys;
    use super::super::assemble::tests::run as run_all;

    fn run(cmdline: &str, sys: &mut FakeSys) -> Result<super::Assembled, crate::step::StepError> {
        let (r, loaded) = run_all(cmdline, sys);
        if r.is_ok() {
            assert_eq!(
                loaded.first().map(String::as_str),
                Some("nbd"),
                "{loaded:?}"
            );
        }
        r
    }

    #[test]
    fn squashfs_goes_under_an_overlay() {
        let mut sys = FakeSys {
            nbd_head: Some(b"hsqs".to_vec()),
            ..FakeSys::default()
        };
        let a = run("root=nbd:10.77.0.1:10809/root ip=dhcp", &mut sys).unwrap();
        assert_eq!(a.root.server.to_string(), "10.77.0.1");
        let mounts: Vec<&String> = sys
            .calls
            .iter()
            .filter(|c| c.starts_with("mount "))
            .collect();
        assert_eq!(
            mounts,
            [
                "mount squashfs /dev/nbd0 /run/netinit/nbd ro []",
                "mount tmpfs tmpfs /run/netinit/overlay [size=50%,mode=0755]",
                "mount overlay overlay /newroot [lowerdir=/run/netinit/nbd,upperdir=/run/netinit/overlay/upper,workdir=/run/netinit/overlay/work]",
            ]
        );
        assert_eq!(sys.nbd_connects, ["10.77.0.1:10809 root"]);
    }

    #[test]
    fn ext4_is_the_root_itself_and_ro_is_honoured() {
        let mut sys = FakeSys::default();
        run(
            "root=nbd:10.77.0.1:2000/x:ext4:noatime,errors=remount-ro ip=dhcp",
            &mut sys,
        )
        .unwrap();
        assert!(
            sys.calls
                .contains(&"mount ext4 /dev/nbd0 /newroot [errors=remount-ro]".to_owned()),
            "{:?}",
            sys.calls
        );
        let mut sys = FakeSys::default();
        run("root=nbd:10.77.0.1:2000/x:ext4:ro ip=dhcp", &mut sys).unwrap();
        assert!(
            sys.calls
                .contains(&"mount ext4 /dev/nbd0 /newroot ro []".to_owned()),
            "{:?}",
            sys.calls
        );
        let mut sys = FakeSys::default();
        run(
            "root=nbd:10.77.0.1:2000/x:ext4 netinit.overlay=1 ip=dhcp",
            &mut sys,
        )
        .unwrap();
        assert!(
            sys.calls
                .contains(&"mount ext4 /dev/nbd0 /run/netinit/nbd ro []".to_owned()),
            "{:?}",
            sys.calls
        );
    }

    #[test]
    fn unknown_filesystem_and_refused_export_fail_with_hints() {
        let mut sys = FakeSys {
            nbd_head: Some(vec![0; 16]),
            ..FakeSys::default()
        };
        let e = run("root=nbd:10.77.0.1:10809 ip=dhcp", &mut sys).unwrap_err();
        assert!(
            e.reason.contains("no filesystem recognised on /dev/nbd0"),
            "{e:?}"
        );
        let mut sys = FakeSys {
            nbd_refuse: true,
            ..FakeSys::default()
        };
        let e = run("root=nbd:10.77.0.1:10809/nope:ext4 ip=dhcp", &mut sys).unwrap_err();
        assert_eq!(e.step, crate::step::Step::Nbd);
        assert!(e.reason.contains("no such export"), "{e:?}");
        assert_eq!(sys.nbd_connects.len(), 1, "a refused export is not retried");
    }

    #[test]
    fn a_server_not_up_yet_is_retried_within_the_budget() {
        let mut sys = FakeSys {
            nbd_down: 1,
            ..FakeSys::default()
        };
        run("root=nbd:10.77.0.1:10809/x:ext4 ip=dhcp", &mut sys).unwrap();
        assert_eq!(sys.nbd_connects.len(), 2);
        // Down for longer than netinit.nfs_timeout: a bounded failure naming the attempts.
        let mut sys = FakeSys {
            nbd_down: 100,
            ..FakeSys::default()
        };
        let e = run(
            "root=nbd:10.77.0.1:10809/x:ext4 ip=dhcp netinit.nfs_timeout=2",
            &mut sys,
        )
        .unwrap_err();
        assert!(
            e.reason
                .starts_with("connect 10.77.0.1:10809: ECONNREFUSED (after "),
            "{e:?}"
        );
        assert!(sys.nbd_connects.len() <= 3, "{:?}", sys.nbd_connects);
    }
}
