//! Resolving a path inside a directory tree as it would resolve after
//! chroot into it: symlinks are followed, an absolute target starts again
//! at the root, `..` never climbs above it. The file system is injected
//! (`lookup`), so the walk itself is pure and fuzzable; `netinit_sys`
//! runs it against the real new root.

use std::path::{Component, Path};

/// Symlink hops before giving up, as the kernel's ELOOP limit.
pub const MAX_LINKS: usize = 40;

/// Why a resolution stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError<E> {
    /// `lookup` failed at this path (as seen from inside the root).
    Lookup { at: String, error: E },
    /// More than [`MAX_LINKS`] symlinks, at this path.
    Loop { at: String },
}

/// Resolves `path` (absolute, as seen from inside the root) to the
/// components of the real object it names. `lookup(parent, name)` tells
/// what `parent/name` is: `Ok(Some(target))` for a symlink,
/// `Ok(None)` for anything else that exists, `Err` when it does not.
/// Every returned component was looked up and is not a symlink; the
/// number of lookups is bounded by the path's length plus [`MAX_LINKS`]
/// targets.
pub fn resolve_in<E>(
    path: &str,
    mut lookup: impl FnMut(&[String], &str) -> Result<Option<String>, E>,
) -> Result<Vec<String>, ResolveError<E>> {
    let mut pending: Vec<String> = components(path);
    pending.reverse();
    let mut resolved: Vec<String> = Vec::new();
    let mut hops = 0;
    while let Some(part) = pending.pop() {
        match part.as_str() {
            "." => continue,
            ".." => {
                resolved.pop();
                continue;
            }
            _ => {}
        }
        let target = lookup(&resolved, &part).map_err(|error| ResolveError::Lookup {
            at: display(&resolved, &part),
            error,
        })?;
        let Some(target) = target else {
            resolved.push(part);
            continue;
        };
        hops += 1;
        if hops > MAX_LINKS {
            return Err(ResolveError::Loop {
                at: display(&resolved, &part),
            });
        }
        if target.starts_with('/') {
            resolved.clear();
        }
        let mut more = components(&target);
        more.reverse();
        pending.extend(more);
    }
    Ok(resolved)
}

/// A path's components: names, `..` and `.`; no root, no empty ones.
pub fn components(path: &str) -> Vec<String> {
    Path::new(path)
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".to_owned()),
            Component::CurDir => Some(".".to_owned()),
            Component::RootDir | Component::Prefix(_) => None,
        })
        .collect()
}

/// `/a/b` for messages: the path as the new root will see it.
pub fn display(parts: &[String], last: &str) -> String {
    let mut s = String::new();
    for p in parts.iter().map(String::as_str).chain([last]) {
        s.push('/');
        s.push_str(p);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A tiny file system: path → symlink target (or `None`).
    fn fs(entries: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
        entries
            .iter()
            .map(|(p, t)| ((*p).to_owned(), t.map(str::to_owned)))
            .collect()
    }

    fn run(fs: &BTreeMap<String, Option<String>>, path: &str) -> Result<String, ResolveError<()>> {
        resolve_in(path, |parent, name| {
            fs.get(&display(parent, name)).cloned().ok_or(())
        })
        .map(|parts| format!("/{}", parts.join("/")))
    }

    #[test]
    fn follows_links_and_stays_inside() {
        let f = fs(&[
            ("/usr", None),
            ("/usr/bin", None),
            ("/usr/bin/sh", None),
            ("/bin", Some("usr/bin")),
            ("/sbin", Some("/usr/bin")),
            ("/up", Some("../../../usr")),
            ("/loop", Some("/loop")),
        ]);
        assert_eq!(run(&f, "/bin/sh"), Ok("/usr/bin/sh".into()));
        assert_eq!(run(&f, "/sbin/./sh"), Ok("/usr/bin/sh".into()));
        assert_eq!(run(&f, "/up/bin/sh"), Ok("/usr/bin/sh".into()));
        assert_eq!(run(&f, "/../../bin/sh"), Ok("/usr/bin/sh".into()));
        assert_eq!(
            run(&f, "/loop"),
            Err(ResolveError::Loop { at: "/loop".into() })
        );
        assert_eq!(
            run(&f, "/bin/bash"),
            Err(ResolveError::Lookup {
                at: "/usr/bin/bash".into(),
                error: ()
            })
        );
    }
}
