//! Hands the network to the booted system: klibc's net-IFACE.conf,
//! resolv.conf and hostname, and a keep-the-link config for whichever
//! network managers the new root has. Files under /run move into the new
//! root with /run; files under /etc go into the new root (the overlay's
//! upper layer on a live system).

use std::path::Path;

use netinit_core::handoff;
use netinit_core::net::NetState;
use netinit_sys::host::Hostname;
use netinit_sys::mount::{Files, under};

use super::assemble::{Assembled, RUN_DIR};
use crate::step::{Step, StepError};
use crate::{info, warn};

/// Marker paths of each network manager inside a root.
const NETWORKMANAGER: [&str; 2] = ["usr/sbin/NetworkManager", "etc/NetworkManager"];
const NETWORKD: [&str; 2] = [
    "lib/systemd/systemd-networkd",
    "usr/lib/systemd/systemd-networkd",
];
const NETPLAN: [&str; 2] = ["usr/sbin/netplan", "etc/netplan"];
const IFUPDOWN: &str = "etc/network/interfaces";
const IFUPDOWN_DIR: &str = "etc/network/interfaces.d";
const DHCPCD: [&str; 3] = ["usr/bin/dhcpcd", "usr/sbin/dhcpcd", "sbin/dhcpcd"];
const DHCPCD_CONF: &str = "etc/dhcpcd.conf";
const CONNMAN: [&str; 2] = ["usr/bin/connmand", "usr/sbin/connmand"];
const CONNMAN_CONF: &str = "etc/connman/main.conf";
const NETCTL: [&str; 2] = ["usr/bin/netctl", "usr/sbin/netctl"];
const NETCTL_DIR: &str = "etc/netctl";
/// live-config's main script (Debian live images).
const LIVE_CONFIG: [&str; 2] = ["lib/live/config.sh", "usr/lib/live/config.sh"];

fn has(sys: &dyn Files, root: &Path, markers: &[&str]) -> bool {
    markers.iter().any(|m| sys.exists(&root.join(m)))
}

/// Writes `rel` inside the new root; symlinks resolve inside it, never
/// out of it (a root's /etc/hostname linking to the initramfs's files
/// must not make PID 1 write there). A read-only root (an NFS root
/// mounted `ro`) is not a reason to fail the boot: the file is skipped
/// with a warning, as is a link to a directory the root doesn't have.
/// Returns whether it was written.
fn write_in_root<S: Files>(
    sys: &mut S,
    root: &Path,
    rel: &str,
    text: &str,
) -> Result<bool, StepError> {
    match sys.write_in(root, rel, text) {
        Ok(()) => Ok(true),
        // EROFS
        Err(e) if e.errno == netinit_core::errno::EROFS => {
            warn!(Step::Handoff, "{e}: the root is read-only, skipped");
            Ok(false)
        }
        // ENOENT: a dangling symlink inside the root.
        Err(e) if e.errno == netinit_core::errno::ENOENT => {
            warn!(
                Step::Handoff,
                "{e}: a symlink to nowhere in the new root, skipped"
            );
            Ok(false)
        }
        Err(e) => Err(StepError::new(Step::Handoff, e)),
    }
}

/// Rewrites the root's config file `rel` with `render`, which gets its
/// current text and returns `None` when it needs no change; `label` says
/// in the log what the edit does.
fn edit_in_root<S: Files>(
    sys: &mut S,
    root: &Path,
    (rel, render): (&str, impl FnOnce(Option<&str>) -> Option<String>),
    label: &str,
    wrote: &mut Vec<String>,
) -> Result<(), StepError> {
    let old = sys.read_in(root, rel);
    if let Some(text) = render(old.as_deref()) {
        if write_in_root(sys, root, rel, &text)? {
            wrote.push(format!("/{rel} ({label})"));
        }
    }
    Ok(())
}

/// A boot interface that is a bond or VLAN: networkd's `.netdev` and
/// `.network` files for it and its lower links, and netplan's `bonds` /
/// `vlans` in place of the plain-NIC file [`write`] made.
pub fn write_links<S: Files>(
    sys: &mut S,
    net: &NetState,
    plan: &netinit_core::plan::NetworkPlan,
    root: &Path,
) -> Result<Vec<String>, StepError> {
    let err = |e| StepError::new(Step::Handoff, e);
    let mut wrote = Vec::new();
    if has(sys, root, &NETWORKD) {
        for (name, text) in handoff::networkd_links(net, &plan.vlans, &plan.bonds) {
            let p = format!("/run/systemd/network/{name}");
            sys.write(Path::new(&p), &text).map_err(err)?;
            wrote.push(p);
        }
    }
    if has(sys, root, &NETPLAN) {
        if let Some(text) = handoff::netplan_links_yaml(net, &plan.vlans, &plan.bonds) {
            let p = format!("/run/netplan/{}.yaml", net.interface);
            sys.write(Path::new(&p), &text).map_err(err)?;
            wrote.push(format!("{p} (netplan: bonds/vlans, critical)"));
        }
    }
    Ok(wrote)
}

