#![no_main]
//! `resolve_in` (where the new root's init and its interpreter really are)
//! over a random tree of directories, files and symlinks: always ends, never
//! leaves the root, and what it returns exists, holds no symlink, and
//! resolves to itself.
use std::collections::BTreeMap;

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use netinit_core::rootpath::{self, MAX_LINKS, ResolveError};

const NAMES: [&str; 6] = ["a", "b", "bin", "usr", "..", "."];

fn name(u: &mut Unstructured) -> Result<String> {
    Ok(NAMES[u.int_in_range(0..=3)?].to_owned())
}

fn path(u: &mut Unstructured) -> Result<String> {
    let mut p = if u.arbitrary()? {
        String::from("/")
    } else {
        String::new()
    };
    for i in 0..u.int_in_range(0..=4)? {
        if i > 0 {
            p.push('/');
        }
        p.push_str(NAMES[u.int_in_range(0..=5)?]);
    }
    Ok(p)
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    // path (as "/a/b") → symlink target, or None for a directory/file.
    let mut fs: BTreeMap<String, Option<String>> = BTreeMap::new();
    let Ok(n) = u.int_in_range(0..=16) else {
        return;
    };
    for _ in 0..n {
        let (Ok(parent), Ok(leaf), Ok(link)) =
            (u.int_in_range(0..=2), name(&mut u), u.arbitrary::<bool>())
        else {
            return;
        };
        let dir = match parent {
            0 => String::new(),
            1 => "/usr".to_owned(),
            _ => "/usr/bin".to_owned(),
        };
        let target = if link { path(&mut u).ok() } else { None };
        fs.insert(format!("{dir}/{leaf}"), target);
    }
    fs.insert("/usr".into(), None);
    fs.insert("/usr/bin".into(), None);
    let Ok(query) = path(&mut u) else { return };

    let mut lookups = 0usize;
    let mut lookup = |parent: &[String], name: &str| {
        lookups += 1;
        assert!(name != "." && name != ".." && !name.is_empty() && !name.contains('/'));
        assert!(parent.iter().all(|p| p != "." && p != ".."));
        fs.get(&rootpath::display(parent, name)).cloned().ok_or(())
    };
    let result = rootpath::resolve_in(&query, &mut lookup);
    // Every lookup consumes one component of the query or of a followed target.
    assert!(lookups <= 4 + MAX_LINKS * 5);
    match result {
        Ok(parts) => {
            for i in 0..parts.len() {
                let at = rootpath::display(&parts[..i], &parts[i]);
                assert_eq!(
                    fs.get(&at),
                    Some(&None),
                    "{at} in the result is missing or a symlink"
                );
            }
            let again = format!("/{}", parts.join("/"));
            let mut relookups = 0;
            let same = rootpath::resolve_in(&again, |p: &[String], n: &str| {
                relookups += 1;
                fs.get(&rootpath::display(p, n)).cloned().ok_or(())
            });
            assert_eq!(same, Ok(parts.clone()));
            assert_eq!(relookups, parts.len());
        }
        Err(ResolveError::Lookup { at, .. }) => assert!(!fs.contains_key(&at), "{at} exists"),
        Err(ResolveError::Loop { .. }) => {}
    }
});
