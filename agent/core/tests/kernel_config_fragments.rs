//! The fragments in kernel-config/ satisfy netinit's own requirement table,
//! and every option in them carries a comment saying why.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::Path;

use netinit_core::kconfig::{self, KernelConfig, State};

fn fragment(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../kernel-config")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// merge_config.sh semantics: later fragments override earlier ones.
fn merged(names: &[&str]) -> KernelConfig {
    let text: String = names.iter().map(|n| fragment(n) + "\n").collect();
    KernelConfig::parse(&text).unwrap()
}

#[test]
fn base_plus_nics_satisfies_every_requirement() {
    let report = kconfig::check(&merged(&["netinit-base.config", "netinit-nics.config"]));
    let failed: Vec<_> = report
        .findings
        .iter()
        .filter(|f| !f.ok)
        .map(|f| f.option)
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert!(!report.boot_cannot_work());
}

#[test]
fn base_alone_boots() {
    assert!(!kconfig::check(&merged(&["netinit-base.config"])).boot_cannot_work());
}

#[test]
fn builtin_variant_leaves_no_required_module() {
    let config = merged(&[
        "netinit-base.config",
        "netinit-nics.config",
        "netinit-builtin.config",
    ]);
    for req in kconfig::REQUIREMENTS {
        let states: Vec<State> = req.options.iter().map(|o| config.state(o)).collect();
        assert!(
            states.contains(&State::Builtin),
            "{:?}: {states:?}",
            req.options
        );
    }
}

#[test]
fn every_option_is_commented() {
    for name in [
        "netinit-base.config",
        "netinit-nics.config",
        "netinit-builtin.config",
    ] {
        let text = fragment(name);
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !line.starts_with("CONFIG_") && !line.ends_with(" is not set") {
                continue;
            }
            // Walk up the paragraph: some comment line must explain it.
            let commented = lines[..i]
                .iter()
                .rev()
                .take_while(|l| !l.trim().is_empty())
                .any(|l| l.starts_with("# ") && !l.ends_with(" is not set"));
            assert!(
                commented,
                "{name}:{}: '{line}' has no comment above it",
                i + 1
            );
        }
    }
}
