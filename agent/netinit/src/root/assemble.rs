//! Root assembly: NFS → live image(s) → loop + squashfs → overlay.
//!
//! Every mount that should outlive switch_root lives under /run/netinit,
//! which moves into the new root with /run, so `/run/netinit/nfs`,
//! `/run/netinit/image/N` and `/run/netinit/overlay` stay reachable from
//! the booted system. Generic over the syscall traits so the exact call
//! sequence of every layout is a unit test.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use netinit_core::live::{find_images, mem_available, mem_total, overlay_bytes, toram_fits};
use netinit_core::net::NetState;
use netinit_core::nfs::{self, NfsMount};
use netinit_core::plan::{
    BootPlan, LiveLayout, OverlayPlan, OverlaySize, ResolvedRoot, nfs_module, resolve_root,
};
use netinit_core::size::{human_bytes, tmpfs_option};
use netinit_sys::Clock;
use netinit_sys::loopdev::Loop;
use netinit_sys::mount::{Files, Mount, MountFlags};
use netinit_sys::nbd::Nbd;

use super::backoff::Backoff;
use crate::log::timed;
use crate::net::modules::Modules;
use crate::step::{Step, StepError};
use crate::{info, warn};

pub const RUN_DIR: &str = "/run/netinit";
pub const NFS_DIR: &str = "/run/netinit/nfs";
pub const IMAGE_DIR: &str = "/run/netinit/image";
pub const OVERLAY_DIR: &str = "/run/netinit/overlay";
pub const TORAM_DIR: &str = "/run/netinit/toram";

/// What was built, for the hand-off and switch_root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assembled {
    pub newroot: PathBuf,
    pub root: ResolvedRoot,
    /// Image paths actually mounted (after toram: the RAM copies).
    pub images: Vec<PathBuf>,
}

/// Assembles the root into `newroot`.
pub fn assemble<S: Mount + Loop + Files + Clock + Nbd>(
    sys: &mut S,
    plan: &BootPlan,
    net: &NetState,
    newroot: &Path,
    modules: &mut dyn Modules,
) -> Result<Assembled, StepError> {
    if let Some(spec) = plan.root.as_ref().and_then(|r| r.nbd.as_ref()) {
        return super::nbd::assemble(sys, plan, spec, newroot, modules);
    }
    let mut root = resolve_root(plan, net).map_err(|e| StepError::new(Step::Nfs, e))?;
    // A plain root under an overlay is mounted like live media: read-only
    // under /run/netinit/nfs, so the export never sees a write.
    let shared = plan.live.layout == LiveLayout::Plain && plan.overlay.nfs_root;
    let plain = plan.live.layout == LiveLayout::Plain && !shared;
    let nfs_target = if plain {
        newroot.to_path_buf()
    } else {
        PathBuf::from(NFS_DIR)
    };
    for why in &root.refused {
        warn!(Step::Nfs, "{why}");
    }
    root = timed(Step::Nfs, || {
        modules.ensure(Step::Nfs, &["nfs", nfs_module(root.version)]);
        let budget = Duration::from_secs(u64::from(plan.timeouts.nfs_secs));
        if root.servers.len() > 1 {
            let attempts = plan.root.as_ref().map_or(2, |r| r.server_attempts);
            return mount_from_list(sys, &root, net, &nfs_target, plain, budget, attempts);
        }
        let mount = nfs::mount_for(&root, net.client_addr_for(root.server));
        mount_nfs(sys, &mount, &root, &nfs_target, plain, budget, None)?;
        Ok(root.clone())
    })?;
    if plain {
        return Ok(Assembled {
            newroot: newroot.to_path_buf(),
            root,
            images: Vec::new(),
        });
    }
    if shared {
        timed(Step::Overlay, || {
            modules.ensure(Step::Overlay, &["overlay"]);
            mount_overlay(sys, &[PathBuf::from(NFS_DIR)], &plan.overlay, newroot)
        })?;
        return Ok(Assembled {
            newroot: newroot.to_path_buf(),
            root,
            images: Vec::new(),
        });
    }
    let mut images = timed(Step::Image, || live_images(sys, plan, &root))?;
    if plan.toram {
        let base = Duration::from_secs(u64::from(plan.timeouts.nfs_secs));
        images = timed(Step::Toram, || {
            to_ram(sys, &images, plan.overlay.size, base)
        })?;
    }
    stack_live(sys, plan, &images, (newroot, NFS_DIR), modules)?;
    Ok(Assembled {
        newroot: newroot.to_path_buf(),
        root,
        images,
    })
}

/// The live stack over the images found on a medium (the NFS root, a
/// fetched image or ISO): each image mounted read-only, the overlay on
/// top in `newroot`, and the medium bound where the layout looks for it.
pub(crate) fn stack_live<S: Mount + Loop + Files>(
    sys: &mut S,
    plan: &BootPlan,
    images: &[PathBuf],
    (newroot, medium): (&Path, &str),
    modules: &mut dyn Modules,
) -> Result<(), StepError> {
    let layers = timed(Step::Squashfs, || {
        modules.ensure(Step::Squashfs, &["loop", "squashfs"]);
        mount_images(sys, images)
    })?;
    timed(Step::Overlay, || {
        modules.ensure(Step::Overlay, &["overlay"]);
        mount_overlay(sys, &layers, &plan.overlay, newroot)
    })?;
    bind_medium(sys, plan.live.layout, newroot, medium);
    Ok(())
}

/// Also mounts the medium where the layout's userland looks for it
/// (casper's installer: /cdrom; live-boot: /run/live/medium; archiso:
/// /run/archiso/bootmnt). /run/netinit/nfs stays: the rest of netinit and
/// the booted system's tools use it. A failure costs only the
/// convenience, so it is a warning.
fn bind_medium<S: Mount + Files>(
    sys: &mut S,
    layout: LiveLayout,
    newroot: &Path,
    medium_dir: &str,
) {
    let Some(medium) = layout.medium_path() else {
        return;
    };
    // Paths under /run go in the initramfs's /run, which moves into the root.
    let target = if medium.starts_with("/run/") {
        PathBuf::from(medium)
    } else {
        newroot.join(medium.trim_start_matches('/'))
    };
    let done = sys
        .mkdir_p(&target)
        .and_then(|()| sys.mount(medium_dir, &target, "none", MountFlags::BIND, ""));
    match done {
        Ok(()) => info!(
            Step::Overlay,
            "medium {medium_dir} also at {medium}, where {} looks for it",
            layout.as_str()
        ),
        Err(e) => warn!(
            Step::Overlay,
            "{e}: the medium stays at {medium_dir} only, not at {medium}"
        ),
    }
}

