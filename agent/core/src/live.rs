//! Finding the live image(s) on the mounted NFS root, per layout. Pure:
//! directory listing and file reading are injected, so every layout's
//! search is a table test.

use crate::plan::{LiveLayout, LivePlan};

/// The images found, bottom layer first, as paths relative to the NFS root.
pub type Images = Vec<String>;

/// Nothing found: every path that was tried, for the error line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotFound {
    pub tried: Vec<String>,
}

impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no live image found: tried {}", self.tried.join(", "))
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

/// Every `*.squashfs` in `dir`, sorted by name (bottom layer first).
fn all_squashfs(dir: &str, list: ListDir<'_>, tried: &mut Vec<String>) -> Option<Images> {
    tried.push(join(dir, "*.squashfs"));
    let mut names: Vec<String> = list(dir)?
        .into_iter()
        .filter(|n| n.ends_with(".squashfs") && !n.starts_with('.'))
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

/// A live-boot `.module` file: one image name per line, bottom first.
fn module_file(
    dir: &str,
    module: &str,
    list: ListDir<'_>,
    read: ReadFile<'_>,
    tried: &mut Vec<String>,
) -> Option<Images> {
    let file = join(dir, &format!("{module}.module"));
    tried.push(file.clone());
    let text = read(&file)?;
    let entries = list(dir).unwrap_or_default();
    let images: Images = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter(|l| entries.iter().any(|e| e == l))
        .map(|l| join(dir, l))
        .collect();
    (!images.is_empty()).then_some(images)
}

/// Finds the images for `plan`. `Ok(vec![])` for a plain NFS root.
pub fn find_images(
    plan: &LivePlan,
    list: ListDir<'_>,
    read: ReadFile<'_>,
) -> Result<Images, NotFound> {
    let mut tried = Vec::new();
    let dir = plan.base_dir.as_deref().unwrap_or("");
    let found = match plan.layout {
        LiveLayout::None => return Ok(Vec::new()),
        LiveLayout::Casper => exact(dir, "filesystem.squashfs", list, &mut tried)
            .or_else(|| all_squashfs(dir, list, &mut tried)),
        LiveLayout::LiveBoot => {
            let module = plan.module.as_deref().unwrap_or("filesystem");
            module_file(dir, module, list, read, &mut tried).or_else(|| {
                if plan.module.is_none() {
                    all_squashfs(dir, list, &mut tried)
                } else {
                    None
                }
            })
        }
        LiveLayout::Archiso => exact(&join(dir, "x86_64"), "airootfs.sfs", list, &mut tried),
        LiveLayout::Linomad => all_squashfs(dir, list, &mut tried),
    };
    found.ok_or(NotFound { tried })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn tree(entries: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        entries
            .iter()
            .map(|(d, names)| (d.to_string(), names.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    fn run(
        layout: LiveLayout,
        base: Option<&str>,
        module: Option<&str>,
        t: &BTreeMap<String, Vec<String>>,
        files: &[(&str, &str)],
    ) -> Result<Images, NotFound> {
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

    #[test]
    fn casper() {
        let t = tree(&[("casper", &["filesystem.squashfs", "vmlinuz", "initrd"])]);
        assert_eq!(
            run(LiveLayout::Casper, Some("casper"), None, &t, &[]),
            Ok(vec!["casper/filesystem.squashfs".into()])
        );
        // Layered Ubuntu images: every *.squashfs, in name order.
        let t = tree(&[(
            "casper",
            &[
                "minimal.standard.squashfs",
                "minimal.squashfs",
                "minimal.standard.live.squashfs",
                "vmlinuz",
            ],
        )]);
        assert_eq!(
            run(LiveLayout::Casper, Some("casper"), None, &t, &[]),
            Ok(vec![
                "casper/minimal.squashfs".into(),
                "casper/minimal.standard.live.squashfs".into(),
                "casper/minimal.standard.squashfs".into()
            ])
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
    }

    #[test]
    fn live_boot_with_and_without_module_files() {
        let t = tree(&[(
            "live",
            &[
                "filesystem.squashfs",
                "extra.squashfs",
                "filesystem.module",
                "standard.module",
            ],
        )]);
        let files = [
            ("live/filesystem.module", "filesystem.squashfs\n"),
            (
                "live/standard.module",
                "filesystem.squashfs\n# comment\nextra.squashfs\nmissing.squashfs\n",
            ),
        ];
        assert_eq!(
            run(LiveLayout::LiveBoot, Some("live"), None, &t, &files),
            Ok(vec!["live/filesystem.squashfs".into()])
        );
        assert_eq!(
            run(
                LiveLayout::LiveBoot,
                Some("live"),
                Some("standard"),
                &t,
                &files
            ),
            Ok(vec![
                "live/filesystem.squashfs".into(),
                "live/extra.squashfs".into()
            ])
        );
        // No .module: every squashfs.
        let t2 = tree(&[("live", &["b.squashfs", "a.squashfs"])]);
        assert_eq!(
            run(LiveLayout::LiveBoot, Some("live"), None, &t2, &[]),
            Ok(vec!["live/a.squashfs".into(), "live/b.squashfs".into()])
        );
        // An explicit module that doesn't exist is an error, not a fallback.
        let e = run(LiveLayout::LiveBoot, Some("live"), Some("nope"), &t, &files).unwrap_err();
        assert_eq!(e.tried, ["live/nope.module"]);
    }

    #[test]
    fn archiso_and_linomad() {
        let t = tree(&[("arch/x86_64", &["airootfs.sfs", "airootfs.sha512"])]);
        assert_eq!(
            run(LiveLayout::Archiso, Some("arch"), None, &t, &[]),
            Ok(vec!["arch/x86_64/airootfs.sfs".into()])
        );
        let e = run(LiveLayout::Archiso, Some("arch"), None, &tree(&[]), &[]).unwrap_err();
        assert_eq!(e.tried, ["arch/x86_64/airootfs.sfs"]);
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
            Ok(vec!["01-core.squashfs".into(), "02-apps.squashfs".into()])
        );
        assert_eq!(run(LiveLayout::None, None, None, &t, &[]), Ok(vec![]));
    }
}
