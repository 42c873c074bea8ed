//! `--append-to INITRD --network-only`: netinit and initramfs-tools'
//! network-only hook added to a distribution's own initrd, without
//! mkinitramfs. The distribution's /init, boot scripts and modules stay;
//! the appended segment adds /sbin/netinit, the init-premount script, that
//! directory's ORDER with the script's lines appended (the kernel unpacks
//! segments in order, so this ORDER replaces the old one), and live-boot's
//! ipconfig guard when the initrd has live-boot.

use netinit_core::cpio::{Archive, Entry, Kind};

/// The init-premount script, as installed by the initramfs-tools hook.
const PREMOUNT: &str =
    include_str!("../../../initramfs-hooks/initramfs-tools/scripts/init-premount/netinit");
/// The build hook, which carries live-boot's guard between these lines.
const BUILD_HOOK: &str = include_str!("../../../initramfs-hooks/initramfs-tools/hooks/netinit");
const GUARD_START: &str = "<<'LIVEBOOT'\n";
const GUARD_END: &str = "\nLIVEBOOT\n";
const GUARD_PATH: &str = "lib/live/boot/9990-netinit.sh";
const ORDER: &str = "scripts/init-premount/ORDER";

/// live-boot's ipconfig guard, from the build hook (one source for both).
pub fn live_boot_guard() -> Option<&'static str> {
    let start = BUILD_HOOK.find(GUARD_START)? + GUARD_START.len();
    let len = BUILD_HOOK[start..].find(GUARD_END)?;
    Some(&BUILD_HOOK[start..start + len + 1])
}

/// The file at `path` as the kernel would leave it: the last segment's.
fn last<'a>(entries: &'a [(usize, Entry)], path: &str) -> Option<&'a Entry> {
    entries
        .iter()
        .rev()
        .map(|(_, e)| e)
        .find(|e| e.path == path)
}

/// `path` with its directories resolved through the base initrd's
/// symlinks (a merged-/usr initrd has `sbin -> usr/sbin`, `lib -> usr/lib`):
/// the kernel replaces an entry of another type when it unpacks, so a
/// `sbin` directory in the new segment would drop the base's `/sbin`.
fn in_base(base: &[(usize, Entry)], path: &str) -> String {
    let mut parts: Vec<String> = path.split('/').map(String::from).collect();
    let mut i = 0;
    let mut hops = 0;
    while i + 1 < parts.len() && hops < 16 {
        let prefix = parts[..=i].join("/");
        match last(base, &prefix).map(|e| &e.kind) {
            Some(Kind::Symlink(target)) => {
                hops += 1;
                let target = match target.strip_prefix('/') {
                    Some(abs) => abs.to_owned(),
                    None => {
                        let dir = parts[..i].join("/");
                        if dir.is_empty() {
                            target.clone()
                        } else {
                            format!("{dir}/{target}")
                        }
                    }
                };
                // `..` stops at the initrd's root, as it would at boot.
                let mut next: Vec<String> = Vec::new();
                for c in target.split('/') {
                    match c {
                        "" | "." => {}
                        ".." => {
                            next.pop();
                        }
                        c => next.push(c.to_owned()),
                    }
                }
                next.extend(parts[i + 1..].iter().cloned());
                parts = next;
                i = 0;
            }
            _ => i += 1,
        }
    }
    parts.join("/")
}

