//! The test roots: a busybox system whose /sbin/init is the checker,
//! laid out on the NFS export the way each distro does it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::run;

const CHECKER: &str = include_str!("../checker/init.sh");
/// Applets the checker (and a person in the demo) use.
const APPLETS: &[&str] = &[
    "sh", "ash", "cat", "echo", "grep", "awk", "sed", "ip", "mount", "umount", "poweroff",
    "reboot", "sleep", "ls", "hostname", "test", "[", "tr", "head", "tail", "wc", "cut", "ps",
    "dmesg", "df", "stat", "readlink", "uname", "env", "true", "false", "printf", "mkdir", "touch",
    "rm", "sync", "setsid", "cttyhack", "find", "free", "ping", "vi", "less", "dd", "md5sum", "cp",
];

/// One NFS export the lab serves.
#[derive(Debug, Clone)]
pub struct Export {
    /// Pseudo path clients mount, e.g. `/export/casper`.
    pub pseudo: String,
    pub path: PathBuf,
    pub rw: bool,
}

/// Writes the checker root into `dir`. `top` splits it for linomad:
/// `Some(false)` is the base layer, `Some(true)` the top layer only.
fn populate(dir: &Path, top: Option<bool>) -> Result<(), String> {
    let mk = |p: &str| std::fs::create_dir_all(dir.join(p)).map_err(|e| format!("mkdir {p}: {e}"));
    let write = |p: &str, c: &[u8]| -> Result<(), String> {
        let path = dir.join(p);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::write(&path, c).map_err(|e| format!("write {p}: {e}"))
    };
    if top != Some(true) {
        for d in [
            "proc",
            "sys",
            "dev",
            "run",
            "tmp",
            "root",
            "etc/network/interfaces.d",
            "etc/netplan",
            "usr/sbin",
            "lib/systemd",
        ] {
            mk(d)?;
        }
        let busybox = std::fs::read("/bin/busybox")
            .map_err(|e| format!("/bin/busybox: {e} (apt-get install busybox-static)"))?;
        write("bin/busybox", &busybox)?;
        set_mode(&dir.join("bin/busybox"), 0o755)?;
        for a in APPLETS {
            let link = dir.join("bin").join(a);
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink("busybox", &link)
                .map_err(|e| format!("symlink {a}: {e}"))?;
        }
        // Markers, so netinit writes its hand-off for every network manager.
        write("usr/sbin/NetworkManager", b"")?;
        write("lib/systemd/systemd-networkd", b"")?;
        write(
            "etc/network/interfaces",
            b"source /etc/network/interfaces.d/*\nauto lo\niface lo inet loopback\n",
        )?;
        write("etc/os-release", b"NAME=\"netinit lab\"\n")?;
    }
    if top != Some(false) {
        write("sbin/init", CHECKER.as_bytes())?;
        set_mode(&dir.join("sbin/init"), 0o755)?;
        write("etc/top-layer", b"top\n")?;
    }
    Ok(())
}

fn set_mode(p: &Path, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("chmod {}: {e}", p.display()))
}

pub(crate) fn squash(src: &Path, out: &Path) -> Result<(), String> {
    if let Some(p) = out.parent() {
        std::fs::create_dir_all(p).map_err(|e| e.to_string())?;
    }
    run(Command::new("mksquashfs").arg(src).arg(out).args([
        "-noappend",
        "-quiet",
        "-all-root",
        "-comp",
        "xz",
        "-no-progress",
    ]))
    .map(drop)
}

