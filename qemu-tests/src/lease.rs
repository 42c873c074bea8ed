//! The lease keeper scenarios: the booted system keeps its DHCP lease for
//! its whole uptime. They share a lab of their own, whose dnsmasq renews
//! every 10 s (T1) on a 2-minute lease and is restarted under them:
//!
//! 1. three renewals each;
//! 2. dnsmasq restarted with its lease file: two more renewals each;
//! 3. dnsmasq restarted with a pool that excludes their addresses: it
//!    refuses the next renewal (DHCPNAK), which the keeper logs loudly;
//! 4. dnsmasq restarted as before: the keeper gets the address back.
//!
//! Meanwhile each guest checks every 5 s that its address is still there
//! and its NFS root still reads, until `lab.lease_until` seconds of uptime.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::lab::{Dhcp, Lab, SERVER};
use crate::scenario::{Expect, Initrd, Scenario, nic};

/// The guests' checks run until this uptime; the dance above must be
/// over well before it.
const LEASE_UNTIL_SECS: u64 = 200;
const DANCE_BUDGET: Duration = Duration::from_secs(180);

/// dnsmasq's settings for these scenarios: T1 10 s on dnsmasq's minimum
/// lease, so a renewal every 10 s stands in for one every hour.
pub fn dhcp() -> Dhcp {
    Dhcp {
        lease: "2m",
        t1_secs: Some(10),
        ..Dhcp::default()
    }
}

/// The same pool moved away from the guests' addresses: dnsmasq, being
/// authoritative, refuses their renewals.
fn refusing() -> Dhcp {
    Dhcp {
        range: "10.77.0.200,10.77.0.250",
        ..dhcp()
    }
}

pub fn scenarios() -> Vec<Scenario> {
    let s = SERVER;
    vec![
        Scenario {
            name: "lease-keeper-busybox",
            what: "a bare busybox root (no DHCP client): the keeper renews every T1, across a dnsmasq restart and a DHCPNAK; the address and NFS stay",
            nics: vec![nic("virtio-net-pci")],
            pxe: false,
            cmdline: format!(
                "boot=live netboot=nfs nfsroot={s}:/export/live ip=dhcp lab.lease_until={LEASE_UNTIL_SECS}"
            ),
            diskless: None,
            root_path: None,
            expect: Expect::Lease(Box::new(crate::scenario::pass(&[
                ("root", "overlay"),
                ("proto", "dhcp"),
            ]))),
            timeout_secs: 360,
            initrd: Initrd::Netinit,
        },
        Scenario {
            name: "lease-keeper-networkmanager",
            what: "a real Debian with NetworkManager (told to leave the NIC alone): the keeper renews for it, across a dnsmasq restart and a DHCPNAK",
            nics: vec![nic("virtio-net-pci")],
            pxe: false,
            cmdline: format!(
                "boot=live netboot=nfs nfsroot={s}:/export/realsys ip=dhcp init=/lib/systemd/systemd systemd.mask=systemd-networkd.service lab.realsys=nm lab.lease_until={LEASE_UNTIL_SECS}"
            ),
            diskless: None,
            root_path: None,
            expect: Expect::Lease(Box::new(Expect::RealSys)),
            timeout_secs: 420,
            initrd: Initrd::Netinit,
        },
    ]
}

type Done = (usize, crate::Row, Result<String, String>);

/// Boots `chosen` with `boot` while the dance runs against `lab`; a row
/// passes only if its guest passed and the dance went through.
pub fn run(
    lab: &Lab,
    chosen: &[(usize, Scenario)],
    boot: impl FnOnce() -> Vec<Done> + Send,
) -> Vec<Done> {
    let macs: Vec<String> = chosen.iter().map(|(i, _)| Scenario::mac(*i, 0)).collect();
    let (rows, dance) = std::thread::scope(|scope| {
        let dance = scope.spawn(|| dance(lab, &macs));
        let rows = boot();
        (
            rows,
            dance
                .join()
                .unwrap_or_else(|_| Err("the dance panicked".into())),
        )
    });
    match &dance {
        Ok(d) => eprintln!("netinit-lab: lease dance: {d}"),
        Err(e) => eprintln!("netinit-lab: lease dance FAILED: {e}"),
    }
    rows.into_iter()
        .map(|(i, row, verdict)| {
            let verdict = match (verdict, &dance) {
                (Ok(v), Ok(d)) => Ok(format!("{v}; {d}")),
                (Ok(_), Err(e)) => Err(e.clone()),
                (Err(v), _) => Err(v),
            };
            (i, row, verdict)
        })
        .collect()
}

