//! Transport scenarios beyond one NFS server: one export shared by
//! several guests under RAM overlays, an NFS server list with the first
//! server down, and NBD roots from nbd-server and nbdkit.
//!
//! The shared-root pair boots at once against one read-write export; the
//! server side is checked afterwards: the export is byte for byte what it
//! was before the boots.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use std::process::Command;
use std::time::{Duration, Instant};

use crate::lab::{Lab, SERVER};
use crate::scenario::netinit_boot;
use crate::scenario::{Expect, Scenario, pass};
use crate::util::run;

/// The guests that boot together from one export.
pub const SHARED: [&str; 2] = ["shared-root-a", "shared-root-b"];
/// The export they share (a diskless root, exported read-write so only
/// netinit's read-only mount keeps it unchanged).
const SHARED_EXPORT: &str = "shared";

fn scenario(name: &'static str, what: &'static str, cmdline: String, expect: Expect) -> Scenario {
    netinit_boot(name, what, cmdline, expect, 150)
}

pub fn all() -> Vec<Scenario> {
    let s = SERVER;
    let mut out = Vec::new();
    for name in SHARED {
        let mut sc = scenario(
            name,
            "one read-write export, two guests at once, each under netinit.overlay=1: NFS read-only \
             below a tmpfs, each writes its own /etc/hostname into RAM; the export is unchanged \
             on the server afterwards",
            format!("root=/dev/nfs nfsroot={s}:/export/{SHARED_EXPORT} netinit.overlay=1 ip=dhcp"),
            pass(&[
                ("root", "overlay"),
                ("proto", "dhcp"),
                ("overlay", "1"),
                ("hostname", &format!("lab-{name}")),
            ]),
        );
        sc.diskless = Some(SHARED_EXPORT.into());
        out.push(sc);
    }
    let mut failover = scenario(
        "nfs-failover",
        "netinit.nfs_servers=10.77.0.9,10.77.0.1: the first server is down (no host answers), its \
         two attempts time out, the second serves; the log names the server that served",
        format!("root=/dev/nfs nfsroot=/export/failover netinit.nfs_servers=10.77.0.9,{s} ip=dhcp"),
        Expect::Console(
            Box::new(pass(&[("root", "nfs"), ("proto", "dhcp"), ("server", s)])),
            "server 10.77.0.1 served the root (server 2 of 2 in netinit.nfs_servers) after 10.77.0.9 failed",
        ),
    );
    failover.diskless = Some("failover".into());
    out.push(failover);
    let nbd = |name, what, cmdline: String, fs: &str, root: &str| {
        scenario(
            name,
            what,
            cmdline,
            pass(&[("root", root), ("proto", "dhcp"), ("nbd", fs)]),
        )
    };
    out.extend([
        nbd(
            "nbd-server-squashfs",
            "root=nbd:SERVER:PORT/EXPORT from nbd-server, fstype from the superblock: squashfs directly \
             on /dev/nbd0 under a tmpfs overlay; the handshake in netinit, the socket handed to the \
             kernel over netlink; after switch_root the caches are dropped and every file re-read",
            format!("root=nbd:{s}:{NBD_SERVER_PORT}/sqfs ip=dhcp"),
            "squashfs",
            "overlay",
        ),
        nbd(
            "nbd-server-ext4",
            "an ext4 root read-write from nbd-server (root=nbd:…:ext4): a write is synced through the \
             kernel's NBD connection after switch_root",
            format!("root=nbd:{s}:{NBD_SERVER_PORT}/ext4:ext4 ip=dhcp"),
            "ext4",
            "ext4",
        ),
        nbd(
            "nbdkit-squashfs",
            "the same squashfs from nbdkit's file plugin (export names are file names), fstype named",
            format!("root=nbd:{s}:{NBDKIT_PORT}/root.squashfs:squashfs ip=dhcp"),
            "squashfs",
            "overlay",
        ),
        nbd(
            "nbdkit-ext4",
            "an ext4 root from nbdkit, fstype from the superblock, with rootflags (noatime)",
            format!("root=nbd:{s}:{NBDKIT_PORT}/kit.ext4::noatime ip=dhcp"),
            "ext4",
            "ext4",
        ),
        nbd(
            "nbdkit-curl-squashfs",
            "the scale-out path of docs/recipes.md: nbdkit's curl plugin serves the squashfs that \
             lives on an HTTP server (nginx, range requests); the default export, fstype from the \
             superblock",
            format!("root=nbd:{s}:{NBDKIT_CURL_PORT} ip=dhcp"),
            "squashfs",
            "overlay",
        ),
    ]);
    out
}