/// The longest one mount attempt may block (a SYN to a dead server, a
/// mountd that never answers) before it is given up and retried.
pub const NFS_ATTEMPT_CAP: Duration = Duration::from_secs(10);

/// Copies `images` (`need` bytes in all) into `dir` with a progress line;
/// gives up after `base` plus one second per MiB.
fn copy_images<S: Files>(
    sys: &mut S,
    images: &[PathBuf],
    dir: &Path,
    need: u64,
    base: Duration,
) -> Result<Vec<PathBuf>, StepError> {
    let deadline = base.saturating_add(Duration::from_secs(need / MIN_COPY_RATE));
    let start = Instant::now();
    let mut done_before = 0u64;
    let mut next_report = COPY_PROGRESS;
    let mut out = Vec::new();
    for (i, src) in images.iter().enumerate() {
        let name = src.file_name().map_or_else(
            || format!("{i}.squashfs"),
            |n| n.to_string_lossy().into_owned(),
        );
        let dst = dir.join(format!("{i}-{name}"));
        let mut progress = |copied: u64| {
            let elapsed = start.elapsed();
            if elapsed >= next_report {
                let sofar = done_before.saturating_add(copied);
                info!(
                    Step::Toram,
                    "copied {} of {} ({} %)",
                    human_bytes(sofar),
                    human_bytes(need),
                    sofar.saturating_mul(100) / need.max(1)
                );
                next_report = elapsed + COPY_PROGRESS;
            }
            elapsed <= deadline
        };
        let n = sys.copy(src, &dst, &mut progress).map_err(|e| {
            let mut err = StepError::new(Step::Toram, &e);
            if e.errno == netinit_core::errno::ETIMEDOUT {
                err.reason = format!(
                    "{} (copy deadline of {} s passed)",
                    err.reason,
                    deadline.as_secs()
                );
                err.hint("the server or link is too slow for toram; boot without it")
            } else {
                err.hint("the copy ran out of space or the server went away")
            }
        })?;
        done_before = done_before.saturating_add(n);
        out.push(dst);
    }
    Ok(out)
}

/// The live image(s) on the mounted medium, bottom layer first.
fn live_images<S: Files>(
    sys: &mut S,
    plan: &BootPlan,
    root: &ResolvedRoot,
) -> Result<Vec<PathBuf>, StepError> {
    let base = Path::new(NFS_DIR);
    let list = |rel: &str| sys.list_dir(&base.join(rel));
    // Capped, and links resolve inside the medium.
    let read = |rel: &str| sys.read_in(base, rel);
    let found = find_images(&plan.live, &list, &read).map_err(|e| {
        StepError::new(
            Step::Image,
            format_args!("{e} on {}:{}", root.server, root.path),
        )
        .hint("check the folder layout on the server, or live-media-path= / archisobasedir=")
    })?;
    info!(Step::Image, "{} layer(s): {}", found.len(), found.join(" "));
    // An image that is a symlink resolves inside the medium: a link to
    // /etc/... must not loop-mount a file of the initramfs.
    found
        .iter()
        .map(|rel| sys.resolve_in(base, rel))
        .collect::<Result<_, _>>()
        .map_err(|e| StepError::new(Step::Image, e))
}

/// Mounts NFS, retrying transient failures (a server that comes up late)
/// with back-off until `budget` is spent. Configuration errors fail at once.
fn mount_nfs<S: Mount + Files + Clock>(
    sys: &mut S,
    m: &NfsMount,
    root: &ResolvedRoot,
    target: &Path,
    plain: bool,
    budget: Duration,
    max_attempts: Option<u32>,
) -> Result<(), StepError> {
    sys.mkdir_p(target)
        .map_err(|e| StepError::new(Step::Nfs, e))?;
    // Live media are read-only; a plain root is read-write unless `ro`.
    let flags = if m.read_only || !plain {
        MountFlags::RDONLY
    } else {
        MountFlags::empty()
    };
    let mut retry = Backoff::start(sys, budget, NFS_ATTEMPT_CAP);
    loop {
        let left = retry.bound(sys);
        match sys.mount_bounded(&m.source, target, m.fstype, flags, &m.data, left) {
            Ok(()) => {
                info!(
                    Step::Nfs,
                    "mounted {} ({}, server from {}{}) on {}",
                    m.source,
                    m.data,
                    root.server_from,
                    option_origins(root),
                    target.display()
                );
                return Ok(());
            }
            Err(e) => {
                let again = nfs::is_transient(e.errno)
                    && retry.has_time(sys)
                    && max_attempts.is_none_or(|max| retry.attempt < max);
                if !again {
                    let mut err = StepError::new(Step::Nfs, &e);
                    if let Some(h) = nfs::hint(e.errno, root.server, root.version) {
                        err = err.hint(h);
                    }
                    err.reason.push_str(&retry.tally(sys));
                    return Err(err);
                }
                warn!(
                    Step::Nfs,
                    "attempt {}: {e}; retrying in {} ms",
                    retry.attempt,
                    retry.delay().as_millis()
                );
                retry.wait(sys);
            }
        }
    }
}

/// `netinit.nfs_servers=`: each server in turn, `attempts` tries each,
/// all within `budget`; the first that mounts is the root's server, and
/// the log says which one served and why the ones before it did not.
fn mount_from_list<S: Mount + Files + Clock>(
    sys: &mut S,
    root: &ResolvedRoot,
    net: &NetState,
    target: &Path,
    plain: bool,
    budget: Duration,
    attempts: u32,
) -> Result<ResolvedRoot, StepError> {
    let start = sys.now_ms();
    let elapsed = |sys: &S| Duration::from_millis(sys.now_ms().saturating_sub(start));
    let n = root.servers.len();
    let mut failed: Vec<String> = Vec::new();
    for (i, server) in root.servers.iter().enumerate() {
        let mut r = root.clone();
        r.server = *server;
        let mount = nfs::mount_for(&r, net.client_addr_for(r.server));
        let left = budget.saturating_sub(elapsed(sys));
        match mount_nfs(sys, &mount, &r, target, plain, left, Some(attempts)) {
            Ok(()) => {
                let before = if failed.is_empty() {
                    String::new()
                } else {
                    format!(" after {}", failed.join("; "))
                };
                info!(
                    Step::Nfs,
                    "server {server} served the root (server {} of {n} in netinit.nfs_servers){before}",
                    i + 1
                );
                return Ok(r);
            }
            Err(e) => {
                let why = format!("{server} failed: {}", e.reason);
                if let Some(next) = root.servers.get(i + 1) {
                    warn!(Step::Nfs, "{why}; trying {next} next");
                }
                failed.push(why);
                if elapsed(sys) >= budget {
                    break;
                }
            }
        }
    }
    Err(StepError::new(
        Step::Nfs,
        format_args!(
            "no server in netinit.nfs_servers served {}: {}",
            root.path,
            failed.join("; ")
        ),
    )
    .hint("check that one of the servers is up and exports the path (netinit.nfs_attempts=, netinit.nfs_timeout=)"))
}

