//! Assembling the archive: module closure, firmware, subset index, agent.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use netinit_core::cpio::{Archive, Kind};
use netinit_core::kmod::{ModuleIndex, normalize};

/// What to build.
#[derive(Debug)]
pub struct Spec {
    pub moddir: String,
    pub kver: Option<String>,
    pub modules: Vec<String>,
    pub agent: Option<String>,
    /// A static shell for /bin/sh (the rescue shell).
    pub shell: Option<String>,
    pub source_date_epoch: Option<String>,
}

/// The uncompressed result and facts for the summary.
#[derive(Debug)]
pub struct Built {
    pub cpio: Vec<u8>,
    pub kver: String,
    pub modules: Vec<String>,
    pub firmware: usize,
    pub firmware_missing: usize,
    pub agent_size: u64,
    /// Size of /bin/sh, when a shell was put in.
    pub shell_size: Option<u64>,
    pub notes: Vec<String>,
}

/// Common NICs: what PCs, servers and VMs boot from.
const NICS: &[&str] = &[
    "e1000",
    "e1000e",
    "igb",
    "igc",
    "ixgbe",
    "r8169",
    "8139too",
    "8139cp",
    "tg3",
    "bnx2",
    "atl1c",
    "alx",
    "sky2",
    "forcedeth",
    "virtio_pci",
    "virtio_net",
    "vmxnet3",
];

/// Expands `@group`s and splits lists. Group members the kernel lacks are
/// skipped (noted); named modules it lacks are errors, later.
fn expand(
    lists: &[String],
    index: &ModuleIndex,
    notes: &mut Vec<String>,
) -> Result<(Vec<String>, BTreeSet<String>), String> {
    let mut names = Vec::new();
    let mut from_groups = BTreeSet::new();
    for item in lists
        .iter()
        .flat_map(|l| l.split([':', ',']))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let members: Vec<String> = match item {
            "@nfs" => ["nfs", "nfsv3", "nfsv4"].map(String::from).to_vec(),
            // isofs: an ISO fetched over HTTP (url=) is loop-mounted.
            "@live" => ["squashfs", "overlay", "loop", "isofs"]
                .map(String::from)
                .to_vec(),
            // An NBD root's filesystem is added by name (ext4 is 2 MB).
            "@nbd" => vec!["nbd".to_owned()],
            "@virtio" => ["virtio_pci", "virtio_net"].map(String::from).to_vec(),
            "@nics" => NICS.iter().map(|s| s.to_string()).collect(),
            "@ethernet" => {
                let mut all: Vec<String> = index
                    .modules
                    .iter()
                    .filter(|(_, m)| m.path.contains("/drivers/net/ethernet/"))
                    .map(|(n, _)| n.clone())
                    .collect();
                all.extend(["virtio_pci", "virtio_net", "vmxnet3"].map(String::from));
                all
            }
            g if g.starts_with('@') => {
                return Err(format!(
                    "unknown group {g} (groups: @nfs @live @nbd @nics @virtio @ethernet)"
                ));
            }
            name => {
                names.push(normalize(name));
                continue;
            }
        };
        let (present, absent): (Vec<String>, Vec<String>) =
            members.into_iter().partition(|m| index.resolve(m).is_ok());
        if !absent.is_empty() {
            notes.push(format!("{item}: not in this kernel: {}", absent.join(" ")));
        }
        from_groups.extend(present.iter().cloned());
        names.extend(present);
    }
    Ok((names, from_groups))
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Up to five module names close to `name`.
pub fn close_matches(name: &str, index: &ModuleIndex) -> Vec<String> {
    let mut scored: Vec<(usize, &String)> = index
        .modules
        .keys()
        .chain(index.builtin.iter())
        .map(|m| {
            (
                if m.contains(name) || name.contains(m.as_str()) {
                    1
                } else {
                    distance(name, m)
                },
                m,
            )
        })
        .filter(|(d, _)| *d <= 2.max(name.len() / 4))
        .collect();
    scored.sort();
    scored.into_iter().take(5).map(|(_, m)| m.clone()).collect()
}

