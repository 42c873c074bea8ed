//! Finding the live image(s) on the mounted NFS root, per layout, and the
//! `toram` arithmetic. Pure: directory listing and file reading are
//! injected, so every layout's search is a table test.
//!
//! Orders follow the peers' scripts: images are returned bottom layer
//! first, and the overlay puts later images on top (live-boot and casper
//! both prepend each mounted image to their lower-dir list).

use std::fmt;

use crate::config::LiveLayout;
use crate::size::OverlaySize;

/// The live image layout to look for on the mounted root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LivePlan {
    pub layout: LiveLayout,
    /// Folder on the NFS root holding the image(s): `casper`, `live`,
    /// `arch` (archisobasedir), or linomad's `sys=` path tail.
    pub base_dir: Option<String>,
    /// live-boot's `module=` (which `.module` file lists the images) or
    /// casper's `layerfs-path=` (the top layer of a layered image).
    pub module: Option<String>,
}

/// The images found, bottom layer first, as paths relative to the NFS root.
pub type Images = Vec<String>;

/// Why no image set could be chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchError {
    /// Nothing found: every path that was tried, for the error line.
    NotFound { tried: Vec<String> },
    /// A layer named by a `.module` file or by `layerfs-path=` is missing.
    MissingLayer { image: String, named_by: String },
}

impl fmt::Display for SearchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SearchError::NotFound { tried } => {
                write!(f, "no live image found: tried {}", tried.join(", "))
            }
            SearchError::MissingLayer { image, named_by } => {
                write!(f, "{image} is missing (named by {named_by})")
            }
        }
    }
}

/// Lists a directory relative to the NFS root (`""` is the root itself);
/// `None` if it does not exist.
pub type ListDir<'a> = &'a dyn Fn(&str) -> Option<Vec<String>>;
/// Reads a small text file relative to the NFS root.
pub type ReadFile<'a> = &'a dyn Fn(&str) -> Option<String>;

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// Every `*.squashfs` in `dir`, sorted by name (bottom layer first), as
/// the peers' `sort`ed shell globs (which skip dot files).
fn all_squashfs(dir: &str, list: ListDir<'_>, tried: &mut Vec<String>) -> Option<Images> {
    tried.push(join(dir, "*.squashfs"));
    let mut names: Vec<String> = list(dir)?
        .into_iter()
        .filter(|n| n.len() > ".squashfs".len() && n.ends_with(".squashfs") && !n.starts_with('.'))
        .collect();
    names.sort();
    (!names.is_empty()).then(|| names.iter().map(|n| join(dir, n)).collect())
}

fn exact(dir: &str, name: &str, list: ListDir<'_>, tried: &mut Vec<String>) -> Option<Images> {
    tried.push(join(dir, name));
    list(dir)?
        .iter()
        .any(|n| n == name)
        .then(|| vec![join(dir, name)])
}

/// Checks that every named layer is in `dir`; they are returned in order.
fn named_layers(
    dir: &str,
    names: &[String],
    named_by: &str,
    list: ListDir<'_>,
) -> Result<Images, SearchError> {
    let entries = list(dir).unwrap_or_default();
    names
        .iter()
        .map(|name| {
            if entries.iter().any(|e| e == name) {
                Ok(join(dir, name))
            } else {
                Err(SearchError::MissingLayer {
                    image: join(dir, name),
                    named_by: named_by.to_owned(),
                })
            }
        })
        .collect()
}