/// `; options: rsize=8192 from DHCP root-path, ro from cmdline` (the
/// rest of the mount options are netinit's defaults).
fn option_origins(root: &ResolvedRoot) -> String {
    let each: Vec<String> = root
        .options
        .iter()
        .zip(&root.options_from)
        .filter(|(o, _)| !o.is_empty())
        .map(|(o, from)| format!("{o} from {from}"))
        .collect();
    if each.is_empty() {
        "; other options are defaults".to_owned()
    } else {
        format!("; options: {}; the rest are defaults", each.join(", "))
    }
}

/// The slowest copy `toram` waits for, on top of the NFS budget: a
/// server or link that can't do 1 MiB/s is better read over NFS.
const MIN_COPY_RATE: u64 = 1 << 20;
/// How often the copy reports progress.
const COPY_PROGRESS: Duration = Duration::from_secs(2);

/// `toram`: copies the images into a tmpfs when they fit next to the
/// overlay, and says so either way with both numbers. The copy goes in
/// chunks with a progress line, and gives up after `base` plus one
/// second per MiB.
fn to_ram<S: Mount + Files>(
    sys: &mut S,
    images: &[PathBuf],
    overlay: OverlaySize,
    base: Duration,
) -> Result<Vec<PathBuf>, StepError> {
    // Sizes come from the server: add them without overflowing.
    let mut need = Some(0u64);
    for i in images {
        let size = sys.size(i).map_err(|e| StepError::new(Step::Toram, e))?;
        need = need.and_then(|n| n.checked_add(size));
    }
    let meminfo = sys.read_to_string(Path::new("/proc/meminfo"));
    let have = meminfo.as_deref().and_then(mem_available).unwrap_or(0);
    let total = meminfo.as_deref().and_then(mem_total).unwrap_or(have);
    let overlay = overlay_bytes(overlay, total);
    let Some(need) = need.filter(|&n| toram_fits(n, have, overlay)) else {
        warn!(
            Step::Toram,
            "need {} plus the overlay's {}, have {} available: not copying, reading the image over NFS",
            need.map_or_else(|| "more than 16 EiB".to_owned(), human_bytes),
            human_bytes(overlay),
            human_bytes(have)
        );
        return Ok(images.to_vec());
    };
    info!(
        Step::Toram,
        "need {}, have {} available: copying",
        human_bytes(need),
        human_bytes(have)
    );
    let dir = Path::new(TORAM_DIR);
    ram_dir(sys, dir, need.saturating_add(16 << 20), Step::Toram)?;
    copy_images(sys, images, dir, need, base)
}

/// A tmpfs of `bytes` at `dir` (made if missing), for `step`: where an
/// image is copied or downloaded into RAM.
pub(crate) fn ram_dir<S: Mount + Files>(
    sys: &mut S,
    dir: &Path,
    bytes: u64,
    step: Step,
) -> Result<(), StepError> {
    sys.mkdir_p(dir).map_err(|e| StepError::new(step, e))?;
    let size = format!("size={bytes},mode=0755");
    sys.mount(
        "tmpfs",
        dir,
        "tmpfs",
        MountFlags::NOSUID | MountFlags::NODEV,
        &size,
    )
    .map_err(|e| StepError::new(step, e))
}

/// Loop-mounts each image read-only at /run/netinit/image/N; returns the
/// mount points, bottom layer first.
fn mount_images<S: Mount + Loop + Files>(
    sys: &mut S,
    images: &[PathBuf],
) -> Result<Vec<PathBuf>, StepError> {
    let mut layers = Vec::new();
    for (i, image) in images.iter().enumerate() {
        let target = Path::new(IMAGE_DIR).join(i.to_string());
        let hint = format!(
            "is {} a squashfs image? is the squashfs module in the initrd?",
            image.display()
        );
        loop_mount(sys, image, (&target, "squashfs"), Step::Squashfs, hint)?;
        layers.push(target);
    }
    Ok(layers)
}

/// Loop-mounts the image file `image` read-only at `target` as `fstype`,
/// for `step`; `hint` goes with a failed mount.
pub(crate) fn loop_mount<S: Mount + Loop + Files>(
    sys: &mut S,
    image: &Path,
    (target, fstype): (&Path, &str),
    step: Step,
    hint: String,
) -> Result<(), StepError> {
    sys.mkdir_p(target).map_err(|e| StepError::new(step, e))?;
    // `dev` holds the loop fd until the mount holds the device.
    let dev = sys.attach(image).map_err(|e| StepError::new(step, e))?;
    sys.mount(
        &dev.path.to_string_lossy(),
        target,
        fstype,
        MountFlags::RDONLY,
        "",
    )
    .map_err(|e| StepError::new(step, e).hint(hint))?;
    info!(
        step,
        "{} on {} at {}",
        image.display(),
        dev.path.display(),
        target.display()
    );
    Ok(())
}

