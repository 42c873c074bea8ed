//! Transport scenarios beyond one NFS server: one export shared by
//! several guests under RAM overlays, an NFS server list with the first
//! server down, and NBD roots from nbd-server and nbdkit.
//!
//! The shared-root pair boots at once against one read-write export; the
//! server side is checked afterwards: the export is byte for byte what it
//! was before the boots.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::lab::SERVER;
use crate::scenarios::{Expect, Initrd, Scenario, nic, pass};

/// The guests that boot together from one export.
pub const SHARED: [&str; 2] = ["shared-root-a", "shared-root-b"];
/// The export they share (a diskless root, exported read-write so only
/// netinit's read-only mount keeps it unchanged).
const SHARED_EXPORT: &str = "shared";

fn scenario(name: &'static str, what: &'static str, cmdline: String, expect: Expect) -> Scenario {
    Scenario {
        name,
        what,
        nics: vec![nic("virtio-net-pci")],
        pxe: false,
        cmdline,
        diskless: None,
        root_path: None,
        expect,
        timeout_secs: 150,
        initrd: Initrd::Netinit,
    }
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
    out
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