/// live-boot: `filesystem.NAME.module`, then `NAME.module` (NAME from
/// `module=`, default `filesystem`); each lists image names separated by
/// white space, bottom first. `#` starts a comment line (an extension:
/// live-boot would try to mount it).
fn module_file(
    dir: &str,
    module: Option<&str>,
    list: ListDir<'_>,
    read: ReadFile<'_>,
    tried: &mut Vec<String>,
) -> Option<Result<Images, SearchError>> {
    let name = module.unwrap_or("filesystem");
    let mut candidates = Vec::new();
    if module.is_some() {
        candidates.push(join(dir, &format!("filesystem.{name}.module")));
    }
    candidates.push(join(dir, &format!("{name}.module")));
    for file in candidates {
        tried.push(file.clone());
        if let Some(text) = read(&file) {
            let names: Vec<String> = text
                .lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .flat_map(str::split_whitespace)
                .map(str::to_owned)
                .collect();
            if names.is_empty() {
                continue;
            }
            return Some(named_layers(dir, &names, &file, list));
        }
    }
    None
}

/// casper's layered images (`layerfs-path=a.b.c.squashfs`): the stack is
/// `a`, `a.b`, `a.b.c`, each `.squashfs`, the longest name on top.
fn layer_chain(top: &str) -> Vec<String> {
    let stem = top.strip_suffix(".squashfs").unwrap_or(top);
    let parts: Vec<&str> = stem.split('.').collect();
    (1..=parts.len())
        .filter_map(|n| parts.get(..n))
        .map(|p| format!("{}.squashfs", p.join(".")))
        .collect()
}

/// Finds the images for `plan`. `Ok(vec![])` for a plain NFS root.
pub fn find_images(
    plan: &LivePlan,
    list: ListDir<'_>,
    read: ReadFile<'_>,
) -> Result<Images, SearchError> {
    let mut tried = Vec::new();
    let dir = plan.base_dir.as_deref().unwrap_or("");
    let found = match plan.layout {
        LiveLayout::Plain => return Ok(Vec::new()),
        LiveLayout::Casper => match plan.module.as_deref() {
            Some(top) => {
                let chain = layer_chain(top);
                return named_layers(dir, &chain, &format!("layerfs-path={top}"), list);
            }
            None => exact(dir, "filesystem.squashfs", list, &mut tried)
                .or_else(|| all_squashfs(dir, list, &mut tried)),
        },
        LiveLayout::LiveBoot => {
            match module_file(dir, plan.module.as_deref(), list, read, &mut tried) {
                Some(result) => return result,
                // An explicit module= that names no file is a typo, not a
                // request for every image (where live-boot falls back).
                None if plan.module.is_some() => None,
                None => all_squashfs(dir, list, &mut tried),
            }
        }
        LiveLayout::Archiso => exact(&join(dir, "x86_64"), "airootfs.sfs", list, &mut tried),
        LiveLayout::Linomad => all_squashfs(dir, list, &mut tried),
    };
    found.ok_or(SearchError::NotFound { tried })
}

/// `MemAvailable` from /proc/meminfo, in bytes.
pub fn mem_available(meminfo: &str) -> Option<u64> {
    meminfo.lines().find_map(|l| {
        let rest = l.strip_prefix("MemAvailable:")?;
        let kib: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
        kib.checked_mul(1024)
    })
}

/// Whether `toram` may copy `need` bytes into RAM with `available` free,
/// when the overlay's tmpfs may grow to `overlay` bytes in the same RAM:
/// the copy and the overlay together must fit, and a quarter of what is
/// free stays for the system in any case.
pub fn toram_fits(need: u64, available: u64, overlay: u64) -> bool {
    need <= available / 4 * 3 && need.checked_add(overlay).is_some_and(|t| t <= available)
}

/// `MemTotal:` from /proc/meminfo, in bytes.
pub fn mem_total(meminfo: &str) -> Option<u64> {
    meminfo.lines().find_map(|l| {
        let rest = l.strip_prefix("MemTotal:")?;
        let kib: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
        kib.checked_mul(1024)
    })
}