/// dnsmasq's log, from byte `from` on (0 again if it was truncated).
fn log_since(log: &Path, from: u64) -> (String, u64) {
    let text = std::fs::read(log).unwrap_or_default();
    let len = text.len() as u64;
    let start = if from > len { 0 } else { from };
    let tail = text
        .get(usize::try_from(start).unwrap_or(0)..)
        .unwrap_or(&[]);
    (String::from_utf8_lossy(tail).into_owned(), len)
}

/// How many `kind` lines (`DHCPACK`, `DHCPNAK`) dnsmasq logged for `mac`.
pub fn count(log: &str, kind: &str, mac: &str) -> usize {
    let tag = format!("{kind}(");
    log.lines()
        .filter(|l| l.contains(&tag) && l.contains(mac))
        .count()
}

/// Waits until every MAC has `want` `kind` lines after `from`.
fn wait_for(
    log: &Path,
    from: u64,
    kind: &str,
    want: usize,
    macs: &[String],
    deadline: Instant,
    phase: &str,
) -> Result<u64, String> {
    loop {
        let (text, len) = log_since(log, from);
        let seen: Vec<usize> = macs.iter().map(|m| count(&text, kind, m)).collect();
        if seen.iter().all(|n| *n >= want) {
            return Ok(len);
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "{phase}: want {want} {kind} per guest, dnsmasq logged {seen:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn dance(lab: &Lab, macs: &[String]) -> Result<String, String> {
    let log = lab.work.join("logs/dnsmasq.log");
    let deadline = Instant::now() + DANCE_BUDGET;
    // The boot's own ACK, then three renewals.
    wait_for(&log, 0, "DHCPACK", 4, macs, deadline, "renewals")?;
    lab.restart_dnsmasq(&dhcp())?;
    let (_, mark) = log_since(&log, 0);
    let mark = wait_for(
        &log,
        mark,
        "DHCPACK",
        2,
        macs,
        deadline,
        "after a dnsmasq restart",
    )?;
    lab.restart_dnsmasq(&refusing())?;
    let mark = wait_for(
        &log,
        mark,
        "DHCPNAK",
        1,
        macs,
        deadline,
        "a refusing server",
    )?;
    lab.restart_dnsmasq(&dhcp())?;
    wait_for(&log, mark, "DHCPACK", 1, macs, deadline, "the address back")?;
    Ok("3 renewals, 2 more after a dnsmasq restart, a DHCPNAK, then the address back".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::judge_keeper;

    #[test]
    fn counts_dnsmasq_lines_per_guest() {
        let log = "dnsmasq-dhcp[7]: 1 DHCPREQUEST(br0) 10.77.0.100 52:54:00:77:14:00\n\
                   dnsmasq-dhcp[7]: 1 DHCPACK(br0) 10.77.0.100 52:54:00:77:14:00 lab-x\n\
                   dnsmasq-dhcp[7]: 2 DHCPACK(br0) 10.77.0.101 52:54:00:77:15:00 lab-y\n\
                   dnsmasq-dhcp[7]: 3 DHCPNAK(br0) 10.77.0.100 52:54:00:77:14:00 wrong network\n";
        assert_eq!(count(log, "DHCPACK", "52:54:00:77:14:00"), 1);
        assert_eq!(count(log, "DHCPNAK", "52:54:00:77:14:00"), 1);
        assert_eq!(count(log, "DHCPNAK", "52:54:00:77:15:00"), 0);
    }

    #[test]
    fn judges_the_keepers_account() {
        let renew =
            "[ 20.0] netinit-lease: eth0: renewed with 10.77.0.1: lease 120 s, T1 10 s, T2 105 s\n";
        let nak = "[ 70.0] netinit-lease: eth0: DHCPNAK from 10.77.0.1 (wrong network): the server refuses the lease\n";
        let good = format!("{}{nak}{renew}", renew.repeat(5));
        assert!(judge_keeper(&good).is_ok());
        assert_eq!(
            judge_keeper(&renew.repeat(5)),
            Err("the keeper did not log the DHCPNAK".into())
        );
        assert_eq!(
            judge_keeper(&format!("{}{nak}", renew.repeat(5))),
            Err("no renewal after the DHCPNAK".into())
        );
        assert!(judge_keeper(&format!("{renew}{nak}{renew}")).is_err());
    }
}
