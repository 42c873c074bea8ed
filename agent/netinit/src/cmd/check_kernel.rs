//! `netinit check-kernel [--json] [CONFIG]`: does this kernel have what
//! netinit needs? Reads CONFIG (plain or gzip), else /proc/config.gz, else
//! /boot/config-$(uname -r).

use std::process::ExitCode;

use netinit_core::json::Json;
use netinit_core::kconfig::{self, KernelConfig, Report, Severity};

use super::Spec;

const SPEC: Spec = Spec {
    name: "check-kernel",
    flags: &["json"],
    valued: &[],
    min_positional: 0,
    max_positional: 1,
    help: "\
Usage: netinit check-kernel [--json] [CONFIG]

Checks a kernel config for everything netinit needs, printing each option
with its state (y, m or missing) and what a missing one breaks.

CONFIG is a .config file, plain or gzip-compressed. Without it, netinit reads
/proc/config.gz, then /boot/config-$(uname -r).

Exit status: 0 the boot can work, 1 it cannot (a required option is
missing), 2 bad usage or an unreadable config.
See kernel-config/ for fragments that satisfy every check.",
};

/// Configs over this are not kernel configs; bounds gzip expansion too.
const MAX_CONFIG_BYTES: usize = 16 << 20;

pub fn main(args: &[String]) -> ExitCode {
    super::run(&SPEC, args, |p| {
        let (path, text) = match load(p.positional.first().map(String::as_str)) {
            Ok(found) => found,
            Err(msg) => return super::usage_error(&format!("check-kernel: {msg}")),
        };
        let config = match KernelConfig::parse(&text) {
            Ok(c) => c,
            Err(e) => {
                return super::usage_error(&format!(
                    "check-kernel: {path}: {e} (is this a kernel .config?)"
                ));
            }
        };
        let report = kconfig::check(&config);
        if p.flag("json") {
            print!("{}", to_json(&path, &report).to_pretty());
        } else {
            print!("{}", render(&path, &report));
        }
        if report.boot_cannot_work() {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }
    })
}

/// Finds and reads the config; returns its path and text.
fn load(explicit: Option<&str>) -> Result<(String, String), String> {
    let candidates: Vec<String> = match explicit {
        Some(p) => vec![p.to_owned()],
        None => {
            let release = netinit_sys::host::kernel_release();
            vec![
                "/proc/config.gz".to_owned(),
                format!("/boot/config-{release}"),
            ]
        }
    };
    let mut tried = Vec::new();
    for path in &candidates {
        match std::fs::read(path) {
            Ok(bytes) => {
                return decode(&bytes)
                    .map(|text| (path.clone(), text))
                    .map_err(|e| format!("{path}: {e}"));
            }
            Err(e) if explicit.is_some() => return Err(format!("read {path}: {e}")),
            Err(e) => tried.push(format!("{path} ({e})")),
        }
    }
    Err(format!(
        "no kernel config found: tried {} (hint: pass the config file, e.g. /boot/config-VERSION)",
        tried.join(", ")
    ))
}

fn decode(bytes: &[u8]) -> Result<String, String> {
    let plain = if netinit_core::gzip::is_gzip(bytes) {
        netinit_core::gzip::decompress(bytes, MAX_CONFIG_BYTES).map_err(|e| e.to_string())?
    } else {
        bytes.to_vec()
    };
    String::from_utf8(plain).map_err(|_| "not a text file".to_owned())
}

fn render(path: &str, report: &Report) -> String {
    let mut out = format!("kernel config: {path}\n");
    for f in &report.findings {
        let mark = match (f.ok, f.requirement.severity) {
            (true, _) => "ok     ",
            (false, Severity::Required) => "MISSING",
            (false, Severity::Recommended) => "warn   ",
        };
        let opt = format!("CONFIG_{}", f.option);
        let alternatives = if f.requirement.options.len() > 1 && !f.ok {
            one_of(f.requirement.options)
        } else {
            String::new()
        };
        out.push_str(&format!(
            "{mark}  {opt:<28} {:<7}  {}{alternatives}\n",
            f.state.as_str(),
            f.requirement.feature
        ));
    }
    for n in &report.notes {
        let mark = if n.fatal { "MISSING" } else { "note   " };
        out.push_str(&format!(
            "{mark}  CONFIG_{:<21} {:<7}  {}\n",
            n.option, "", n.text
        ));
    }
    if report.boot_cannot_work() {
        let missing: Vec<String> = report
            .missing_required()
            .iter()
            .map(|o| format!("CONFIG_{o}"))
            .collect();
        out.push_str(&format!(
            "result: netinit cannot boot with this kernel: {}\n",
            missing.join(", ")
        ));
    } else {
        out.push_str("result: ok, netinit can boot with this kernel\n");
    }
    out
}

/// ` (needs one of CONFIG_A, CONFIG_B, …)`, shortened for long lists.
fn one_of(options: &[&str]) -> String {
    const SHOWN: usize = 6;
    let mut names: Vec<String> = options
        .iter()
        .take(SHOWN)
        .map(|o| format!("CONFIG_{o}"))
        .collect();
    if options.len() > SHOWN {
        names.push("…".to_owned());
    }
    format!(" (needs one of {})", names.join(", "))
}

fn to_json(path: &str, report: &Report) -> Json {
    let options: Vec<Json> = report
        .findings
        .iter()
        .map(|f| {
            Json::object()
                .with("option", format!("CONFIG_{}", f.option))
                .with(
                    "alternatives",
                    f.requirement
                        .options
                        .iter()
                        .map(|o| format!("CONFIG_{o}"))
                        .collect::<Vec<_>>(),
                )
                .with("state", f.state.as_str())
                .with("ok", f.ok)
                .with("required", f.requirement.severity == Severity::Required)
                .with("feature", f.requirement.feature)
        })
        .collect();
    let notes: Vec<Json> = report
        .notes
        .iter()
        .map(|n| {
            Json::object()
                .with("option", format!("CONFIG_{}", n.option))
                .with("fatal", n.fatal)
                .with("text", n.text)
        })
        .collect();
    Json::object()
        .with("config", path)
        .with("ok", !report.boot_cannot_work())
        .with("options", Json::Array(options))
        .with("notes", Json::Array(notes))
}