/// The most the overlay's tmpfs can hold: a percentage of total RAM (as
/// tmpfs computes `size=N%`) or a byte count. Saturates.
pub fn overlay_bytes(size: OverlaySize, mem_total: u64) -> u64 {
    match size {
        OverlaySize::Percent(p) => {
            u64::try_from(u128::from(mem_total) * u128::from(p) / 100).unwrap_or(u64::MAX)
        }
        OverlaySize::Bytes(b) => b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    type Tree = BTreeMap<String, Vec<String>>;

    fn tree(entries: &[(&str, &[&str])]) -> Tree {
        entries
            .iter()
            .map(|(d, names)| (d.to_string(), names.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    fn run(
        layout: LiveLayout,
        base: Option<&str>,
        module: Option<&str>,
        t: &Tree,
        files: &[(&str, &str)],
    ) -> Result<Images, SearchError> {
        let plan = LivePlan {
            layout,
            base_dir: base.map(str::to_owned),
            module: module.map(str::to_owned),
        };
        let list = |d: &str| t.get(d).cloned();
        let read = |f: &str| {
            files
                .iter()
                .find(|(n, _)| *n == f)
                .map(|(_, c)| c.to_string())
        };
        find_images(&plan, &list, &read)
    }

    fn ok(paths: &[&str]) -> Result<Images, SearchError> {
        Ok(paths.iter().map(|s| s.to_string()).collect())
    }

    fn tried(e: Result<Images, SearchError>) -> Vec<String> {
        match e {
            Err(SearchError::NotFound { tried }) => tried,
            other => panic!("expected NotFound, got {other:?}"),
        }
    }

    #[test]
    fn casper() {
        let t = tree(&[(
            "casper",
            &["filesystem.squashfs", "extra.squashfs", "vmlinuz", "initrd"],
        )]);
        assert_eq!(
            run(LiveLayout::Casper, Some("casper"), None, &t, &[]),
            ok(&["casper/filesystem.squashfs"])
        );
        // No filesystem.squashfs: every *.squashfs, in name order.
        let t = tree(&[(
            "casper",
            &[
                "b.squashfs",
                "a.squashfs",
                "vmlinuz",
                ".squashfs",
                "a.squashfs.gpg",
            ],
        )]);
        assert_eq!(
            run(LiveLayout::Casper, Some("casper"), None, &t, &[]),
            ok(&["casper/a.squashfs", "casper/b.squashfs"])
        );
        let e = run(
            LiveLayout::Casper,
            Some("casper"),
            None,
            &tree(&[("casper", &["vmlinuz"])]),
            &[],
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "no live image found: tried casper/filesystem.squashfs, casper/*.squashfs"
        );
        // The folder itself is missing.
        assert_eq!(
            tried(run(
                LiveLayout::Casper,
                Some("casper"),
                None,
                &tree(&[]),
                &[]
            )),
            ["casper/filesystem.squashfs", "casper/*.squashfs"]
        );
    }

    #[test]
    fn casper_layered_images_follow_layerfs_path() {
        // Ubuntu 24.04 desktop: language and variant layers sit beside the chain.
        let t = tree(&[(
            "casper",
            &[
                "minimal.squashfs",
                "minimal.en.squashfs",
                "minimal.standard.squashfs",
                "minimal.standard.en.squashfs",
                "minimal.standard.live.squashfs",
                "vmlinuz",
            ],
        )]);
        let chain = ok(&[
            "casper/minimal.squashfs",
            "casper/minimal.standard.squashfs",
            "casper/minimal.standard.live.squashfs",
        ]);
        for top in ["minimal.standard.live.squashfs", "minimal.standard.live"] {
            assert_eq!(
                run(LiveLayout::Casper, Some("casper"), Some(top), &t, &[]),
                chain
            );
        }
        let t = tree(&[(
            "casper",
            &["minimal.squashfs", "minimal.standard.live.squashfs"],
        )]);
        let e = run(
            LiveLayout::Casper,
            Some("casper"),
            Some("minimal.standard.live.squashfs"),
            &t,
            &[],
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "casper/minimal.standard.squashfs is missing (named by layerfs-path=minimal.standard.live.squashfs)"
        );
    }

    #[test]
    fn live_boot_module_files() {
        let t = tree(&[(
            "live",
            &[
                "filesystem.squashfs",
                "extra.squashfs",
                "zz.squashfs",
                "filesystem.module",
                "standard.module",
                "filesystem.both.module",
                "both.module",
            ],
        )]);
        let files = [
            ("live/filesystem.module", "filesystem.squashfs\n"),
            (
                "live/standard.module",
                "# base first\nfilesystem.squashfs extra.squashfs\n\n",
            ),
            ("live/filesystem.both.module", "extra.squashfs\n"),
            ("live/both.module", "zz.squashfs\n"),
        ];
        assert_eq!(
            run(LiveLayout::LiveBoot, Some("live"), None, &t, &files),
            ok(&["live/filesystem.squashfs"])
        );
        assert_eq!(
            run(
                LiveLayout::LiveBoot,
                Some("live"),
                Some("standard"),
                &t,
                &files
            ),
            ok(&["live/filesystem.squashfs", "live/extra.squashfs"])
        );
        // filesystem.NAME.module wins over NAME.module, as in live-boot.
        assert_eq!(
            run(LiveLayout::LiveBoot, Some("live"), Some("both"), &t, &files),
            ok(&["live/extra.squashfs"])
        );
        // A module file naming a missing image is an error, not a silent skip.
        let bad = [(
            "live/filesystem.module",
            "filesystem.squashfs\nmissing.squashfs\n",
        )];
        assert_eq!(
            run(LiveLayout::LiveBoot, Some("live"), None, &t, &bad)
                .unwrap_err()
                .to_string(),
            "live/missing.squashfs is missing (named by live/filesystem.module)"
        );
    }

    #[test]
    fn live_boot_without_module_files() {
        // No .module: every squashfs, sorted.
        let t = tree(&[("live", &["b.squashfs", "a.squashfs", "initrd.img"])]);
        assert_eq!(
            run(LiveLayout::LiveBoot, Some("live"), None, &t, &[]),
            ok(&["live/a.squashfs", "live/b.squashfs"])
        );
        // An empty module file counts as absent.
        assert_eq!(
            run(
                LiveLayout::LiveBoot,
                Some("live"),
                None,
                &t,
                &[("live/filesystem.module", "\n# nothing\n")]
            ),
            ok(&["live/a.squashfs", "live/b.squashfs"])
        );
        // An explicit module that doesn't exist is an error, not a fallback.
        assert_eq!(
            tried(run(
                LiveLayout::LiveBoot,
                Some("live"),
                Some("nope"),
                &t,
                &[]
            )),
            ["live/filesystem.nope.module", "live/nope.module"]
        );
        assert_eq!(
            tried(run(
                LiveLayout::LiveBoot,
                Some("live"),
                None,
                &tree(&[]),
                &[]
            )),
            ["live/filesystem.module", "live/*.squashfs"]
        );
    }

    #[test]
    fn archiso_and_linomad() {
        let t = tree(&[("arch/x86_64", &["airootfs.sfs", "airootfs.sha512"])]);
        assert_eq!(
            run(LiveLayout::Archiso, Some("arch"), None, &t, &[]),
            ok(&["arch/x86_64/airootfs.sfs"])
        );
        assert_eq!(
            tried(run(
                LiveLayout::Archiso,
                Some("arch"),
                None,
                &tree(&[]),
                &[]
            )),
            ["arch/x86_64/airootfs.sfs"]
        );
        let t = tree(&[(
            "",
            &[
                "02-apps.squashfs",
                "01-core.squashfs",
                "readme.txt",
                ".hidden.squashfs",
            ],
        )]);
        assert_eq!(
            run(LiveLayout::Linomad, None, None, &t, &[]),
            ok(&["01-core.squashfs", "02-apps.squashfs"])
        );
        assert_eq!(
            tried(run(
                LiveLayout::Linomad,
                None,
                None,
                &tree(&[("", &["x"])]),
                &[]
            )),
            ["*.squashfs"]
        );
        assert_eq!(run(LiveLayout::Plain, None, None, &t, &[]), ok(&[]));
    }

    #[test]
    fn layer_chains() {
        assert_eq!(
            layer_chain("a.b.c.squashfs"),
            ["a.squashfs", "a.b.squashfs", "a.b.c.squashfs"]
        );
        assert_eq!(layer_chain("solo"), ["solo.squashfs"]);
    }

    #[test]
    fn meminfo_and_toram() {
        let text = "MemTotal:        4028284 kB\nMemFree:         3000000 kB\nMemAvailable:    3500000 kB\n";
        assert_eq!(mem_available(text), Some(3_500_000 * 1024));
        assert_eq!(mem_available("MemAvailable: 1024"), Some(1 << 20));
        assert_eq!(mem_available("MemTotal: 2 kB\n"), None);
        assert_eq!(mem_available("MemAvailable: lots kB\n"), None);
        assert_eq!(
            mem_available("MemAvailable: 99999999999999999999 kB\n"),
            None
        );
        assert!(toram_fits(750, 1000, 0));
        assert!(!toram_fits(751, 1000, 0));
        assert!(toram_fits(0, 0, 0));
        assert!(!toram_fits(1, 0, 0));
        // The overlay's tmpfs lives in the same RAM: copy + overlay must fit.
        assert!(toram_fits(400, 1000, 600));
        assert!(!toram_fits(500, 1000, 600));
        assert!(!toram_fits(1, u64::MAX, u64::MAX));
        assert_eq!(mem_total(text), Some(4_028_284 * 1024));
        assert_eq!(overlay_bytes(OverlaySize::Percent(50), 1000), 500);
        assert_eq!(overlay_bytes(OverlaySize::Bytes(7), 1000), 7);
        assert_eq!(overlay_bytes(OverlaySize::Percent(200), u64::MAX), u64::MAX);
    }

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z.]{0,12}\\.squashfs",
            "[a-z.]{0,8}\\.module",
            "[a-z.#]{0,12}",
        ]
    }

    proptest! {
        /// Whatever the server holds, the search never panics, and what it
        /// returns is in the listed folder, in a stable order.
        #[test]
        fn search_is_total_and_returns_listed_files(
            layout in prop_oneof![
                Just(LiveLayout::Casper),
                Just(LiveLayout::LiveBoot),
                Just(LiveLayout::Archiso),
                Just(LiveLayout::Linomad),
            ],
            base in proptest::option::of("[a-z]{1,6}"),
            module in proptest::option::of("[a-z.]{1,12}"),
            names in proptest::collection::vec(name(), 0..10),
            module_text in "[a-z. \n#]{0,40}",
        ) {
            let dir = base.clone().unwrap_or_default();
            let listed = if layout == LiveLayout::Archiso { join(&dir, "x86_64") } else { dir };
            let t: Tree = [(listed.clone(), names.clone())].into_iter().collect();
            let plan = LivePlan { layout, base_dir: base, module };
            let list = |d: &str| t.get(d).cloned();
            let read = |f: &str| f.ends_with(".module").then(|| module_text.clone());
            match find_images(&plan, &list, &read) {
                Ok(images) => {
                    prop_assert!(!images.is_empty());
                    for i in &images {
                        let n = i.strip_prefix(&format!("{listed}/")).unwrap_or(i);
                        prop_assert!(names.contains(&n.to_owned()), "{i} not listed");
                    }
                }
                Err(SearchError::NotFound { tried }) => prop_assert!(!tried.is_empty()),
                Err(SearchError::MissingLayer { image, .. }) => {
                    prop_assert!(image.starts_with(&listed));
                }
            }
        }

        #[test]
        fn meminfo_never_panics(text in "\\PC{0,80}") {
            let _ = mem_available(&text);
        }
    }
}