const NBD_SERVER_PORT: u16 = 10809;
const NBDKIT_PORT: u16 = 10810;
const NBDKIT_CURL_PORT: u16 = 10811;
const HTTP_PORT: u16 = 8089;

pub fn is_nbd(name: &str) -> bool {
    name.starts_with("nbd-server-") || name.starts_with("nbdkit-")
}

/// The images (the checker root as squashfs and as ext4, with the
/// `nfs-only.txt` the checker reads) and both servers, in the lab's netns.
pub fn start_nbd(lab: &mut Lab, work: &Path) -> Result<(), String> {
    let dir = work.join("nbd");
    let stage = dir.join("stage");
    let kit = dir.join("nbdkit");
    std::fs::create_dir_all(&kit).map_err(|e| format!("{}: {e}", kit.display()))?;
    let _ = std::fs::remove_dir_all(&stage);
    run(Command::new("cp")
        .arg("-a")
        .arg(work.join("stage/full"))
        .arg(&stage))?;
    std::fs::write(stage.join("nfs-only.txt"), "nfs-only\n").map_err(|e| e.to_string())?;
    let sqfs = dir.join("root.squashfs");
    crate::roots::squash(&stage, &sqfs)?;
    std::fs::copy(&sqfs, kit.join("root.squashfs")).map_err(|e| e.to_string())?;
    // Each read-write root gets its own image.
    for img in [dir.join("root.ext4"), kit.join("kit.ext4")] {
        run(Command::new("mkfs.ext4")
            .args(["-q", "-F", "-L", "netinit-nbd", "-d"])
            .arg(&stage)
            .arg(&img)
            .arg("32M"))?;
    }
    let conf = dir.join("nbd-server.conf");
    std::fs::write(
        &conf,
        format!(
            "[generic]\n    user = root\n    group = root\n    listenaddr = {SERVER}\n    port = {NBD_SERVER_PORT}\n\
             [sqfs]\n    exportname = {}\n    readonly = true\n\
             [ext4]\n    exportname = {}\n",
            sqfs.display(),
            dir.join("root.ext4").display()
        ),
    )
    .map_err(|e| e.to_string())?;
    // nbd-server puts itself in the background; its pid file says where.
    let pidfile = dir.join("nbd-server.pid");
    run(lab
        .in_ns("nbd-server")
        .arg("-C")
        .arg(&conf)
        .arg("-p")
        .arg(&pidfile))?;
    let start = Instant::now();
    let pid = loop {
        if let Some(pid) = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok())
        {
            break pid;
        }
        if start.elapsed() > Duration::from_secs(5) {
            return Err(format!("nbd-server wrote no pid to {}", pidfile.display()));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    lab.adopt_daemon(pid, "nbd-server");
    lab.start_daemon(
        "nbdkit",
        &[
            "-f".into(),
            "-i".into(),
            SERVER.into(),
            "-p".into(),
            NBDKIT_PORT.to_string(),
            "file".into(),
            format!("dir={}", kit.display()),
        ],
        "nbdkit.log",
    )?;
    // The image on an HTTP server, and nbdkit's curl plugin in front of it.
    let nginx = dir.join("nginx.conf");
    std::fs::write(
        &nginx,
        format!(
            "daemon off;\npid {pid};\nerror_log {log};\nevents {{}}\n\
             http {{ access_log {access}; server {{ listen {SERVER}:{HTTP_PORT}; root {root}; }} }}\n",
            pid = dir.join("nginx.pid").display(),
            log = work.join("logs/nbd-nginx-error.log").display(),
            access = work.join("logs/nbd-nginx-access.log").display(),
            root = kit.display(),
        ),
    )
    .map_err(|e| e.to_string())?;
    lab.start_daemon(
        "nginx",
        &[
            "-c".into(),
            nginx.display().to_string(),
            "-e".into(),
            work.join("logs/nbd-nginx-error.log").display().to_string(),
        ],
        "nbd-nginx.out",
    )?;
    lab.start_daemon(
        "env",
        &[
            // Only the lab's own server, whatever the host's proxy settings.
            "-u".into(),
            "http_proxy".into(),
            "-u".into(),
            "HTTP_PROXY".into(),
            "-u".into(),
            "all_proxy".into(),
            "nbdkit".into(),
            "-f".into(),
            "-r".into(),
            "-i".into(),
            SERVER.into(),
            "-p".into(),
            NBDKIT_CURL_PORT.to_string(),
            "curl".into(),
            format!("url=http://{SERVER}:{HTTP_PORT}/root.squashfs"),
        ],
        "nbdkit-curl.log",
    )?;
    Ok(())
}

pub fn is_shared(name: &str) -> bool {
    SHARED.contains(&name)
}

/// Every file under `dir` with its size, mode and contents' hash.
fn snapshot(dir: &Path) -> Result<BTreeMap<PathBuf, (u64, u32, u64)>, String> {
    use std::hash::{Hash, Hasher};
    use std::os::unix::fs::MetadataExt;
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
            let e = e.map_err(|e| e.to_string())?;
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            let mut h = std::collections::hash_map::DefaultHasher::new();
            if m.is_dir() {
                todo.push(p.clone());
            } else if m.is_file() {
                std::fs::read(&p)
                    .map_err(|e| format!("{}: {e}", p.display()))?
                    .hash(&mut h);
            } else if m.file_type().is_symlink() {
                std::fs::read_link(&p)
                    .map_err(|e| e.to_string())?
                    .hash(&mut h);
            }
            let rel = p
                .strip_prefix(dir)
                .map_err(|e| e.to_string())?
                .to_path_buf();
            out.insert(rel, (m.len(), m.mode(), h.finish()));
        }
    }
    Ok(out)
}