/// Writes every hand-off file; returns what was written, for the log.
pub fn write<S: Files + Hostname>(
    sys: &mut S,
    net: &NetState,
    assembled: &Assembled,
    uptime_secs: u64,
) -> Result<Vec<String>, StepError> {
    let root = assembled.newroot.as_path();
    let err = |e| StepError::new(Step::Handoff, e);
    let mut wrote = Vec::new();
    let conf = format!("/run/net-{}.conf", net.interface);
    sys.write(
        Path::new(&conf),
        &handoff::klibc_net_conf(net, Some(&assembled.root), uptime_secs),
    )
    .map_err(err)?;
    wrote.push(conf);
    if let Some(text) = handoff::klibc_net6_conf(net) {
        let conf6 = format!("/run/net6-{}.conf", net.interface);
        sys.write(Path::new(&conf6), &text).map_err(err)?;
        wrote.push(conf6);
    }
    let json = format!("{RUN_DIR}/net.json");
    sys.write(Path::new(&json), &net.to_json(0).to_pretty())
        .map_err(err)?;
    wrote.push(json);

    write_names(sys, root, net, &mut wrote)?;
    if has(sys, root, &NETWORKMANAGER) {
        let p = "/run/NetworkManager/conf.d/90-netinit.conf";
        sys.write(Path::new(p), &handoff::networkmanager_conf(net))
            .map_err(err)?;
        wrote.push(format!("{p} (NetworkManager: {} unmanaged)", net.interface));
    }
    if has(sys, root, &NETWORKD) {
        let p = format!("/run/systemd/network/10-netinit-{}.network", net.interface);
        sys.write(Path::new(&p), &handoff::networkd_unit(net))
            .map_err(err)?;
        wrote.push(format!("{p} (systemd-networkd: KeepConfiguration=yes)"));
    }
    if has(sys, root, &NETPLAN) {
        // Named as Ubuntu's initramfs-tools names it: one file per interface.
        let p = format!("/run/netplan/{}.yaml", net.interface);
        sys.write(Path::new(&p), &handoff::netplan_yaml(net))
            .map_err(err)?;
        wrote.push(format!("{p} (netplan: critical)"));
    }
    let iface = net.interface.as_str();
    if has(sys, root, &DHCPCD) {
        let render = |old: Option<&str>| handoff::dhcpcd_conf(old, iface);
        let label = format!("dhcpcd: denyinterfaces {iface}");
        edit_in_root(sys, root, (DHCPCD_CONF, render), &label, &mut wrote)?;
    }
    if has(sys, root, &CONNMAN) {
        let render = |old: Option<&str>| handoff::connman_main_conf(old, iface);
        let label = format!("connman: NetworkInterfaceBlacklist +{iface}");
        edit_in_root(sys, root, (CONNMAN_CONF, render), &label, &mut wrote)?;
    }
    netctl_dropins(sys, root, net, &mut wrote)?;
    ifupdown_stanza(sys, root, net, &mut wrote)?;
    Ok(wrote)
}

/// /etc/resolv.conf (unless the root manages it) and the host name
/// (unless live-config names it).
fn write_names<S: Files + Hostname>(
    sys: &mut S,
    root: &Path,
    net: &NetState,
    wrote: &mut Vec<String>,
) -> Result<(), StepError> {
    if let Some(text) = handoff::resolv_conf(net) {
        let path = under(root, "etc/resolv.conf");
        if sys.is_symlink(&path) {
            // systemd-resolved and friends manage it; writing through the
            // link would land in the initramfs's /run.
            info!(
                Step::Handoff,
                "/etc/resolv.conf is a symlink: left to the booted system"
            );
        } else if write_in_root(sys, root, "etc/resolv.conf", &text)? {
            wrote.push("/etc/resolv.conf".into());
        }
    }
    // live-config names the host only when the image has no /etc/hostname
    // (live-build leaves none); a file from DHCP would silence its
    // hostname= and its default. The kernel's name is still set.
    let leave_to_live_config =
        has(sys, root, &LIVE_CONFIG) && !sys.exists(&under(root, "etc/hostname"));
    match &net.hostname {
        Some(name) if handoff::valid_hostname(name) && leave_to_live_config => {
            info!(
                Step::Handoff,
                "/etc/hostname left to live-config in the image; {name} set for now"
            );
            if let Err(e) = sys.set_hostname(name) {
                warn!(Step::Handoff, "{e}");
            }
        }
        Some(name) if handoff::valid_hostname(name) => {
            if write_in_root(sys, root, "etc/hostname", &format!("{name}\n"))? {
                wrote.push("/etc/hostname".into());
            }
            if let Err(e) = sys.set_hostname(name) {
                warn!(Step::Handoff, "{e}");
            }
        }
        Some(name) => warn!(
            Step::Handoff,
            "hostname {name:?} from the network is not a valid host name: not set"
        ),
        None => {}
    }
    Ok(())
}