fn pick_kver(root: &Path, wanted: Option<&str>) -> Result<String, String> {
    let lib = root.join("lib/modules");
    let mut versions: Vec<String> = std::fs::read_dir(&lib)
        .map_err(|e| format!("{}: {e} (hint: --moddir must hold lib/modules/KVER, e.g. an extracted linux-image .deb)", lib.display()))?
        .flatten()
        .filter(|e| e.path().join("modules.dep").is_file() || e.path().join("kernel").is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    versions.sort();
    match wanted {
        Some(k) if versions.iter().any(|v| v == k) => Ok(k.to_owned()),
        Some(k) => Err(format!(
            "no {}/{k} (present: {})",
            lib.display(),
            if versions.is_empty() {
                "none".into()
            } else {
                versions.join(", ")
            }
        )),
        None => match versions.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(format!(
                "no kernel under {} (hint: --moddir an extracted kernel package)",
                lib.display()
            )),
            many => Err(format!(
                "several kernels under {}: {}; pick one with --kver",
                lib.display(),
                many.join(", ")
            )),
        },
    }
}

/// The static netinit beside this tool: in the same directory, or the
/// workspace's musl build.
pub fn find_agent(explicit: Option<&str>) -> Result<PathBuf, String> {
    if let Some(p) = explicit {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot locate myself: {e}"))?;
    let mut tried = Vec::new();
    for dir in exe.ancestors().skip(1) {
        for cand in [
            dir.join("netinit"),
            dir.join("target/x86_64-unknown-linux-musl/release/netinit"),
            dir.join("x86_64-unknown-linux-musl/release/netinit"),
        ] {
            if let Ok(bytes) = std::fs::read(&cand) {
                if netinit_core::elf::has_interpreter(&bytes) == Some(false) {
                    return Ok(cand);
                }
            }
            tried.push(cand.display().to_string());
        }
        if tried.len() > 12 {
            break;
        }
    }
    Err("no static netinit found beside netinit-mkinitrd (hint: cargo build --release -p netinit --target x86_64-unknown-linux-musl, or --agent PATH)".into())
}

pub fn build(spec: &Spec) -> Result<Built, String> {
    let root = PathBuf::from(&spec.moddir);
    let kver = pick_kver(&root, spec.kver.as_deref())?;
    let moddir = resolve_in(&root, &format!("lib/modules/{kver}"))?;
    let read = |name: &str, required: bool| match std::fs::read_to_string(moddir.join(name)) {
        Ok(text) => Ok(text),
        Err(e) if required => Err(format!(
            "{}: {e} (hint: run depmod -b {} {kver})",
            moddir.join(name).display(),
            root.display()
        )),
        Err(_) => Ok(String::new()),
    };
    let index = ModuleIndex::read(read, |e| format!("{}: {e}", moddir.display()))?;

    let mut notes = Vec::new();
    let (names, _) = expand(&spec.modules, &index, &mut notes)?;
    let (order, unknown) = index.load_order(&names);
    if let Some(netinit_core::kmod::ResolveError::Unknown(bad)) = unknown.first() {
        let close = close_matches(bad, &index);
        let hint = if close.is_empty() {
            String::new()
        } else {
            format!("; did you mean {}?", close.join(", "))
        };
        return Err(format!("unknown module '{bad}' for kernel {kver}{hint}"));
    }
    coverage_notes(&index, &names, &order, &mut notes);

    let mut archive = Archive::new();
    let (firmware, firmware_missing) =
        pack_modules(&mut archive, &root, &kver, &index, &order, &mut notes)?;

    let agent = find_agent(spec.agent.as_deref())?;
    let agent_bytes = read_static(
        &agent,
        "/init must be static (build with --target x86_64-unknown-linux-musl)",
    )?;
    let agent_size = agent_bytes.len() as u64;
    archive.file("init", 0o755, agent_bytes)?;
    archive.add("dev/console", 0o600, Kind::CharDev(5, 1))?;
    // The initrd has no libraries, so the shell must be static too.
    let shell_size = match &spec.shell {
        Some(sh) => {
            let bytes = read_static(
                Path::new(sh),
                "the initrd has no libraries for it (use a static shell such as busybox-static's /bin/busybox)",
            )?;
            let n = bytes.len() as u64;
            archive.file("bin/sh", 0o755, bytes)?;
            Some(n)
        }
        None => None,
    };

    let mtime = match &spec.source_date_epoch {
        Some(s) => s
            .trim()
            .parse::<u32>()
            .map_err(|_| format!("SOURCE_DATE_EPOCH '{s}' is not a number of seconds"))?,
        None => 0,
    };
    Ok(Built {
        cpio: archive.write(mtime),
        kver,
        modules: order,
        firmware,
        firmware_missing,
        agent_size,
        shell_size,
        notes,
    })
}

/// Notes on what the module set leaves out: NFS or live-image support,
/// and names that are built into the kernel anyway.
fn coverage_notes(
    index: &ModuleIndex,
    names: &[String],
    order: &[String],
    notes: &mut Vec<String>,
) {
    for (what, needed) in [
        ("an NFS root", &["nfs"][..]),
        ("live images", &["squashfs", "overlay", "loop"][..]),
    ] {
        let missing: Vec<&str> = needed
            .iter()
            .copied()
            .filter(|m| !index.is_builtin(m) && !order.iter().any(|o| o == m))
            .collect();
        if !missing.is_empty() {
            notes.push(format!(
                "no {} in the initrd: {what} will not mount (add @nfs / @live)",
                missing.join(" ")
            ));
        }
    }
    let builtin: Vec<&String> = names.iter().filter(|n| index.is_builtin(n)).collect();
    if !builtin.is_empty() {
        notes.push(format!(
            "built into this kernel, nothing to add: {}",
            builtin
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
}

/// Packs the modules in `order`, the firmware they name (counted as found
/// and missing) and the index of just those modules.
fn pack_modules(
    archive: &mut Archive,
    root: &Path,
    kver: &str,
    index: &ModuleIndex,
    order: &[String],
    notes: &mut Vec<String>,
) -> Result<(usize, usize), String> {
    let prefix = format!("lib/modules/{kver}");
    let (mut firmware, mut firmware_missing) = (BTreeSet::new(), BTreeSet::new());
    for name in order {
        let Some(m) = index.modules.get(name) else {
            continue;
        };
        let rel = format!("lib/modules/{kver}/{}", m.path);
        let path = resolve_in(root, &rel)?;
        let bytes = std::fs::read(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
        for fw in netinit_core::elf::modinfo(&bytes, "firmware") {
            if let Some(why) = netinit_core::cpio::escapes(&fw) {
                notes.push(format!("{name}: firmware name '{fw}' {why}; not packed"));
                continue;
            }
            let found = ["", ".zst", ".xz"]
                .iter()
                .map(|ext| format!("{fw}{ext}"))
                .find(|f| {
                    resolve_in(root, &format!("lib/firmware/{f}")).is_ok_and(|p| p.is_file())
                });
            match found {
                Some(f) => {
                    firmware.insert(f);
                }
                None => {
                    firmware_missing.insert(fw);
                }
            }
        }
        archive.file(&format!("{prefix}/{}", m.path), 0o644, bytes)?;
    }
    for fw in &firmware {
        let p = resolve_in(root, &format!("lib/firmware/{fw}"))?;
        let bytes = std::fs::read(&p).map_err(|e| format!("read {}: {e}", p.display()))?;
        archive.file(&format!("lib/firmware/{fw}"), 0o644, bytes)?;
    }
    let keep: BTreeSet<String> = order.iter().cloned().collect();
    let subset = index.render_subset(&keep);
    for (f, text) in [
        ("modules.dep", subset.dep),
        ("modules.alias", subset.alias),
        ("modules.softdep", subset.softdep),
        ("modules.builtin", subset.builtin),
    ] {
        archive.file(&format!("{prefix}/{f}"), 0o644, text.into_bytes())?;
    }
    Ok((firmware.len(), firmware_missing.len()))
}

/// Symlinks followed before giving up (the kernel's own limit).
const MAX_SYMLINKS: usize = 40;

/// `rel` under `root`, with every symlink resolved as if `root` were `/`
/// (what `openat2(RESOLVE_IN_ROOT)` does): an absolute link target starts
/// again at `root`, and `..` stops at it. A module tree copied from an
/// image or a chroot then never pulls in a file of the build host.
pub fn resolve_in(root: &Path, rel: &str) -> Result<PathBuf, String> {
    let mut todo: Vec<String> = rel.split('/').rev().map(str::to_owned).collect();
    let mut done: Vec<String> = Vec::new();
    let mut links = 0;
    while let Some(c) = todo.pop() {
        match c.as_str() {
            "" | "." => continue,
            ".." => {
                done.pop();
                continue;
            }
            _ => {}
        }
        let here = done
            .iter()
            .fold(root.to_path_buf(), |p, d| p.join(d))
            .join(&c);
        match std::fs::symlink_metadata(&here) {
            Ok(m) if m.file_type().is_symlink() => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(format!(
                        "{}: more than {MAX_SYMLINKS} symlinks under {} (a loop?)",
                        rel,
                        root.display()
                    ));
                }
                let target = std::fs::read_link(&here)
                    .map_err(|e| format!("readlink {}: {e}", here.display()))?;
                let target = target.to_string_lossy().into_owned();
                if target.starts_with('/') {
                    done.clear();
                }
                todo.extend(target.split('/').rev().map(str::to_owned));
            }
            // A missing component ends the walk; the caller's read reports it.
            _ => done.push(c),
        }
    }
    Ok(done.iter().fold(root.to_path_buf(), |p, d| p.join(d)))
}

/// Reads an executable for the initrd, which must be a static x86_64 ELF;
/// `why` says why when it is dynamically linked.
pub fn read_static(path: &Path, why: &str) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    match netinit_core::elf::has_interpreter(&bytes) {
        Some(false) => Ok(bytes),
        Some(true) => Err(format!("{} is dynamically linked; {why}", path.display())),
        None => Err(format!("{} is not an x86_64 ELF binary", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names() {
        let idx = ModuleIndex::parse("kernel/a/e1000e.ko:\nkernel/a/e1000.ko:\nkernel/a/virtio_net.ko:\nkernel/b/nfsv3.ko:\n", "", "", "").unwrap();
        assert_eq!(close_matches("e1000x", &idx), ["e1000", "e1000e"]);
        assert_eq!(close_matches("virtionet", &idx), ["virtio_net"]);
        assert!(close_matches("zzzzzz", &idx).is_empty());
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn groups_expand_and_note_what_is_missing() {
        let idx = ModuleIndex::parse("kernel/fs/nfs/nfs.ko:\nkernel/fs/nfs/nfsv3.ko:\nkernel/drivers/net/ethernet/intel/e1000.ko:\n", "", "", "kernel/fs/squashfs/squashfs.ko\n").unwrap();
        let mut notes = Vec::new();
        let (names, _) = expand(
            &["@nfs:e1000".into(), "@live,@ethernet".into()],
            &idx,
            &mut notes,
        )
        .unwrap();
        assert_eq!(names, ["nfs", "nfsv3", "e1000", "squashfs", "e1000"]);
        assert_eq!(
            notes,
            [
                "@nfs: not in this kernel: nfsv4",
                "@live: not in this kernel: overlay loop isofs",
                "@ethernet: not in this kernel: virtio_pci virtio_net vmxnet3"
            ]
        );
        assert!(
            expand(&["@bogus".into()], &idx, &mut notes)
                .unwrap_err()
                .contains("unknown group @bogus")
        );
    }
}