/// The segment to append to an initramfs-tools initrd whose entries are
/// `base`: what it adds, for the summary, and the archive.
pub fn segment(base: &[(usize, Entry)], agent: Vec<u8>) -> Result<(Archive, Vec<String>), String> {
    if last(base, "scripts/functions").is_none() || last(base, "init").is_none() {
        return Err(
            "--network-only: the initrd has no /init and /scripts/functions: not an initramfs-tools initrd (for dracut and mkinitcpio, use their netinit module and hook)"
                .into(),
        );
    }
    let order = match last(base, ORDER).map(|e| &e.kind) {
        Some(Kind::File(d)) => String::from_utf8_lossy(d).into_owned(),
        _ => String::new(),
    };
    if order.contains("/scripts/init-premount/netinit ") {
        return Err("--network-only: the initrd already runs netinit in init-premount".into());
    }
    let mut a = Archive::new();
    let mut added = vec!["/sbin/netinit".to_owned()];
    a.file(&in_base(base, "sbin/netinit"), 0o755, agent)?;
    a.file(
        &in_base(base, "scripts/init-premount/netinit"),
        0o755,
        PREMOUNT.as_bytes().to_vec(),
    )?;
    added.push("/scripts/init-premount/netinit".into());
    // The same two lines initramfs-tools writes for each script.
    let mut new_order = order;
    if !new_order.is_empty() && !new_order.ends_with('\n') {
        new_order.push('\n');
    }
    new_order.push_str(
        "/scripts/init-premount/netinit \"$@\"\n[ -e /conf/param.conf ] && . /conf/param.conf\n",
    );
    a.file(&in_base(base, ORDER), 0o644, new_order.into_bytes())?;
    added.push(format!("/{ORDER}"));
    let guard_path = in_base(base, GUARD_PATH);
    let live_dir = guard_path.trim_end_matches("9990-netinit.sh");
    if base.iter().any(|(_, e)| e.path.starts_with(live_dir)) {
        let guard = live_boot_guard().ok_or("the build hook lost live-boot's guard")?;
        a.file(&guard_path, 0o644, guard.as_bytes().to_vec())?;
        added.push(format!("/{GUARD_PATH}"));
    }
    Ok((a, added))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> (usize, Entry) {
        (
            1,
            Entry {
                path: path.into(),
                perm: 0o755,
                kind: Kind::File(text.as_bytes().to_vec()),
            },
        )
    }

    fn text(a: &Archive, path: &str) -> String {
        match &a.entries().find(|e| e.path == path).unwrap().kind {
            Kind::File(d) => String::from_utf8(d.clone()).unwrap(),
            _ => panic!("{path} is not a file"),
        }
    }

    fn link(path: &str, target: &str) -> (usize, Entry) {
        (
            1,
            Entry {
                path: path.into(),
                perm: 0o777,
                kind: Kind::Symlink(target.into()),
            },
        )
    }

    #[test]
    fn a_merged_usr_initrd_keeps_its_links() {
        let base = vec![
            file("init", "#!/bin/sh"),
            file("scripts/functions", ""),
            link("sbin", "usr/sbin"),
            link("lib", "/usr/lib"),
            link("usr/lib/live/x", "../y"),
            file("usr/lib/live/boot/9990-main.sh", ""),
        ];
        assert_eq!(in_base(&base, "sbin/netinit"), "usr/sbin/netinit");
        assert_eq!(
            in_base(&base, "lib/live/boot/a.sh"),
            "usr/lib/live/boot/a.sh"
        );
        assert_eq!(in_base(&base, "lib/live/x/z"), "usr/lib/y/z");
        assert_eq!(
            in_base(&base, "scripts/init-premount/ORDER"),
            "scripts/init-premount/ORDER"
        );
        let (a, _) = segment(&base, vec![]).unwrap();
        let paths: Vec<&str> = a.entries().map(|e| e.path.as_str()).collect();
        assert!(
            !paths.contains(&"sbin") && !paths.contains(&"lib"),
            "{paths:?}"
        );
        assert!(paths.contains(&"usr/sbin/netinit"), "{paths:?}");
        assert!(
            paths.contains(&"usr/lib/live/boot/9990-netinit.sh"),
            "{paths:?}"
        );
    }

    #[test]
    fn the_guard_comes_from_the_build_hook() {
        let g = live_boot_guard().unwrap();
        assert!(g.starts_with("# netinit: skip ipconfig"), "{g}");
        assert!(g.contains("command ipconfig \"$@\""));
        assert!(g.ends_with("}\n"), "{g}");
    }

    #[test]
    fn appends_to_the_premount_order_and_guards_live_boot() {
        let base = vec![
            file("init", "#!/bin/sh"),
            file("scripts/functions", ""),
            file(
                ORDER,
                "/scripts/init-premount/resume \"$@\"\n[ -e /conf/param.conf ] && . /conf/param.conf\n",
            ),
            file("lib/live/boot/9990-main.sh", ""),
        ];
        let (a, added) = segment(&base, b"\x7fELF".to_vec()).unwrap();
        assert_eq!(
            text(&a, ORDER),
            "/scripts/init-premount/resume \"$@\"\n[ -e /conf/param.conf ] && . /conf/param.conf\n/scripts/init-premount/netinit \"$@\"\n[ -e /conf/param.conf ] && . /conf/param.conf\n"
        );
        assert_eq!(text(&a, "scripts/init-premount/netinit"), PREMOUNT);
        assert!(added.contains(&format!("/{GUARD_PATH}")));
        // Twice is refused; so is an initrd that is not initramfs-tools'.
        let mut again = base.clone();
        again.push((2, a.entries().find(|e| e.path == ORDER).unwrap().clone()));
        assert!(segment(&again, vec![]).unwrap_err().contains("already"));
        assert!(
            segment(&base[1..], vec![])
                .unwrap_err()
                .contains("not an initramfs-tools initrd")
        );
        // No live-boot: no guard; no ORDER yet: just the script's lines.
        let (a, added) = segment(&base[..2], vec![]).unwrap();
        assert!(!added.iter().any(|p| p.contains("live")));
        assert!(text(&a, ORDER).starts_with("/scripts/init-premount/netinit"));
    }
}