/// A tmpfs upper over every layer, mounted on `newroot`.
pub(crate) fn mount_overlay<S: Mount + Files>(
    sys: &mut S,
    layers: &[PathBuf],
    overlay: &OverlayPlan,
    newroot: &Path,
) -> Result<(), StepError> {
    let size = overlay.size;
    let extra: String = overlay
        .tmpfs_extra
        .iter()
        .map(|o| format!("{o},"))
        .collect();
    let dir = Path::new(OVERLAY_DIR);
    let err = |e| StepError::new(Step::Overlay, e);
    sys.mkdir_p(dir).map_err(err)?;
    sys.mount(
        "tmpfs",
        dir,
        "tmpfs",
        MountFlags::NOSUID | MountFlags::NODEV,
        &format!("{},{extra}mode=0755", tmpfs_option(size)),
    )
    .map_err(err)?;
    let (upper, work) = (dir.join("upper"), dir.join("work"));
    sys.mkdir_p(&upper).map_err(err)?;
    sys.mkdir_p(&work).map_err(err)?;
    sys.mkdir_p(newroot).map_err(err)?;
    // overlayfs lists lowerdirs top-most first.
    let lower: Vec<String> = layers
        .iter()
        .rev()
        .map(|p| p.display().to_string())
        .collect();
    let data = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.join(":"),
        upper.display(),
        work.display()
    );
    sys.mount("overlay", newroot, "overlay", MountFlags::empty(), &data)
        .map_err(|e| {
            StepError::new(Step::Overlay, e)
                .hint("is the overlay module in the initrd? (netinit check-kernel)")
        })?;
    info!(
        Step::Overlay,
        "{} layer(s) + tmpfs ({size}) on {}",
        layers.len(),
        newroot.display()
    );
    Ok(())
}

#[cfg(test)]
pub(crate) mod fake {
    //! A recording fake for the root phase's syscalls.
    use super::*;
    use netinit_sys::{Result, SysError};
    use std::collections::BTreeMap;

    #[derive(Debug, Default)]
    pub struct FakeSys {
        pub calls: Vec<String>,
        /// Directory listings by absolute path.
        pub dirs: BTreeMap<String, Vec<String>>,
        pub files: BTreeMap<String, String>,
        /// errnos the next NFS mounts fail with, in order.
        pub nfs_errors: Vec<i32>,
        /// errno every write under this prefix fails with (a read-only root).
        pub write_error: Option<(String, i32)>,
        pub loops: u32,
        /// What `size` reports for every file (100 MiB if unset).
        pub file_size: Option<u64>,
        /// The timeout of every bounded mount attempt.
        pub attempt_caps: Vec<Duration>,
        /// The fake clock: sleeps advance it, nothing waits.
        pub now_ms: u64,
        /// Every sleep, in milliseconds.
        pub sleeps: Vec<u64>,
        /// What the NBD device starts with (an ext4 superblock if unset).
        pub nbd_head: Option<Vec<u8>>,
        /// The NBD server refuses every export.
        pub nbd_refuse: bool,
        /// The first this many NBD connections are refused (a server not up yet).
        pub nbd_down: u32,
        /// `SERVER:PORT EXPORT` of every NBD connection.
        pub nbd_connects: Vec<String>,
    }

    impl Clock for FakeSys {
        fn now_ms(&self) -> u64 {
            self.now_ms
        }
        fn sleep_ms(&mut self, ms: u64) {
            self.sleeps.push(ms);
            self.now_ms += ms;
        }
    }

    impl netinit_sys::nbd::Nbd for FakeSys {
        fn nbd_connect(
            &mut self,
            server: std::net::SocketAddrV4,
            export: &str,
            _: Duration,
        ) -> std::result::Result<netinit_sys::nbd::Connected, netinit_sys::nbd::ConnectError>
        {
            self.nbd_connects.push(format!("{server} {export}"));
            if self.nbd_down > 0 {
                self.nbd_down -= 1;
                return Err(netinit_sys::nbd::ConnectError::Sys(SysError {
                    call: "connect",
                    object: server.to_string(),
                    errno: netinit_core::errno::ECONNREFUSED,
                }));
            }
            if self.nbd_refuse {
                return Err(netinit_sys::nbd::ConnectError::Handshake {
                    server: server.to_string(),
                    error: netinit_core::nbd::NbdError(format!(
                        "export '{export}': no such export"
                    )),
                });
            }
            Ok(netinit_sys::nbd::Connected {
                index: 0,
                export: netinit_core::nbd::Export {
                    size: 64 << 20,
                    flags: 1,
                    min_block: None,
                },
            })
        }
        fn read_head(&self, _: &Path, len: usize) -> Result<Vec<u8>> {
            let mut head = self.nbd_head.clone().unwrap_or_else(|| {
                let mut h = vec![0u8; 2048];
                h[1080] = 0x53;
                h[1081] = 0xef;
                h
            });
            head.resize(len, 0);
            Ok(head)
        }
    }

    impl Mount for FakeSys {
        fn mount(
            &mut self,
            source: &str,
            target: &Path,
            fstype: &str,
            flags: MountFlags,
            data: &str,
        ) -> Result<()> {
            let ro = if flags.contains(MountFlags::RDONLY) {
                " ro"
            } else if flags.contains(MountFlags::BIND) {
                " bind"
            } else {
                ""
            };
            self.calls.push(format!(
                "mount {fstype} {source} {}{ro} [{data}]",
                target.display()
            ));
            if fstype.starts_with("nfs") && !self.nfs_errors.is_empty() {
                let errno = self.nfs_errors.remove(0);
                return Err(SysError {
                    call: "mount",
                    object: format!("{fstype} {source} on {}", target.display()),
                    errno,
                });
            }
            Ok(())
        }
        fn mount_bounded(
            &mut self,
            source: &str,
            target: &Path,
            fstype: &str,
            flags: MountFlags,
            data: &str,
            timeout: Duration,
        ) -> Result<()> {
            self.attempt_caps.push(timeout);
            self.mount(source, target, fstype, flags, data)
        }
        fn move_mount(&mut self, from: &Path, to: &Path) -> Result<()> {
            self.calls
                .push(format!("move {} {}", from.display(), to.display()));
            Ok(())
        }
    }

    impl netinit_sys::host::Hostname for FakeSys {
        fn set_hostname(&mut self, name: &str) -> Result<()> {
            self.calls.push(format!("sethostname {name}"));
            Ok(())
        }
    }

    impl Loop for FakeSys {
        fn attach(&mut self, image: &Path) -> Result<netinit_sys::loopdev::Attached> {
            let dev = PathBuf::from(format!("/dev/loop{}", self.loops));
            self.loops += 1;
            self.calls
                .push(format!("loop {} {}", image.display(), dev.display()));
            Ok(netinit_sys::loopdev::Attached::unheld(dev))
        }
    }