// The steps `write_links` runs in turn share one signature, so their heads
// are alike by design.
/// Drop-ins that keep every netctl unit that could start on the
/// interface from starting.
fn netctl_dropins<S: Files>(
    sys: &mut S,
    root: &Path,
    net: &NetState,
    wrote: &mut Vec<String>,
) -> Result<(), StepError> {
    let err = |e| StepError::new(Step::Handoff, e);
    if has(sys, root, &NETCTL) {
        // Every unit that could start a netctl profile on the interface.
        let profiles: Vec<(String, String)> = sys
            .list_dir(&root.join(NETCTL_DIR))
            .unwrap_or_default()
            .into_iter()
            .filter_map(|name| {
                let text = sys.read_in(root, &format!("{NETCTL_DIR}/{name}"))?;
                Some((name, text))
            })
            .collect();
        let mut units: Vec<String> = handoff::netctl_profiles_for(&profiles, &net.interface)
            .into_iter()
            .map(|p| format!("netctl@{}.service", handoff::systemd_escape(p)))
            .collect();
        let esc = handoff::systemd_escape(&net.interface);
        units.push(format!("netctl-ifplugd@{esc}.service"));
        units.push(format!("netctl-auto@{esc}.service"));
        for unit in units {
            let p = format!("/run/systemd/system/{unit}.d/90-netinit.conf");
            sys.write(Path::new(&p), &handoff::netctl_dropin(&net.interface))
                .map_err(err)?;
            wrote.push(format!("{p} (netctl: not started)"));
        }
    }
    Ok(())
}

