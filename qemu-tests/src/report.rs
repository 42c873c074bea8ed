//! Per-phase timings from netinit's own log lines, and the table.

use std::collections::BTreeMap;

/// The phases in boot order, as netinit names its steps.
pub const PHASES: [&str; 8] = [
    "init",
    "modules",
    "link",
    "dhcp",
    "nfs",
    "squashfs",
    "overlay",
    "switch_root",
];

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Phases {
    /// Milliseconds per phase.
    pub ms: BTreeMap<String, u64>,
}

/// `[    1.234567] rest` → (1.234567, rest).
fn stamp(line: &str) -> Option<(f64, &str)> {
    let rest = line.trim_start().strip_prefix('[')?;
    let (t, rest) = rest.split_once(']')?;
    Some((t.trim().parse().ok()?, rest.trim_start()))
}

/// Reads `<step>: done in N ms`, the start line (kernel → /init), the
/// exec line and the checker's `NETINIT-MARK uptime=` (switch_root →
/// the new init running).
pub fn parse(console: &str) -> Phases {
    let mut p = Phases::default();
    let mut exec_at: Option<f64> = None;
    for line in console.lines() {
        if let Some(up) = line.trim().strip_prefix("NETINIT-MARK uptime=") {
            if let (Some(at), Ok(up)) = (exec_at, up.trim().parse::<f64>()) {
                let at: f64 = at;
                p.ms.insert("switch_root".into(), ((up - at) * 1000.0).max(0.0) as u64);
            }
            continue;
        }
        let Some((t, rest)) = stamp(line) else {
            continue;
        };
        let Some(rest) = rest.strip_prefix("netinit: ") else {
            continue;
        };
        if rest.starts_with("init: netinit ") && rest.contains(" started") {
            p.ms.insert("init".into(), (t * 1000.0) as u64);
        } else if rest.starts_with("switch_root: exec ") {
            exec_at = Some(t);
        } else if let Some((step, tail)) = rest.split_once(": done in ") {
            if let Some(ms) = tail.strip_suffix(" ms").and_then(|n| n.parse::<u64>().ok()) {
                // The nfs column is the transport: an HTTP fetch counts there.
                let step = match step {
                    "static" => "dhcp",
                    "fetch" => "nfs",
                    s => s,
                };
                *p.ms.entry(step.to_owned()).or_insert(0) += ms;
            }
        }
    }
    p
}

/// A fixed-width table.
pub fn table(rows: &[(String, String, String, Phases, f64)]) -> String {
    let mut out = format!("{:<26} {:<22} {:<6}", "scenario", "NIC", "result");
    for ph in PHASES {
        out.push_str(&format!(
            " {:>11}",
            if ph == "init" { "kernel→init" } else { ph }
        ));
    }
    out.push_str(&format!(" {:>8}\n", "wall"));
    for (name, nic, result, phases, wall) in rows {
        out.push_str(&format!("{name:<26} {nic:<22} {result:<6}"));
        for ph in PHASES {
            match phases.ms.get(ph) {
                Some(ms) => out.push_str(&format!(" {:>9}ms", ms)),
                None => out.push_str(&format!(" {:>11}", "-")),
            }
        }
        out.push_str(&format!(" {wall:>7.1}s\n"));
    }
    out.push_str("(times from netinit's own log lines; dhcp is static for static ip=; switch_root runs until the new init prints its uptime)\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_netinit_lines() {
        let console = "\
[    1.901234] netinit: init: netinit 0.1.0 started at 1.901200 s
[    2.000000] netinit: modules: round 1: 3 new devices, loaded e1000
[    2.300000] netinit: modules: done in 399 ms
[    2.310000] netinit: link: done in 5 ms
[    2.500000] netinit: static: done in 12 ms
[    2.600000] netinit: nfs: done in 60 ms
[    2.700000] netinit: switch_root: exec /sbin/init
NETINIT-MARK uptime=2.95
";
        let p = parse(console);
        assert_eq!(p.ms["init"], 1901);
        assert_eq!(p.ms["modules"], 399);
        assert_eq!(p.ms["dhcp"], 12);
        assert_eq!(p.ms["nfs"], 60);
        assert_eq!(p.ms["switch_root"], 250);
        assert!(!p.ms.contains_key("overlay"));
        let t = table(&[("x".into(), "e1000".into(), "PASS".into(), p, 4.2)]);
        assert!(t.lines().nth(1).unwrap().starts_with("x"));
        assert!(t.contains("399ms"));
    }
}
