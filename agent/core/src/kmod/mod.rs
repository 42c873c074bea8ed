//! The kernel module index: modules.dep, modules.alias, modules.softdep and
//! modules.builtin, parsed from their text forms; modalias matching; and
//! load order with dependencies and softdeps, as modprobe computes them.
//!
//! The same index serves the agent (coldplug inside the initrd) and
//! `netinit-mkinitrd` (the dependency closure, and [`ModuleIndex::render_subset`]
//! to write a small index for the modules it packs).

pub mod fnmatch;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use fnmatch::{fnmatch, literal_prefix};

/// Module names compare with `-` and `_` as equal; the kernel uses `_`.
pub fn normalize(name: &str) -> String {
    name.replace('-', "_")
}

/// `kernel/fs/nfs/nfsv3.ko(.xz|.zst|.gz)` → `nfsv3`.
pub fn name_from_path(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = [".ko.xz", ".ko.zst", ".ko.gz", ".ko"]
        .iter()
        .find_map(|ext| file.strip_suffix(ext))
        .unwrap_or(file);
    normalize(stem)
}

/// A line of one index file that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexError {
    pub file: &'static str,
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for IndexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}: {}", self.file, self.line, self.reason)
    }
}

impl std::error::Error for IndexError {}

/// One loadable module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// Path relative to `/lib/modules/KVER`, as in modules.dep.
    pub path: String,
    /// Direct and indirect dependencies as listed by depmod (which lists the
    /// full closure, deepest last).
    pub deps: Vec<String>,
}

/// `softdep NAME pre: A B post: C`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Softdep {
    pub pre: Vec<String>,
    pub post: Vec<String>,
}

/// The parsed index of one kernel's modules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleIndex {
    pub modules: BTreeMap<String, Module>,
    /// `(pattern, module)` in file order (modprobe's order).
    pub aliases: Vec<(String, String)>,
    pub softdeps: BTreeMap<String, Softdep>,
    pub builtin: BTreeSet<String>,
}

/// Why a module could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// Not in modules.dep, not built in, and no alias resolves it.
    Unknown(String),
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolveError::Unknown(name) => write!(
                f,
                "module '{name}' is not in modules.dep, modules.builtin or modules.alias"
            ),
        }
    }
}

impl std::error::Error for ResolveError {}

impl ModuleIndex {
    /// Parses the four text files (any may be empty).
    pub fn parse(dep: &str, alias: &str, softdep: &str, builtin: &str) -> Result<Self, IndexError> {
        Ok(ModuleIndex {
            modules: parse_dep(dep)?,
            aliases: parse_alias(alias)?,
            softdeps: parse_softdep(softdep)?,
            builtin: parse_builtin(builtin),
        })
    }

    /// Reads an index file by file: `read` gets each file's name and
    /// whether it must exist (modules.dep; softdep, alias and builtin may
    /// not), and returns its text, empty for an optional file that is
    /// missing. One place says which files make an index, for /init and
    /// netinit-mkinitrd alike.
    pub fn read<E>(
        mut read: impl FnMut(&str, bool) -> Result<String, E>,
        parse_error: impl FnOnce(IndexError) -> E,
    ) -> Result<Self, E> {
        let dep = read("modules.dep", true)?;
        let alias = read("modules.alias", false)?;
        let softdep = read("modules.softdep", false)?;
        let builtin = read("modules.builtin", false)?;
        Self::parse(&dep, &alias, &softdep, &builtin).map_err(parse_error)
    }

    pub fn is_builtin(&self, name: &str) -> bool {
        self.builtin.contains(&normalize(name))
    }

    /// Every module an alias (a device modalias, or a name like
    /// `crypto-crc32c`) resolves to, in modules.alias order. Like modprobe,
    /// all matches are returned, not just the first: QEMU's rtl8139 matches
    /// both 8139too (which refuses the C+ chip) and 8139cp (which drives it).
    pub fn modules_for_alias(&self, alias: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (pattern, module) in &self.aliases {
            if alias.starts_with(literal_prefix(pattern))
                && fnmatch(pattern, alias)
                && !out.contains(module)
            {
                out.push(module.clone());
            }
        }
        out
    }

    /// A module name, or an alias naming modules. Built-ins resolve to
    /// nothing to load.
    pub fn resolve(&self, name_or_alias: &str) -> Result<Vec<String>, ResolveError> {
        let name = normalize(name_or_alias);
        if self.modules.contains_key(&name) {
            return Ok(vec![name]);
        }
        if self.builtin.contains(&name) {
            return Ok(Vec::new());
        }
        let via_alias = self.modules_for_alias(name_or_alias);
        if via_alias.is_empty() {
            Err(ResolveError::Unknown(name_or_alias.to_owned()))
        } else {
            Ok(via_alias)
        }
    }