type Done = (usize, crate::Row, Result<String, String>);

/// Boots the shared-root guests with `boot` (all at once) and fails every
/// row if the export changed on the server.
pub fn run_shared(work: &Path, boot: impl FnOnce() -> Vec<Done>) -> Vec<Done> {
    let export = work.join("export").join(SHARED_EXPORT);
    let before = snapshot(&export);
    let mut rows = boot();
    let verdict = match (before, snapshot(&export)) {
        (Ok(b), Ok(a)) => export_unchanged(&b, &a),
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    match &verdict {
        Ok(d) => eprintln!("netinit-lab: shared root, server side: {d}"),
        Err(e) => eprintln!("netinit-lab: shared root, server side: FAIL: {e}"),
    }
    for (_, row, v) in &mut rows {
        match (&verdict, &v) {
            (Ok(d), Ok(g)) => *v = Ok(format!("{g}; {d}")),
            (Err(e), Ok(_)) => {
                row.2 = "FAIL".into();
                *v = Err(format!("server side: {e}"));
            }
            _ => {}
        }
    }
    rows
}

fn export_unchanged(
    before: &BTreeMap<PathBuf, (u64, u32, u64)>,
    after: &BTreeMap<PathBuf, (u64, u32, u64)>,
) -> Result<String, String> {
    let changed: Vec<String> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .map(|k| k.display().to_string())
        .collect();
    if let Some(first) = changed.first() {
        return Err(format!(
            "the export changed: {} path(s), first {first}",
            changed.len()
        ));
    }
    if after.contains_key(Path::new("etc/hostname")) {
        return Err("the export has an etc/hostname".into());
    }
    Ok(format!(
        "export unchanged on the server ({} paths)",
        after.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_export_is_named() {
        let mut b = BTreeMap::new();
        b.insert(PathBuf::from("sbin/init"), (10, 0o755, 1));
        assert!(export_unchanged(&b, &b).is_ok());
        let mut a = b.clone();
        a.insert(PathBuf::from("etc/hostname"), (5, 0o644, 2));
        assert!(
            export_unchanged(&b, &a)
                .unwrap_err()
                .contains("first etc/hostname")
        );
        let mut c = b.clone();
        c.insert(PathBuf::from("sbin/init"), (10, 0o755, 3));
        assert!(export_unchanged(&b, &c).is_err());
    }

    #[test]
    fn snapshot_sees_contents() {
        let d = std::env::temp_dir().join(format!("netinit-snap-{}", std::process::id()));
        std::fs::create_dir_all(d.join("etc")).unwrap();
        std::fs::write(d.join("etc/x"), "one").unwrap();
        let one = snapshot(&d).unwrap();
        std::fs::write(d.join("etc/x"), "two").unwrap();
        let two = snapshot(&d).unwrap();
        std::fs::remove_dir_all(&d).unwrap();
        assert_eq!(one.len(), 2);
        assert!(export_unchanged(&one, &two).is_err());
    }
}