/// A `manual` stanza for ifupdown, unless a stanza for the interface
/// exists already (then a warning says how to keep ifdown off it).
fn ifupdown_stanza<S: Files>(
    sys: &mut S,
    root: &Path,
    net: &NetState,
    wrote: &mut Vec<String>,
) -> Result<(), StepError> {
    if let Some(text) = sys.read_in(root, IFUPDOWN) {
        // A stanza in interfaces.d (cloud-init's 50-cloud-init) counts too:
        // a second one for the same interface breaks ifupdown.
        let in_dir = handoff::ifupdown_sources_dir(&text)
            .then(|| sys.list_dir(&root.join(IFUPDOWN_DIR)))
            .flatten()
            .unwrap_or_default()
            .into_iter()
            .find(|f| {
                sys.read_in(root, &format!("{IFUPDOWN_DIR}/{f}"))
                    .is_some_and(|t| handoff::ifupdown_mentions(&t, &net.interface))
            });
        if let Some(f) = in_dir {
            warn!(
                Step::Handoff,
                "/{IFUPDOWN_DIR}/{f} already configures {}; left as is (make it 'manual' to keep ifdown off the root link)",
                net.interface
            );
        } else if handoff::ifupdown_mentions(&text, &net.interface) {
            warn!(
                Step::Handoff,
                "/etc/network/interfaces already configures {}; left as is (make it 'manual' to keep ifdown off the root link)",
                net.interface
            );
        } else if handoff::ifupdown_sources_dir(&text) {
            let p = format!("etc/network/interfaces.d/netinit-{}", net.interface);
            if write_in_root(sys, root, &p, &handoff::ifupdown_stanza(net))? {
                wrote.push(format!("/{p} (ifupdown: manual)"));
            }
        } else if write_in_root(
            sys,
            root,
            IFUPDOWN,
            &format!("{text}\n{}", handoff::ifupdown_stanza(net)),
        )? {
            wrote.push("/etc/network/interfaces (ifupdown: manual)".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    // Each test lists every file the hand-off writes for its root: a golden
    // list must read alone, so tests that look alike are meant to.
    use super::super::assemble::fake::FakeSys;
    use super::*;

    use netinit_core::net::MacAddr;
    use netinit_core::plan::{NfsVersion, ResolvedRoot};
    use std::path::PathBuf;

    fn state() -> NetState {
        NetState {
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            server_id: Some([10, 77, 0, 1].into()),
            dns: vec![[10, 77, 0, 1].into()],
            ..netinit_core::fixtures::net_state()
        }
    }

    fn assembled() -> Assembled {
        Assembled {
            newroot: PathBuf::from("/newroot"),
            root: ResolvedRoot {
                server: [10, 77, 0, 1].into(),
                path: "/export".into(),
                options: vec![],
                version: NfsVersion::V3,
                server_from: netinit_core::plan::ServerSource::Cmdline,
                options_from: Vec::new(),
                refused: Vec::new(),
                servers: Vec::new(),
            },
            images: vec![],
        }
    }

    /// A new root where each of `present` (a manager's binary or config
    /// directory) exists.
    fn with_managers(present: &[&str]) -> FakeSys {
        let mut sys = FakeSys::default();
        for m in present {
            sys.dirs.insert((*m).into(), vec![]);
        }
        sys
    }

    #[test]
    fn writes_for_every_manager_present() {
        let mut sys = with_managers(&[
            "/newroot/usr/sbin/NetworkManager",
            "/newroot/lib/systemd/systemd-networkd",
            "/newroot/etc/netplan",
        ]);
        sys.files.insert(
            "/newroot/etc/network/interfaces".into(),
            "source /etc/network/interfaces.d/*\nauto lo\niface lo inet loopback\n".into(),
        );
        let wrote = write(&mut sys, &state(), &assembled(), 3).unwrap();
        assert_eq!(
            sys.calls,
            [
                "write /run/net-eth0.conf",
                "write /run/netinit/net.json",
                "write /newroot/etc/resolv.conf",
                "write /run/NetworkManager/conf.d/90-netinit.conf",
                "write /run/systemd/network/10-netinit-eth0.network",
                "write /run/netplan/eth0.yaml",
                "write /newroot/etc/network/interfaces.d/netinit-eth0",
            ]
        );
        assert_eq!(wrote.len(), 7);
        assert!(sys.files["/run/net-eth0.conf"].contains("ROOTPATH='/export'\n"));
    }

    #[test]
    fn writes_for_dhcpcd_connman_and_netctl() {
        let mut sys = with_managers(&[
            "/newroot/usr/bin/dhcpcd",
            "/newroot/usr/bin/connmand",
            "/newroot/usr/bin/netctl",
        ]);
        sys.files
            .insert("/newroot/etc/dhcpcd.conf".into(), "hostname\nduid\n".into());
        sys.dirs.insert(
            "/newroot/etc/netctl".into(),
            vec!["eth0-dhcp".into(), "wlan".into(), "examples".into()],
        );
        sys.files.insert(
            "/newroot/etc/netctl/eth0-dhcp".into(),
            "Interface=eth0\nConnection=ethernet\nIP=dhcp\n".into(),
        );
        sys.files.insert(
            "/newroot/etc/netctl/wlan".into(),
            "Interface=wlan0\n".into(),
        );
        let wrote = write(&mut sys, &state(), &assembled(), 3).unwrap();
        assert_eq!(
            sys.calls,
            [
                "write /run/net-eth0.conf",
                "write /run/netinit/net.json",
                "write /newroot/etc/resolv.conf",
                "write /newroot/etc/dhcpcd.conf",
                "write /newroot/etc/connman/main.conf",
                "write /run/systemd/system/netctl@eth0\\x2ddhcp.service.d/90-netinit.conf",
                "write /run/systemd/system/netctl-ifplugd@eth0.service.d/90-netinit.conf",
                "write /run/systemd/system/netctl-auto@eth0.service.d/90-netinit.conf",
            ]
        );
        assert!(sys.files["/newroot/etc/dhcpcd.conf"].ends_with("denyinterfaces eth0\n"));
        assert!(
            sys.files["/newroot/etc/connman/main.conf"]
                .contains("NetworkInterfaceBlacklist = vmnet,vboxnet,virbr,ifb,ve-,vb-,eth0\n")
        );
        assert_eq!(wrote.len(), 8, "{wrote:?}");
        // Already handled: nothing is written twice.
        let mut again = FakeSys {
            files: sys.files.clone(),
            dirs: sys.dirs.clone(),
            ..Default::default()
        };
        write(&mut again, &state(), &assembled(), 3).unwrap();
        assert!(
            !again
                .calls
                .iter()
                .any(|c| c.contains("dhcpcd.conf") || c.contains("main.conf"))
        );
    }

    #[test]
    fn an_ifupdown_stanza_in_interfaces_d_is_left_alone() {
        let mut sys = FakeSys::default();
        sys.files.insert(
            "/newroot/etc/network/interfaces".into(),
            "source /etc/network/interfaces.d/*\n".into(),
        );
        sys.dirs.insert(
            "/newroot/etc/network/interfaces.d".into(),
            vec!["50-cloud-init".into()],
        );
        sys.files.insert(
            "/newroot/etc/network/interfaces.d/50-cloud-init".into(),
            "auto eth0\niface eth0 inet dhcp\n".into(),
        );
        write(&mut sys, &state(), &assembled(), 3).unwrap();
        assert!(
            !sys.calls.iter().any(|c| c.contains("interfaces.d/netinit")),
            "{:?}",
            sys.calls
        );
    }

    #[test]
    fn leaves_resolv_symlink_and_existing_ifupdown_stanza() {
        let mut sys = FakeSys::default();
        sys.files.insert(
            "/newroot/etc/resolv.conf".into(),
            "-> ../run/systemd/resolve/stub-resolv.conf".into(),
        );
        sys.files.insert(
            "/newroot/etc/network/interfaces".into(),
            "iface eth0 inet dhcp\n".into(),
        );
        write(&mut sys, &state(), &assembled(), 3).unwrap();
        assert_eq!(
            sys.calls,
            ["write /run/net-eth0.conf", "write /run/netinit/net.json"]
        );
    }
    #[test]
    fn hostname_is_written_and_set_only_when_valid() {
        let mut sys = FakeSys::default();
        let mut net = state();
        net.hostname = Some("node7".into());
        write(&mut sys, &net, &assembled(), 3).unwrap();
        assert!(
            sys.calls
                .contains(&"write /newroot/etc/hostname".to_string())
        );
        assert!(sys.calls.contains(&"sethostname node7".to_string()));
        assert_eq!(sys.files["/newroot/etc/hostname"], "node7\n");

        let mut sys = FakeSys::default();
        net.hostname = Some("../../etc/x y".into());
        write(&mut sys, &net, &assembled(), 3).unwrap();
        assert!(
            !sys.calls.iter().any(|c| c.contains("hostname")),
            "{:?}",
            sys.calls
        );
    }

    #[test]
    fn live_config_names_the_host_when_the_image_has_no_hostname() {
        let mut sys = FakeSys::default();
        sys.files
            .insert("/newroot/usr/lib/live/config.sh".into(), String::new());
        let mut net = state();
        net.hostname = Some("node7".into());
        write(&mut sys, &net, &assembled(), 3).unwrap();
        assert!(!sys.files.contains_key("/newroot/etc/hostname"));
        assert!(sys.calls.contains(&"sethostname node7".to_string()));
        // An image that ships /etc/hostname gets DHCP's, as everywhere.
        sys.files
            .insert("/newroot/etc/hostname".into(), "image\n".into());
        write(&mut sys, &net, &assembled(), 3).unwrap();
        assert_eq!(sys.files["/newroot/etc/hostname"], "node7\n");
    }

    #[test]
    fn a_read_only_root_skips_its_files_but_not_run() {
        let mut sys = FakeSys {
            write_error: Some(("/newroot".into(), netinit_core::errno::EROFS)),
            ..Default::default()
        };
        sys.dirs
            .insert("/newroot/lib/systemd/systemd-networkd".into(), vec![]);
        sys.files.insert(
            "/newroot/etc/network/interfaces".into(),
            "auto lo\niface lo inet loopback\n".into(),
        );
        let mut net = state();
        net.hostname = Some("node7".into());
        let wrote = write(&mut sys, &net, &assembled(), 3).unwrap();
        assert_eq!(
            wrote,
            [
                "/run/net-eth0.conf",
                "/run/netinit/net.json",
                "/run/systemd/network/10-netinit-eth0.network (systemd-networkd: KeepConfiguration=yes)",
            ]
        );
        // Any other write failure still fails the step.
        let mut sys = FakeSys {
            write_error: Some(("/newroot".into(), netinit_core::errno::ENOSPC)),
            ..Default::default()
        };
        let e = write(&mut sys, &state(), &assembled(), 3).unwrap_err();
        assert_eq!(e.step, Step::Handoff);
        assert_eq!(e.reason, "write /newroot/etc/resolv.conf: ENOSPC");
    }
}
