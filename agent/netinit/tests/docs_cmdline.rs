//! Runs every example in docs/cmdline.md through `netinit explain`, so the
//! documentation cannot drift from the parser.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::Path;
use std::process::Command;

#[derive(Debug)]
enum Expect {
    Fields(Vec<(String, String)>),
    Error(String),
}

/// `(cmdline, expectation, line number)` for each example.
fn examples(doc: &str) -> Vec<(String, Expect, usize)> {
    let mut out = Vec::new();
    let mut lines = doc.lines().enumerate().peekable();
    let mut pending: Option<(String, usize)> = None;
    while let Some((n, line)) = lines.next() {
        let kind = line.trim();
        if !matches!(kind, "```cmdline" | "```expect" | "```expect-error") {
            continue;
        }
        let mut body = Vec::new();
        for (_, l) in lines.by_ref() {
            if l.trim() == "```" {
                break;
            }
            body.push(l.to_owned());
        }
        match kind {
            "```cmdline" => pending = Some((body.join(" "), n + 1)),
            "```expect" => {
                let (cmdline, at) = pending
                    .take()
                    .unwrap_or_else(|| panic!("line {}: expect without cmdline", n + 1));
                let fields = body
                    .iter()
                    .map(|l| {
                        let (k, v) = l.split_once(" = ").unwrap_or_else(|| {
                            panic!("line {}: '{l}' is not 'path = value'", n + 1)
                        });
                        (k.trim().to_owned(), v.trim().to_owned())
                    })
                    .collect();
                out.push((cmdline, Expect::Fields(fields), at));
            }
            _ => {
                let (cmdline, at) = pending
                    .take()
                    .unwrap_or_else(|| panic!("line {}: expect-error without cmdline", n + 1));
                out.push((cmdline, Expect::Error(body.join("\n")), at));
            }
        }
    }
    assert!(pending.is_none(), "a cmdline block has no expect block");
    out
}

fn lookup<'a>(doc: &'a serde_json::Value, path: &str) -> &'a serde_json::Value {
    path.split('.').fold(doc, |v, key| {
        // A number indexes an array (`network.vlans.0.id`).
        v.get(key)
            .or_else(|| key.parse::<usize>().ok().and_then(|i| v.get(i)))
            .unwrap_or_else(|| panic!("no key '{path}' in explain --json"))
    })
}

/// Strings are written bare in the docs; everything else as JSON.
fn render(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn every_docs_example_holds() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/cmdline.md"),
    )
    .unwrap();
    let all = examples(&doc);
    assert!(all.len() >= 30, "only {} examples found", all.len());
    for (cmdline, expect, line) in all {
        let out = Command::new(env!("CARGO_BIN_EXE_netinit"))
            .args(["explain", "--json", "--cmdline", &cmdline])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        match expect {
            Expect::Fields(fields) => {
                assert_eq!(
                    out.status.code(),
                    Some(0),
                    "docs/cmdline.md:{line}: {cmdline}: {stderr}"
                );
                let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                for (path, want) in fields {
                    assert_eq!(
                        render(lookup(&json, &path)),
                        want,
                        "docs/cmdline.md:{line}: {cmdline}: {path}"
                    );
                }
            }
            Expect::Error(want) => {
                assert_eq!(
                    out.status.code(),
                    Some(2),
                    "docs/cmdline.md:{line}: {cmdline} should fail"
                );
                assert_eq!(
                    stderr,
                    format!("netinit: {want}\n"),
                    "docs/cmdline.md:{line}: {cmdline}"
                );
                assert!(out.stdout.is_empty());
            }
        }
    }
}

#[test]
fn human_output_for_the_casper_example() {
    let out = Command::new(env!("CARGO_BIN_EXE_netinit"))
        .args([
            "explain",
            "--cmdline",
            "boot=casper netboot=nfs nfsroot=10.77.0.1:/export/casper ip=dhcp",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("network:    DHCP on every Ethernet NIC at once, first lease wins\n"),
        "{text}"
    );
    assert!(
        text.contains("root:       NFSv3 10.77.0.1:/export/casper\n"),
        "{text}"
    );
    assert!(
        text.contains("live:       casper images under casper/\n"),
        "{text}"
    );
}

#[test]
fn explain_usage_errors() {
    for (args, want) in [
        (
            vec!["explain", "--cmdline"],
            "netinit: explain: option '--cmdline' needs a value\n",
        ),
        (
            vec!["explain", "--bogus"],
            "netinit: explain: unknown option '--bogus' (see 'netinit explain --help')\n",
        ),
        (
            vec!["explain", "extra"],
            "netinit: explain: unexpected argument 'extra'\n",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_netinit"))
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), want, "{args:?}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_netinit"))
        .args(["explain", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Usage: netinit explain"));
}