    impl Files for FakeSys {
        fn mkdir_p(&mut self, _: &Path) -> Result<()> {
            Ok(())
        }
        fn list_dir(&self, path: &Path) -> Option<Vec<String>> {
            self.dirs.get(path.to_str()?.trim_end_matches('/')).cloned()
        }
        fn read_to_string(&self, path: &Path) -> Option<String> {
            self.files.get(path.to_str()?).cloned()
        }
        fn write(&mut self, path: &Path, contents: &str) -> Result<()> {
            self.calls.push(format!("write {}", path.display()));
            if let Some((prefix, errno)) = &self.write_error {
                if path.starts_with(prefix) {
                    return Err(SysError {
                        call: "write",
                        object: path.display().to_string(),
                        errno: *errno,
                    });
                }
            }
            self.files
                .insert(path.display().to_string(), contents.to_owned());
            Ok(())
        }
        fn exists(&self, path: &Path) -> bool {
            let p = path.display().to_string();
            self.files.contains_key(&p) || self.dirs.contains_key(&p)
        }
        fn is_symlink(&self, path: &Path) -> bool {
            self.files
                .get(&path.display().to_string())
                .is_some_and(|c| c.starts_with("->"))
        }
        fn size(&self, _: &Path) -> Result<u64> {
            Ok(self.file_size.unwrap_or(100 << 20))
        }
        fn copy(
            &mut self,
            from: &Path,
            to: &Path,
            progress: &mut dyn FnMut(u64) -> bool,
        ) -> Result<u64> {
            self.calls
                .push(format!("copy {} {}", from.display(), to.display()));
            let size = self.file_size.unwrap_or(100 << 20);
            if !progress(size) {
                return Err(SysError {
                    call: "copy",
                    object: from.display().to_string(),
                    errno: netinit_core::errno::ETIMEDOUT,
                });
            }
            Ok(size)
        }
        fn write_in(&mut self, root: &Path, rel: &str, contents: &str) -> Result<()> {
            self.write(&netinit_sys::mount::under(root, rel), contents)
        }
        fn read_in(&self, root: &Path, rel: &str) -> Option<String> {
            self.read_to_string(&netinit_sys::mount::under(root, rel))
        }
        fn resolve_in(&self, root: &Path, rel: &str) -> Result<std::path::PathBuf> {
            Ok(netinit_sys::mount::under(root, rel))
        }
        fn mkdir_in(&mut self, root: &Path, rel: &str) -> Result<()> {
            let p = netinit_sys::mount::under(root, rel);
            self.calls.push(format!("mkdir {}", p.display()));
            self.dirs.entry(p.display().to_string()).or_default();
            Ok(())
        }
        fn chown_in(
            &mut self,
            root: &Path,
            rel: &str,
            uid: u32,
            gid: u32,
            mode: u32,
        ) -> Result<()> {
            let p = netinit_sys::mount::under(root, rel);
            self.calls
                .push(format!("chown {} {uid}:{gid} {mode:o}", p.display()));
            Ok(())
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    // Each test spells out its own set-up and whole call sequence: a golden
    // sequence must read alone, so tests that look alike are meant to.
    use super::fake::FakeSys;
    use super::*;
    use netinit_core::errno::{EACCES, ECONNREFUSED, ETIMEDOUT};

    use netinit_core::net::MacAddr;
    use netinit_sys::testing::in_private_mount_ns;

    fn net() -> NetState {
        NetState {
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            server_id: Some([10, 77, 0, 1].into()),
            root_path: Some("/export/from-dhcp".into()),
            ..netinit_core::fixtures::net_state()
        }
    }

    /// Records the modules each step asks for.
    #[derive(Default)]
    struct Loaded(Vec<String>);

    impl Modules for Loaded {
        fn rescan(&mut self) {}
        fn ensure(&mut self, _: Step, names: &[&str]) {
            self.0.extend(names.iter().map(|s| s.to_string()));
        }
    }

    pub(crate) fn run(
        cmdline: &str,
        sys: &mut FakeSys,
    ) -> (Result<Assembled, StepError>, Vec<String>) {
        let plan = netinit_core::plan::from_cmdline(cmdline).unwrap();
        let mut loaded = Loaded::default();
        let r = assemble(sys, &plan, &net(), Path::new("/newroot"), &mut loaded);
        (r, loaded.0)
    }

    /// [`run`] against an NFS server whose mounts fail with `nfs_errors`,
    /// one errno an attempt, then succeed.
    fn run_nfs(cmdline: &str, nfs_errors: &[i32]) -> (Result<Assembled, StepError>, FakeSys) {
        let mut sys = FakeSys {
            nfs_errors: nfs_errors.to_vec(),
            ..Default::default()
        };
        let (r, _) = run(cmdline, &mut sys);
        (r, sys)
    }

    // The golden sequences below each set their root up whole, alike on
    // purpose: a golden test reads and diffs alone.
    #[test]
    fn casper_sequence() {
        let mut sys = FakeSys::default();
        sys.dirs.insert(
            "/run/netinit/nfs/casper".into(),
            vec!["filesystem.squashfs".into(), "vmlinuz".into()],
        );
        let (r, loaded) = run(
            "boot=casper netboot=nfs nfsroot=10.77.0.1:/export/casper ip=dhcp",
            &mut sys,
        );
        let a = r.unwrap();
        assert_eq!(loaded, ["nfs", "nfsv3", "loop", "squashfs", "overlay"]);
        assert_eq!(
            sys.calls,
            [
                "mount nfs 10.77.0.1:/export/casper /run/netinit/nfs ro [vers=3,proto=tcp,nolock,addr=10.77.0.1]",
                "loop /run/netinit/nfs/casper/filesystem.squashfs /dev/loop0",
                "mount squashfs /dev/loop0 /run/netinit/image/0 ro []",
                "mount tmpfs tmpfs /run/netinit/overlay [size=50%,mode=0755]",
                "mount overlay overlay /newroot [lowerdir=/run/netinit/image/0,upperdir=/run/netinit/overlay/upper,workdir=/run/netinit/overlay/work]",
                "mount none /run/netinit/nfs /newroot/cdrom bind []",
            ]
        );
        assert_eq!(
            a.images,
            [PathBuf::from("/run/netinit/nfs/casper/filesystem.squashfs")]
        );
    }

    #[test]
    fn linomad_stacks_top_most_first() {
        let mut sys = FakeSys::default();
        sys.dirs.insert(
            "/run/netinit/nfs".into(),
            vec!["02-apps.squashfs".into(), "01-core.squashfs".into()],
        );
        let (r, _) = run(
            "sys=10.77.0.1:/export/sys ip=10.77.0.50::10.77.0.1:24 netinit.overlay_size=256M",
            &mut sys,
        );
        r.unwrap();
        let last = sys.calls.last().unwrap();
        assert_eq!(
            last,
            "mount overlay overlay /newroot [lowerdir=/run/netinit/image/1:/run/netinit/image/0,upperdir=/run/netinit/overlay/upper,workdir=/run/netinit/overlay/work]"
        );
        assert!(sys.calls.contains(
            &"mount tmpfs tmpfs /run/netinit/overlay [size=268435456,mode=0755]".to_string()
        ));
    }

    #[test]
    fn casper_layered_stack_from_layerfs_path() {
        let mut sys = FakeSys::default();
        sys.dirs.insert(
            "/run/netinit/nfs/casper".into(),
            vec![
                "minimal.en.squashfs".into(),
                "minimal.standard.live.squashfs".into(),
                "minimal.standard.squashfs".into(),
                "minimal.squashfs".into(),
            ],
        );
        let (r, _) = run(
            "boot=casper netboot=nfs nfsroot=10.77.0.1:/export/noble,vers=4.2 layerfs-path=minimal.standard.live.squashfs",
            &mut sys,
        );
        r.unwrap();
        let loops: Vec<&str> = sys
            .calls
            .iter()
            .filter(|c| c.starts_with("loop "))
            .map(String::as_str)
            .collect();
        assert_eq!(
            loops,
            [
                "loop /run/netinit/nfs/casper/minimal.squashfs /dev/loop0",
                "loop /run/netinit/nfs/casper/minimal.standard.squashfs /dev/loop1",
                "loop /run/netinit/nfs/casper/minimal.standard.live.squashfs /dev/loop2",
            ]
        );
        assert!(sys.calls.iter().any(|c| {
            c.contains("lowerdir=/run/netinit/image/2:/run/netinit/image/1:/run/netinit/image/0,")
        }));
    }

    /// Each layout's medium is also where its userland looks for it.
    #[test]
    fn the_medium_is_where_each_layout_looks() {
        for (cmdline, dir, image, want) in [
            (
                "boot=live netboot=nfs nfsroot=10.77.0.1:/export/live",
                "/run/netinit/nfs/live",
                "filesystem.squashfs",
                Some("mount none /run/netinit/nfs /run/live/medium bind []"),
            ),
            (
                "archiso_nfs_srv=10.77.0.1:/export/arch",
                "/run/netinit/nfs/arch/x86_64",
                "airootfs.sfs",
                Some("mount none /run/netinit/nfs /run/archiso/bootmnt bind []"),
            ),
            (
                "sys=10.77.0.1:/export/linomad",
                "/run/netinit/nfs",
                "01-base.squashfs",
                None,
            ),
        ] {
            let mut sys = FakeSys::default();
            sys.dirs.insert(dir.into(), vec![image.into()]);
            let (r, _) = run(cmdline, &mut sys);
            r.unwrap();
            let binds: Vec<&str> = sys
                .calls
                .iter()
                .filter(|c| c.contains(" bind "))
                .map(String::as_str)
                .collect();
            assert_eq!(binds, want.into_iter().collect::<Vec<_>>(), "{cmdline}");
        }
    }

    #[test]
    fn plain_root_is_rw_on_newroot_and_v4_uses_nfs4() {
        let mut sys = FakeSys::default();
        let (r, loaded) = run(
            "root=/dev/nfs nfsroot=10.77.0.1:/export/arch,vers=4.2 ip=dhcp",
            &mut sys,
        );
        r.unwrap();
        assert_eq!(loaded, ["nfs", "nfsv4"]);
        assert_eq!(
            sys.calls,
            [
                "mount nfs4 10.77.0.1:/export/arch /newroot [vers=4.2,proto=tcp,addr=10.77.0.1,clientaddr=10.77.0.100]"
            ]
        );
    }

    #[test]
    fn shared_root_is_read_only_nfs_under_a_tmpfs_overlay() {
        for text in [
            "root=nfs:10.77.0.1:/export/arch rd.overlay=tmpfs:size=256M,nr_inodes=1000 ip=dhcp",
            "root=/dev/nfs nfsroot=10.77.0.1:/export/arch netinit.overlay=1 netinit.overlay_size=256M rd.overlay=tmpfs:nr_inodes=1000",
        ] {
            let mut sys = FakeSys::default();
            let (r, loaded) = run(text, &mut sys);
            r.unwrap();
            assert_eq!(loaded, ["nfs", "nfsv3", "overlay"], "{text}");
            assert_eq!(
                sys.calls,
                [
                    "mount nfs 10.77.0.1:/export/arch /run/netinit/nfs ro [vers=3,proto=tcp,nolock,addr=10.77.0.1]",
                    "mount tmpfs tmpfs /run/netinit/overlay [size=268435456,nr_inodes=1000,mode=0755]",
                    "mount overlay overlay /newroot [lowerdir=/run/netinit/nfs,upperdir=/run/netinit/overlay/upper,workdir=/run/netinit/overlay/work]",
                ],
                "{text}"
            );
        }
    }

    #[test]
    fn root_path_from_dhcp_only() {
        let mut sys = FakeSys::default();
        let (r, _) = run("root=/dev/nfs ip=dhcp", &mut sys);
        assert_eq!(r.unwrap().root.path, "/export/from-dhcp");
        assert!(sys.calls[0].starts_with("mount nfs 10.77.0.1:/export/from-dhcp /newroot [vers=3"));
    }

    #[test]
    fn each_nfs_attempt_has_its_own_cap() {
        let (r, sys) = run_nfs(
            "root=/dev/nfs nfsroot=10.77.0.1:/x netinit.nfs_timeout=60",
            &[ETIMEDOUT, ETIMEDOUT],
        );
        r.unwrap();
        // A silent server must not eat the whole budget in one attempt.
        assert_eq!(sys.attempt_caps.len(), 3);
        // Back-off between attempts, on the fake clock.
        assert_eq!(sys.sleeps, [500, 1000]);
        assert!(
            sys.attempt_caps.iter().all(|c| *c <= NFS_ATTEMPT_CAP),
            "{:?}",
            sys.attempt_caps
        );
        // A short budget caps the attempt below that.
        let (r, sys) = run_nfs(
            "root=/dev/nfs nfsroot=10.77.0.1:/x netinit.nfs_timeout=3",
            &[],
        );
        r.unwrap();
        assert!(sys.attempt_caps[0] <= Duration::from_secs(3));
    }

    #[test]
    fn transient_errors_retry_config_errors_fail_at_once() {
        let (r, sys) = run_nfs(
            "root=/dev/nfs nfsroot=10.77.0.1:/x netinit.nfs_timeout=30",
            &[ECONNREFUSED, ETIMEDOUT],
        );
        r.unwrap();
        assert_eq!(
            sys.calls
                .iter()
                .filter(|c| c.starts_with("mount nfs"))
                .count(),
            3
        );

        let (r, sys) = run_nfs("root=/dev/nfs nfsroot=10.77.0.1:/wrong", &[EACCES]);
        let e = r.unwrap_err();
        assert_eq!(e.step, Step::Nfs);
        assert_eq!(e.reason, "mount nfs 10.77.0.1:/wrong on /newroot: EACCES");
        assert!(
            e.hint
                .unwrap()
                .starts_with("export path not allowed for this client")
        );
        assert_eq!(sys.calls.len(), 1, "no retry for EACCES");
    }

    #[test]
    fn server_list_tries_each_server_with_bounded_attempts() {
        let mounts = |sys: &FakeSys| -> Vec<String> {
            sys.calls
                .iter()
                .filter(|c| c.starts_with("mount nfs"))
                .map(|c| c.split(' ').nth(2).unwrap_or("").to_owned())
                .collect()
        };
        // The first server times out twice (its two attempts), the second serves.
        let (r, sys) = run_nfs(
            "root=/dev/nfs nfsroot=10.77.0.5:/x netinit.nfs_servers=10.77.0.9,10.77.0.1",
            &[ETIMEDOUT, ETIMEDOUT],
        );
        let a = r.unwrap();
        assert_eq!(a.root.server.to_string(), "10.77.0.1");
        assert_eq!(
            a.root.server_from,
            netinit_core::plan::ServerSource::ServerList
        );
        assert_eq!(
            mounts(&sys),
            ["10.77.0.9:/x", "10.77.0.9:/x", "10.77.0.1:/x"]
        );
        // A refusal moves on at once; netinit.nfs_attempts bounds the retries.
        let (r, sys) = run_nfs(
            "root=/dev/nfs nfsroot=/x netinit.nfs_servers=10.77.0.9,10.77.0.8,10.77.0.1 netinit.nfs_attempts=3",
            &[EACCES, ETIMEDOUT, ETIMEDOUT, ETIMEDOUT],
        );
        assert_eq!(r.unwrap().root.server.to_string(), "10.77.0.1");
        assert_eq!(mounts(&sys).len(), 5);
        // All fail: one error naming each server.
        let (r, _) = run_nfs(
            "root=/dev/nfs nfsroot=/x netinit.nfs_servers=10.77.0.9,10.77.0.1",
            &[EACCES, EACCES],
        );
        let e = r.unwrap_err();
        assert!(
            e.reason.starts_with("no server in netinit.nfs_servers served /x: 10.77.0.9 failed: mount nfs 10.77.0.9:/x"),
            "{e:?}"
        );
        assert!(e.reason.contains("; 10.77.0.1 failed: "), "{e:?}");
    }

    #[test]
    fn missing_image_lists_what_was_tried() {
        let mut sys = FakeSys::default();
        sys.dirs
            .insert("/run/netinit/nfs/live".into(), vec!["vmlinuz".into()]);
        let (r, _) = run(
            "boot=live netboot=nfs nfsroot=10.77.0.1:/export/live",
            &mut sys,
        );
        let e = r.unwrap_err();
        assert_eq!(e.step, Step::Image);
        assert_eq!(
            e.reason,
            "no live image found: tried live/filesystem.module, live/*.squashfs on 10.77.0.1:/export/live"
        );
    }

    fn live_with(images: &[&str], meminfo: &str, file_size: u64) -> FakeSys {
        let mut sys = FakeSys {
            file_size: Some(file_size),
            ..Default::default()
        };
        sys.dirs.insert(
            "/run/netinit/nfs/live".into(),
            images.iter().map(|s| s.to_string()).collect(),
        );
        sys.files.insert("/proc/meminfo".into(), meminfo.into());
        sys
    }

    #[test]
    fn toram_counts_the_overlay_and_survives_absurd_sizes() {
        // 1.5 GiB of images, 2 GiB available, a 1 GiB overlay (50 % of 2 GiB):
        // the images alone fit in 3/4 of what is free, but not with the overlay.
        let meminfo = "MemTotal: 2097152 kB\nMemAvailable: 2097152 kB\n";
        let mut sys = live_with(&["filesystem.squashfs"], meminfo, 3 << 29);
        let (r, _) = run("boot=live netboot=nfs nfsroot=10.77.0.1:/e toram", &mut sys);
        assert_eq!(
            r.unwrap().images,
            [PathBuf::from("/run/netinit/nfs/live/filesystem.squashfs")]
        );
        assert!(!sys.calls.iter().any(|c| c.starts_with("copy")));
        // With a small overlay it is copied.
        let mut sys = live_with(&["filesystem.squashfs"], meminfo, 3 << 29);
        let (r, _) = run(
            "boot=live netboot=nfs nfsroot=10.77.0.1:/e toram overlay-size=100m",
            &mut sys,
        );
        assert!(r.unwrap().images[0].starts_with("/run/netinit/toram"));
        // Sizes that add up past 2^64 (a lying server): no overflow, no copy.
        let mut sys = live_with(&["a.squashfs", "b.squashfs"], meminfo, u64::MAX / 2 + 1);
        let (r, _) = run("boot=live netboot=nfs nfsroot=10.77.0.1:/e toram", &mut sys);
        assert!(r.unwrap().images[0].starts_with("/run/netinit/nfs"));
    }

    #[test]
    fn toram_copy_has_a_deadline() {
        let meminfo = "MemTotal: 4000000 kB\nMemAvailable: 3000000 kB\n";
        let mut sys = live_with(&["filesystem.squashfs"], meminfo, 1);
        let plan =
            netinit_core::plan::from_cmdline("boot=live netboot=nfs nfsroot=10.77.0.1:/e toram")
                .unwrap();
        let images = [PathBuf::from("/run/netinit/nfs/live/filesystem.squashfs")];
        let e = to_ram(&mut sys, &images, plan.overlay.size, Duration::ZERO).unwrap_err();
        assert_eq!(e.step, Step::Toram);
        assert!(e.reason.contains("deadline"), "{e}");
    }

    #[test]
    fn toram_copies_when_it_fits_and_says_so_when_not() {
        let mut sys = FakeSys::default();
        sys.dirs.insert(
            "/run/netinit/nfs/live".into(),
            vec!["filesystem.squashfs".into()],
        );
        sys.files.insert(
            "/proc/meminfo".into(),
            "MemTotal: 4000000 kB\nMemAvailable: 3000000 kB\n".into(),
        );
        let (r, _) = run("boot=live netboot=nfs nfsroot=10.77.0.1:/e toram", &mut sys);
        assert_eq!(
            r.unwrap().images,
            [PathBuf::from("/run/netinit/toram/0-filesystem.squashfs")]
        );
        assert!(
            sys.calls
                .iter()
                .any(|c| c.starts_with("copy /run/netinit/nfs/live/filesystem.squashfs"))
        );
        let mut sys = FakeSys::default();
        sys.dirs.insert(
            "/run/netinit/nfs/live".into(),
            vec!["filesystem.squashfs".into()],
        );
        sys.files
            .insert("/proc/meminfo".into(), "MemAvailable: 100000 kB\n".into());
        let (r, _) = run("boot=live netboot=nfs nfsroot=10.77.0.1:/e toram", &mut sys);
        assert_eq!(
            r.unwrap().images,
            [PathBuf::from("/run/netinit/nfs/live/filesystem.squashfs")]
        );
        assert!(!sys.calls.iter().any(|c| c.starts_with("copy")));
    }

    fn mksquashfs(dir: &Path, files: &[(&str, &str)], out: &Path) {
        let src = dir.join(out.file_stem().unwrap());
        for (path, content) in files {
            let p = src.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
        let st = std::process::Command::new("mksquashfs")
            .arg(&src)
            .arg(out)
            .args(["-quiet", "-noappend", "-comp", "xz"])
            .status();
        assert!(
            st.unwrap().success(),
            "mksquashfs (apt-get install squashfs-tools)"
        );
    }

    fn mounts() -> String {
        std::fs::read_to_string("/proc/self/mounts").unwrap()
    }

    #[test]
    #[ignore = "needs root, loop/squashfs/overlay: run by scripts/test.sh"]
    fn host_kernel_loop_squashfs_overlay_toram_and_move() {
        in_private_mount_ns(
            "root::assemble::tests::host_kernel_loop_squashfs_overlay_toram_and_move",
            || {
                let mut sys = netinit_sys::Linux;
                // Keep everything inside this namespace: a fresh tmpfs on /run/netinit.
                std::fs::create_dir_all(RUN_DIR).unwrap();
                sys.mount(
                    "tmpfs",
                    Path::new(RUN_DIR),
                    "tmpfs",
                    MountFlags::empty(),
                    "mode=0755",
                )
                .unwrap();
                let t = tempfile::tempdir().unwrap();
                let (img0, img1) = (
                    t.path().join("01-base.squashfs"),
                    t.path().join("02-top.squashfs"),
                );
                mksquashfs(
                    t.path(),
                    &[("etc/os-release", "base\n"), ("bin/only-in-base", "x")],
                    &img0,
                );
                mksquashfs(
                    t.path(),
                    &[("etc/os-release", "top\n"), ("usr/only-in-top", "y")],
                    &img1,
                );

                // toram: both images fit easily; they end up in a tmpfs.
                let images = to_ram(
                    &mut sys,
                    &[img0.clone(), img1.clone()],
                    OverlaySize::Percent(50),
                    Duration::from_secs(60),
                )
                .unwrap();
                assert_eq!(
                    images,
                    [
                        PathBuf::from("/run/netinit/toram/0-01-base.squashfs"),
                        PathBuf::from("/run/netinit/toram/1-02-top.squashfs")
                    ]
                );
                assert!(mounts().contains(" /run/netinit/toram tmpfs "));

                let layers = mount_images(&mut sys, &images).unwrap();
                let m = mounts();
                for (i, l) in layers.iter().enumerate() {
                    assert!(
                        m.contains(&format!(" {} squashfs ro,", l.display())),
                        "layer {i}: {m}"
                    );
                }
                // LOOP_CONFIGURE set read-only and autoclear.
                let loops: Vec<String> = m
                    .lines()
                    .filter(|l| l.contains(" squashfs "))
                    .map(|l| {
                        l.split(' ')
                            .next()
                            .unwrap()
                            .trim_start_matches("/dev/")
                            .to_owned()
                    })
                    .collect();
                for dev in &loops {
                    assert_eq!(
                        std::fs::read_to_string(format!("/sys/block/{dev}/ro"))
                            .unwrap()
                            .trim(),
                        "1",
                        "{dev} read-only"
                    );
                    assert_eq!(
                        std::fs::read_to_string(format!("/sys/block/{dev}/loop/autoclear"))
                            .unwrap()
                            .trim(),
                        "1",
                        "{dev} autoclear"
                    );
                }

                let newroot = t.path().join("newroot");
                let overlay = OverlayPlan {
                    size: netinit_core::plan::OverlaySize::Bytes(64 << 20),
                    nfs_root: false,
                    tmpfs_extra: Vec::new(),
                };
                mount_overlay(&mut sys, &layers, &overlay, &newroot).unwrap();
                assert_eq!(
                    std::fs::read_to_string(newroot.join("etc/os-release")).unwrap(),
                    "top\n",
                    "the later image is on top"
                );
                assert!(
                    newroot.join("bin/only-in-base").exists()
                        && newroot.join("usr/only-in-top").exists()
                );
                std::fs::write(newroot.join("written"), "ok").unwrap();
                assert_eq!(
                    std::fs::read_to_string("/run/netinit/overlay/upper/written").unwrap(),
                    "ok"
                );
                let m = mounts();
                assert!(
                    m.contains(" /run/netinit/overlay tmpfs rw,nosuid,nodev,relatime,size=65536k"),
                    "{m}"
                );
                assert!(
                    m.contains("lowerdir=/run/netinit/image/1:/run/netinit/image/0"),
                    "{m}"
                );

                // switch_root's first half: /run (with every netinit mount) moves into the new root.
                std::fs::create_dir_all(newroot.join("run")).unwrap();
                sys.move_mount(Path::new("/run/netinit"), &newroot.join("run"))
                    .unwrap();
                assert_eq!(
                    std::fs::read_to_string(newroot.join("run/overlay/upper/written")).unwrap(),
                    "ok"
                );
                assert!(newroot.join("run/image/0/bin/only-in-base").exists());
            },
        );
    }
}