/// Builds every export under `work/export`; diskless roots are per name
/// in `diskless` (each scenario writes its own hand-off files into it).
pub fn build(
    work: &Path,
    diskless: &[String],
    realsys: Option<&Path>,
) -> Result<Vec<Export>, String> {
    let export = work.join("export");
    let stage = work.join("stage");
    let full = stage.join("full");
    populate(&full, None)?;
    let (base, top) = (stage.join("base"), stage.join("top"));
    populate(&base, Some(false))?;
    populate(&top, Some(true))?;
    let only = b"nfs-only\n";
    let mut out = Vec::new();
    for (name, image) in [
        ("casper", "casper/filesystem.squashfs"),
        ("live", "live/filesystem.squashfs"),
    ] {
        let dir = export.join(name);
        squash(&full, &dir.join(image))?;
        std::fs::write(dir.join("nfs-only.txt"), only).map_err(|e| e.to_string())?;
        out.push(Export {
            pseudo: format!("/export/{name}"),
            path: dir,
            rw: false,
        });
    }
    let lin = export.join("linomad");
    squash(&base, &lin.join("01-base.squashfs"))?;
    squash(&top, &lin.join("02-top.squashfs"))?;
    std::fs::write(lin.join("nfs-only.txt"), only).map_err(|e| e.to_string())?;
    out.push(Export {
        pseudo: "/export/linomad".into(),
        path: lin,
        rw: false,
    });
    if let Some(image) = realsys {
        // The debootstrapped Debian, live-boot layout; linked, not copied (hundreds of MB).
        let dir = export.join("realsys");
        let dst = dir.join("live/filesystem.squashfs");
        std::fs::create_dir_all(dst.parent().ok_or("no parent")?).map_err(|e| e.to_string())?;
        if std::fs::hard_link(image, &dst).is_err() {
            std::fs::copy(image, &dst).map_err(|e| format!("copy {}: {e}", image.display()))?;
        }
        // The checker as a second layer on top, named in live-boot's
        // filesystem.module (bottom first): editing it rebuilds no Debian root.
        let layer = work.join("stage/realsys-checker");
        let files: [(&str, &str, u32); 2] = [
            (
                "usr/local/sbin/netinit-realsys",
                include_str!("../realsys/netinit-realsys"),
                0o755,
            ),
            (
                "etc/systemd/system/netinit-realsys.service",
                include_str!("../realsys/netinit-realsys.service"),
                0o644,
            ),
        ];
        for (path, contents, mode) in files {
            let p = layer.join(path);
            std::fs::create_dir_all(p.parent().ok_or("no parent")?).map_err(|e| e.to_string())?;
            std::fs::write(&p, contents).map_err(|e| e.to_string())?;
            set_mode(&p, mode)?;
        }
        let wants = layer.join("etc/systemd/system/multi-user.target.wants");
        std::fs::create_dir_all(&wants).map_err(|e| e.to_string())?;
        let _ = std::fs::remove_file(wants.join("netinit-realsys.service"));
        std::os::unix::fs::symlink(
            "../netinit-realsys.service",
            wants.join("netinit-realsys.service"),
        )
        .map_err(|e| e.to_string())?;
        squash(&layer, &dir.join("live/netinit-checker.squashfs"))?;
        out.push(checker_export(dir, only, "/export/realsys")?);
    }
    out.extend(layered_exports(work, &base, &top)?);
    for name in diskless {
        let dir = export.join(name);
        populate(&dir, None)?;
        std::fs::write(dir.join("nfs-only.txt"), only).map_err(|e| e.to_string())?;
        out.push(Export {
            pseudo: format!("/export/{name}"),
            path: dir,
            rw: true,
        });
    }
    Ok(out)
}

/// The exports of the root-phase scenarios (layered casper, live-boot
/// modules, archiso), built from the base table's staged
/// roots: `base` (busybox, no init), `top` (the checker as /sbin/init).
fn layered_exports(work: &Path, base: &Path, top: &Path) -> Result<Vec<Export>, String> {
    let export = work.join("export");
    let stage = work.join("stage-root");
    let only = b"nfs-only\n";
    // Marker-only layers: one the stack needs, one it must leave out.
    let middle = stage.join("middle");
    let stray = stage.join("stray");
    populate_marker(&middle, "etc/middle-layer")?;
    populate_marker(&stray, "etc/stray-layer")?;

    let layered = export.join("layered");
    let casper = layered.join("casper");
    squash(base, &casper.join("minimal.squashfs"))?;
    squash(&middle, &casper.join("minimal.standard.squashfs"))?;
    squash(top, &casper.join("minimal.standard.live.squashfs"))?;
    squash(&stray, &casper.join("minimal.en.squashfs"))?;

    let livemod = export.join("livemod");
    let live = livemod.join("live");
    squash(base, &live.join("filesystem.squashfs"))?;
    squash(top, &live.join("extra.squashfs"))?;
    squash(&stray, &live.join("zz-unused.squashfs"))?;
    write(
        &live.join("standard.module"),
        b"filesystem.squashfs\nextra.squashfs\n",
    )?;

    // archiso: one image at <archisobasedir>/x86_64/airootfs.sfs.
    let archiso = export.join("archiso");
    squash(
        &work.join("stage/full"),
        &archiso.join("arch/x86_64/airootfs.sfs"),
    )?;

    let mut out = Vec::new();
    for (name, dir) in [
        ("layered", layered),
        ("livemod", livemod),
        ("archiso", archiso),
    ] {
        write(&dir.join("nfs-only.txt"), only)?;
        out.push(Export {
            pseudo: format!("/export/{name}"),
            path: dir,
            rw: false,
        });
    }
    Ok(out)
}

fn write(path: &Path, content: &[u8]) -> Result<(), String> {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).map_err(|e| format!("mkdir {}: {e}", p.display()))?;
    }
    std::fs::write(path, content).map_err(|e| format!("write {}: {e}", path.display()))
}

fn populate_marker(dir: &Path, file: &str) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(dir);
    write(&dir.join(file), b"marker\n")
}

/// A real root's live export, finished: live-boot's module list puts the
/// checker layer (`live/netinit-checker.squashfs`) over the root's image,
/// and `nfs-only.txt` carries `only`, the file the checker reads to prove
/// it runs on the NFS root.
pub fn checker_export(dir: PathBuf, only: &[u8], pseudo: &str) -> Result<Export, String> {
    // live-boot's list, bottom first.
    std::fs::write(
        dir.join("live/filesystem.module"),
        "filesystem.squashfs\nnetinit-checker.squashfs\n",
    )
    .map_err(|e| e.to_string())?;
    std::fs::write(dir.join("nfs-only.txt"), only).map_err(|e| e.to_string())?;
    Ok(Export {
        pseudo: pseudo.into(),
        path: dir,
        rw: false,
    })
}