    /// Load order for `wanted`: each module after its dependencies and its
    /// `pre:` softdeps, before its `post:` softdeps; each once. Softdeps
    /// that don't resolve are skipped, as modprobe does; unknown wanted
    /// modules are returned separately so one bad name stops nothing.
    pub fn load_order(&self, wanted: &[String]) -> (Vec<String>, Vec<ResolveError>) {
        let mut order = Vec::new();
        let mut errors = Vec::new();
        let mut visiting = BTreeSet::new();
        for w in wanted {
            match self.resolve(w) {
                Ok(names) => {
                    for n in names {
                        self.visit(&n, &mut order, &mut visiting);
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        (order, errors)
    }

    fn visit(&self, name: &str, order: &mut Vec<String>, visiting: &mut BTreeSet<String>) {
        if order.iter().any(|n| n == name) || !visiting.insert(name.to_owned()) {
            return;
        }
        let soft = self.softdeps.get(name).cloned().unwrap_or_default();
        for pre in &soft.pre {
            for m in self.resolve(pre).unwrap_or_default() {
                self.visit(&m, order, visiting);
            }
        }
        if let Some(module) = self.modules.get(name) {
            // depmod lists the closure with the deepest dependency last.
            for dep in module.deps.iter().rev() {
                self.visit(dep, order, visiting);
            }
            if !order.iter().any(|n| n == name) {
                order.push(name.to_owned());
            }
        }
        for post in &soft.post {
            for m in self.resolve(post).unwrap_or_default() {
                self.visit(&m, order, visiting);
            }
        }
    }

    /// Groups a load order (as [`load_order`](Self::load_order) returns it)
    /// into waves: every module comes after all its dependencies, its `pre:`
    /// softdeps and the modules that name it as `post:`, all in earlier
    /// waves, so the modules of one wave may load concurrently. The waves
    /// keep the given order inside them; a module the index doesn't know
    /// goes by its position (in the wave after the previous module).
    pub fn load_waves(&self, order: &[String]) -> Vec<Vec<String>> {
        let mut wave_of: BTreeMap<&str, usize> = BTreeMap::new();
        let mut waves: Vec<Vec<String>> = Vec::new();
        for (i, name) in order.iter().enumerate() {
            let before = &order[..i];
            let wave = if self.modules.contains_key(name) {
                before
                    .iter()
                    .filter(|b| self.must_precede(b, name))
                    .filter_map(|b| wave_of.get(b.as_str()).map(|w| w + 1))
                    .max()
                    .unwrap_or(0)
            } else {
                i.checked_sub(1)
                    .and_then(|p| wave_of.get(order[p].as_str()))
                    .map_or(0, |w| w + 1)
            };
            wave_of.insert(name, wave);
            if waves.len() <= wave {
                waves.resize_with(wave + 1, Vec::new);
            }
            waves[wave].push(name.clone());
        }
        waves
    }

    /// Whether `first` must be loaded before `then`.
    fn must_precede(&self, first: &str, then: &str) -> bool {
        let soft = |of: &str, pick: fn(&Softdep) -> &Vec<String>, target: &str| {
            self.softdeps.get(of).is_some_and(|s| {
                pick(s).iter().any(|x| {
                    self.resolve(x)
                        .unwrap_or_default()
                        .iter()
                        .any(|m| m == target)
                })
            })
        };
        // An unknown module may have run anything before it; keep order.
        !self.modules.contains_key(first)
            || self
                .modules
                .get(then)
                .is_some_and(|m| m.deps.iter().any(|d| d == first))
            || soft(then, |s| &s.pre, first)
            || soft(first, |s| &s.post, then)
    }

    /// Renders modules.dep, modules.alias, modules.softdep and
    /// modules.builtin restricted to `keep` (plus every built-in), so a
    /// small initrd has a consistent index of what it carries.
    pub fn render_subset(&self, keep: &BTreeSet<String>) -> SubsetFiles {
        let mut dep = String::new();
        for (name, m) in &self.modules {
            if keep.contains(name) {
                let deps: Vec<String> = m
                    .deps
                    .iter()
                    .filter(|d| keep.contains(*d))
                    .filter_map(|d| self.modules.get(d))
                    .map(|d| d.path.clone())
                    .collect();
                dep.push_str(&format!(
                    "{}:{}{}\n",
                    m.path,
                    if deps.is_empty() { "" } else { " " },
                    deps.join(" ")
                ));
            }
        }
        let alias: String = self
            .aliases
            .iter()
            .filter(|(_, m)| keep.contains(m))
            .map(|(p, m)| format!("alias {p} {m}\n"))
            .collect();
        let softdep: String = self
            .softdeps
            .iter()
            .filter(|(name, _)| keep.contains(*name))
            .map(|(name, s)| {
                let mut line = format!("softdep {name}");
                if !s.pre.is_empty() {
                    line.push_str(&format!(" pre: {}", s.pre.join(" ")));
                }
                if !s.post.is_empty() {
                    line.push_str(&format!(" post: {}", s.post.join(" ")));
                }
                line + "\n"
            })
            .collect();
        let builtin: String = self.builtin.iter().map(|b| format!("{b}\n")).collect();
        SubsetFiles {
            dep,
            alias,
            softdep,
            builtin,
        }
    }
}

/// The text of a regenerated index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubsetFiles {
    pub dep: String,
    pub alias: String,
    pub softdep: String,
    /// One name per line (netinit reads names; depmod's paths also parse).
    pub builtin: String,
}

fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

/// `path: dep dep …`
pub fn parse_dep(text: &str) -> Result<BTreeMap<String, Module>, IndexError> {
    let mut out = BTreeMap::new();
    for (n, line) in lines(text) {
        let (path, deps) = line.split_once(':').ok_or(IndexError {
            file: "modules.dep",
            line: n,
            reason: "missing ':'".into(),
        })?;
        if path.is_empty() {
            return Err(IndexError {
                file: "modules.dep",
                line: n,
                reason: "empty module path".into(),
            });
        }
        // Paths are joined to the module directory: one that leaves it
        // would pack (or load) a file from elsewhere.
        for p in std::iter::once(path).chain(deps.split_whitespace()) {
            if let Some(why) = crate::cpio::escapes(p) {
                return Err(IndexError {
                    file: "modules.dep",
                    line: n,
                    reason: format!("module path '{p}' {why}"),
                });
            }
        }
        let deps = deps.split_whitespace().map(name_from_path).collect();
        out.insert(
            name_from_path(path),
            Module {
                path: path.to_owned(),
                deps,
            },
        );
    }
    Ok(out)
}

/// `alias PATTERN MODULE`
pub fn parse_alias(text: &str) -> Result<Vec<(String, String)>, IndexError> {
    let mut out = Vec::new();
    for (n, line) in lines(text) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next(), words.next()) {
            (Some("alias"), Some(pattern), Some(module), None) => {
                out.push((pattern.to_owned(), normalize(module)))
            }
            _ => {
                return Err(IndexError {
                    file: "modules.alias",
                    line: n,
                    reason: "want 'alias PATTERN MODULE'".into(),
                });
            }
        }
    }
    Ok(out)
}

/// `softdep MODULE pre: A B post: C`
pub fn parse_softdep(text: &str) -> Result<BTreeMap<String, Softdep>, IndexError> {
    let mut out: BTreeMap<String, Softdep> = BTreeMap::new();
    for (n, line) in lines(text) {
        let mut words = line.split_whitespace();
        let (Some("softdep"), Some(module)) = (words.next(), words.next()) else {
            return Err(IndexError {
                file: "modules.softdep",
                line: n,
                reason: "want 'softdep MODULE pre: … post: …'".into(),
            });
        };
        let entry = out.entry(normalize(module)).or_default();
        let mut into_post = None;
        for w in words {
            match w {
                "pre:" => into_post = Some(false),
                "post:" => into_post = Some(true),
                // Words before pre:/post: occur in real files (`softdep cifs
                // gcm`, from a module's malformed MODULE_SOFTDEP); kmod
                // ignores them, and so do we.
                dep => match into_post {
                    Some(false) => entry.pre.push(dep.to_owned()),
                    Some(true) => entry.post.push(dep.to_owned()),
                    None => {}
                },
            }
        }
    }
    Ok(out)
}

/// modules.builtin: depmod writes paths (`kernel/…/foo.ko`); our subset
/// writes names. Both parse.
pub fn parse_builtin(text: &str) -> BTreeSet<String> {
    lines(text).map(|(_, l)| name_from_path(l)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Beside the NFS chain: 8139too/8139cp, ext4 with its softdep.
    const OTHER_DEP: &str = "\
kernel/drivers/net/ethernet/realtek/8139too.ko:
kernel/drivers/net/ethernet/realtek/8139cp.ko: kernel/drivers/net/mii.ko
kernel/drivers/net/mii.ko:
kernel/crypto/crc32c_generic.ko:
kernel/fs/ext4/ext4.ko.xz:
";
    const ALIAS: &str = "\
# Aliases extracted from modules themselves.
alias pci:v000010ECd00008139sv*sd*bc*sc*i* 8139too
alias pci:v000010ECd00008139sv*sd*bc*sc*i* 8139cp
alias crypto-crc32c crc32c_generic
alias fs-nfs4 nfsv4
";
    const SOFTDEP: &str = "softdep ext4 pre: crypto-crc32c\nsoftdep nfs post: nfsv3 ghost\n";

    fn index() -> ModuleIndex {
        ModuleIndex::parse(
            &format!("{}{OTHER_DEP}", crate::fixtures::NFSV3_DEP),
            ALIAS,
            SOFTDEP,
            "kernel/drivers/block/loop.ko\nkernel/fs/squashfs/squashfs.ko\n",
        )
        .unwrap()
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn names() {
        assert_eq!(
            name_from_path("kernel/drivers/net/virtio-net.ko.zst"),
            "virtio_net"
        );
        assert_eq!(name_from_path("8139too.ko"), "8139too");
        assert_eq!(normalize("nfs-acl"), "nfs_acl");
    }

    #[test]
    fn nfsv3_chain_in_load_order() {
        let (order, errors) = index().load_order(&s(&["nfsv3"]));
        assert!(errors.is_empty());
        assert_eq!(
            order,
            s(&[
                "netfs", "fscache", "sunrpc", "grace", "lockd", "nfs", "nfs_acl", "nfsv3"
            ])
        );
    }

    #[test]
    fn every_alias_match_is_loaded() {
        let idx = index();
        let modalias = "pci:v000010ECd00008139sv00001AF4sd00001100bc02sc00i00";
        assert_eq!(idx.modules_for_alias(modalias), s(&["8139too", "8139cp"]));
        let (order, _) = idx.load_order(&s(&[modalias]));
        assert_eq!(order, s(&["8139too", "mii", "8139cp"]));
    }

    #[test]
    fn module_paths_outside_the_tree_are_refused() {
        for (dep, want) in [
            ("/etc/shadow.ko:\n", "absolute"),
            ("kernel/../../../etc/x.ko:\n", "'..'"),
            ("kernel/a.ko: /boot/b.ko\n", "absolute"),
            ("kernel/a.ko: kernel/../../b.ko\n", "'..'"),
        ] {
            let e = parse_dep(dep).map(|_| ()).unwrap_err();
            assert!(e.reason.contains(want), "{dep}: {e:?}");
        }
        assert!(parse_dep("kernel/drivers/net/e1000e.ko: kernel/lib/crc.ko\n").is_ok());
    }

    #[test]
    fn softdeps_resolve_through_aliases() {
        let (order, errors) = index().load_order(&s(&["ext4"]));
        assert!(errors.is_empty());
        assert_eq!(order, s(&["crc32c_generic", "ext4"]));
        // post: comes after; an unresolvable softdep (ghost) is skipped.
        let (order, _) = index().load_order(&s(&["nfs"]));
        assert_eq!(order.last().map(String::as_str), Some("nfsv3"));
        assert!(order.iter().position(|m| m == "nfs") < order.iter().position(|m| m == "nfsv3"));
    }

    #[test]
    fn builtins_and_unknowns() {
        let idx = index();
        assert!(idx.is_builtin("squashfs"));
        let (order, errors) = idx.load_order(&s(&["loop", "no_such", "nfs-acl"]));
        assert_eq!(order, s(&["sunrpc", "nfs_acl"]));
        assert_eq!(errors, vec![ResolveError::Unknown("no_such".into())]);
        assert_eq!(
            errors[0].to_string(),
            "module 'no_such' is not in modules.dep, modules.builtin or modules.alias"
        );
    }

    #[test]
    fn subset_round_trips() {
        let idx = index();
        let (order, _) = idx.load_order(&s(&["nfsv3", "8139cp"]));
        let keep: BTreeSet<String> = order.iter().cloned().collect();
        let files = idx.render_subset(&keep);
        let sub =
            ModuleIndex::parse(&files.dep, &files.alias, &files.softdep, &files.builtin).unwrap();
        assert_eq!(
            sub.load_order(&s(&["nfsv3"])).0,
            idx.load_order(&s(&["nfsv3"])).0
        );
        assert_eq!(sub.modules.len(), keep.len());
        assert_eq!(
            sub.modules_for_alias("pci:v000010ECd00008139sv0sd0bc02sc00i00"),
            s(&["8139cp"])
        );
        assert!(sub.is_builtin("loop"));
        assert!(files.alias.lines().all(|l| !l.ends_with(" 8139too")));
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let e = ModuleIndex::parse("a.ko\n", "", "", "").unwrap_err();
        assert_eq!(e.to_string(), "modules.dep line 1: missing ':'");
        let e = ModuleIndex::parse("", "# c\nalias x\n", "", "").unwrap_err();
        assert_eq!((e.file, e.line), ("modules.alias", 2));
        let e = ModuleIndex::parse("", "", "softdep\n", "").unwrap_err();
        assert_eq!(e.file, "modules.softdep");
        // As kmod: words before pre:/post: are ignored.
        let idx = ModuleIndex::parse("", "", "softdep cifs gcm pre: aes\n", "").unwrap();
        assert_eq!(
            idx.softdeps["cifs"],
            Softdep {
                pre: vec!["aes".into()],
                post: vec![]
            }
        );
    }

    #[test]
    fn nfs_chain_and_image_modules_load_in_waves() {
        let idx = index();
        let (order, _) = idx.load_order(&s(&["nfs", "nfsv3", "squashfs", "8139cp"]));
        assert_eq!(
            idx.load_waves(&order),
            [
                s(&["netfs", "sunrpc", "grace", "mii"]),
                s(&["fscache", "lockd", "nfs_acl", "8139cp"]),
                s(&["nfs"]),
                s(&["nfsv3"]),
            ]
        );
        assert!(idx.load_waves(&[]).is_empty());
    }

    #[test]
    fn softdeps_order_the_waves() {
        // ext4 wants crc32c first; nfs wants nfsv3 after it.
        let idx = index();
        let (order, _) = idx.load_order(&s(&["ext4", "nfs"]));
        let waves = idx.load_waves(&order);
        let wave = |m: &str| waves.iter().position(|w| w.iter().any(|x| x == m));
        assert!(wave("crc32c_generic") < wave("ext4"), "{waves:?}");
        assert!(wave("nfs") < wave("nfsv3"), "{waves:?}");
    }

    proptest! {
        #[test]
        fn parsers_never_panic(text in "\\PC*") {
            let _ = ModuleIndex::parse(&text, &text, &text, &text);
        }

        #[test]
        fn load_order_puts_deps_first(wanted in proptest::collection::vec(
            proptest::sample::select(vec!["nfsv3", "nfs", "lockd", "8139cp", "ext4", "fscache", "pci:v000010ECd00008139sv0sd0bc0sc0i0"]), 0..5)) {
            let idx = index();
            let wanted: Vec<String> = wanted.into_iter().map(str::to_owned).collect();
            let (order, _) = idx.load_order(&wanted);
            for (i, m) in order.iter().enumerate() {
                prop_assert_eq!(order.iter().filter(|x| *x == m).count(), 1);
                for dep in &idx.modules[m].deps {
                    let at = order.iter().position(|x| x == dep);
                    prop_assert!(at.is_some_and(|a| a < i), "{} before its dep {}", m, dep);
                }
            }
        }

        #[test]
        fn waves_keep_every_ordering_constraint(wanted in proptest::collection::vec(
            proptest::sample::select(vec!["nfsv3", "nfs", "lockd", "8139cp", "ext4", "fscache", "nfs_acl", "pci:v000010ECd00008139sv0sd0bc0sc0i0"]), 0..6)) {
            let idx = index();
            let wanted: Vec<String> = wanted.into_iter().map(str::to_owned).collect();
            let (order, _) = idx.load_order(&wanted);
            let waves = idx.load_waves(&order);
            let mut flat: Vec<String> = waves.concat();
            let mut sorted = order.clone();
            flat.sort();
            sorted.sort();
            prop_assert_eq!(flat, sorted);
            let wave = |m: &str| waves.iter().position(|w| w.iter().any(|x| x == m));
            for (i, a) in order.iter().enumerate() {
                for b in &order[i + 1..] {
                    if idx.must_precede(a, b) {
                        prop_assert!(wave(a) < wave(b), "{} not before {} in {:?}", a, b, waves);
                    }
                }
            }
        }
    }
}
