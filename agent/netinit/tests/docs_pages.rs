//! Docs that must match the code: every failure heading in
//! docs/troubleshooting.md is a message fragment that exists in the
//! source, and every dnsmasq config in docs/server-setup.md passes
//! `dnsmasq --test`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sources(dir: &Path, out: &mut String) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push_str(&std::fs::read_to_string(&p).unwrap());
        }
    }
}

#[test]
fn troubleshooting_headings_exist_in_the_source() {
    let doc = std::fs::read_to_string(repo().join("docs/troubleshooting.md")).unwrap();
    let mut src = String::new();
    sources(&repo().join("agent"), &mut src);
    let headings: Vec<&str> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("### `")?.strip_suffix('`'))
        .collect();
    assert!(headings.len() >= 30, "{}", headings.len());
    let missing: Vec<&&str> = headings.iter().filter(|h| !src.contains(**h)).collect();
    assert!(
        missing.is_empty(),
        "documented messages not in the source: {missing:?}"
    );
}

/// The ```dnsmasq blocks of a docs page, each checked with `dnsmasq --test`.
fn dnsmasq_blocks_parse(page: &str, want: usize) {
    let doc = std::fs::read_to_string(repo().join(page)).unwrap();
    let mut blocks = Vec::new();
    let mut cur: Option<String> = None;
    for line in doc.lines() {
        match (&mut cur, line.trim()) {
            (None, "```dnsmasq") => cur = Some(String::new()),
            (Some(b), "```") => {
                blocks.push(std::mem::take(b));
                cur = None;
            }
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            _ => {}
        }
    }
    assert_eq!(blocks.len(), want, "{page}");
    let t = tempfile::tempdir().unwrap();
    for (i, b) in blocks.iter().enumerate() {
        let f = t.path().join(format!("{i}.conf"));
        std::fs::write(&f, b).unwrap();
        let out = std::process::Command::new("dnsmasq")
            .arg("--test")
            .arg("-C")
            .arg(&f)
            .output()
            .expect("dnsmasq (apt-get install dnsmasq-base)");
        assert!(
            out.status.success(),
            "{page} block {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn server_setup_dnsmasq_configs_parse() {
    dnsmasq_blocks_parse("docs/server-setup.md", 3);
}

#[test]
fn recipes_dnsmasq_configs_parse() {
    dnsmasq_blocks_parse("docs/recipes.md", 2);
}
