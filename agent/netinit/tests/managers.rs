//! The hand-off files for dhcpcd, connman and ifupdown, checked by the
//! managers themselves: Debian's dhcpcd, connmand and ifupdown binaries
//! (fetched with `apt-get download`, unpacked into the lab cache, never
//! installed) read what netinit renders, in a network namespace the test
//! creates. netctl is Arch-only and shell: its hand-off is a systemd
//! drop-in, checked by the unit tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use netinit_core::handoff;

const PACKAGES: [&str; 3] = ["dhcpcd-base", "connman", "ifupdown"];

/// The unpacked packages (one tree), fetched on first use. The tests run
/// on threads of one process: one of them fetches, the others wait for it
/// (a per-process temporary folder would be shared between them).
fn tree() -> PathBuf {
    static TREE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    TREE.get_or_init(fetch_tree).clone()
}

fn fetch_tree() -> PathBuf {
    let base = match std::env::var_os("NETINIT_LAB_CACHE") {
        Some(c) => PathBuf::from(c),
        None => PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/netinit-lab"),
    }
    .join("managers");
    let root = base.join("root");
    if root.join("usr/sbin/connmand").is_file()
        && root.join("usr/sbin/dhcpcd").is_file()
        && root.join("sbin/ifup").is_file()
    {
        return root;
    }
    let tmp = base.join(format!("tmp-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let ok = Command::new("apt-get")
        .arg("download")
        .args(PACKAGES)
        .current_dir(&tmp)
        .status()
        .unwrap();
    assert!(ok.success(), "apt-get download {PACKAGES:?}");
    let unpacked = tmp.join("root");
    for deb in std::fs::read_dir(&tmp).unwrap().flatten() {
        if deb.path().extension().is_some_and(|e| e == "deb") {
            let ok = Command::new("dpkg-deb")
                .arg("-x")
                .arg(deb.path())
                .arg(&unpacked)
                .status()
                .unwrap();
            assert!(ok.success());
        }
    }
    // Another test process may have won the race; either tree is complete.
    let _ = std::fs::rename(&unpacked, &root);
    let _ = std::fs::remove_dir_all(&tmp);
    root
}

/// A network namespace with a veth pair: eth0 (the root NIC) and eth1.
struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Netns {
        let name = format!("nimgr{tag}{}", std::process::id());
        sh(&["ip", "netns", "add", &name]);
        sh(&[
            "ip", "-n", &name, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1",
        ]);
        for l in ["lo", "eth0", "eth1"] {
            sh(&["ip", "-n", &name, "link", "set", l, "up"]);
        }
        Netns(name)
    }

    /// Runs `cmd` in the namespace for at most `secs` seconds (and in a
    /// private mount namespace with tmpfs over /run and /var/lib, so a
    /// daemon's state files stay off the host).
    fn run(&self, secs: u32, env: &[(&str, &str)], cmd: &[&str]) -> Output {
        let script = "mount --make-rprivate / && mount -t tmpfs tmpfs /var/lib && \
                      mount -t tmpfs tmpfs /run && exec \"$@\"";
        let mut c = Command::new("ip");
        c.args([
            "netns", "exec", &self.0, "unshare", "-m", "sh", "-c", script, "sh",
        ])
        .arg("timeout")
        .arg(secs.to_string())
        .args(cmd)
        .stdin(Stdio::null());
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn sh(args: &[&str]) {
    let ok = Command::new(args[0]).args(&args[1..]).status().unwrap();
    assert!(ok.success(), "{args:?}");
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
#[ignore = "needs root and apt-get download: run by scripts/test.sh"]
fn dhcpcd_reads_denyinterfaces_and_leaves_the_root_nic_alone() {
    let root = tree();
    let dhcpcd = root.join("usr/sbin/dhcpcd");
    let t = tempfile::tempdir().unwrap();
    // Debian's own dhcpcd.conf, with what netinit adds.
    let shipped = std::fs::read_to_string(root.join("etc/dhcpcd.conf")).unwrap();
    let conf = t.path().join("dhcpcd.conf");
    std::fs::write(&conf, handoff::dhcpcd_conf(Some(&shipped), "eth0").unwrap()).unwrap();
    let ns = Netns::new("d");
    let (d, c) = (dhcpcd.to_str().unwrap(), conf.to_str().unwrap());
    // Discovering interfaces: eth1 is taken, eth0 is not.
    let all = text(&ns.run(3, &[], &[d, "-f", c, "-T", "-4", "-d"]));
    assert!(all.contains("eth1:"), "{all}");
    assert!(!all.contains("eth0:"), "{all}");
    // Named on the command line (Arch's dhcpcd@eth0.service): refused.
    let named = text(&ns.run(3, &[], &[d, "-f", c, "-T", "-4", "-d", "eth0"]));
    assert!(
        named.contains("eth0: interface has an invalid configuration"),
        "{named}"
    );
    // Without netinit's line, dhcpcd would take eth0.
    let plain = t.path().join("plain.conf");
    std::fs::write(&plain, &shipped).unwrap();
    let control = text(&ns.run(
        3,
        &[],
        &[d, "-f", plain.to_str().unwrap(), "-T", "-4", "-d"],
    ));
    assert!(control.contains("eth0:"), "{control}");
}

#[test]
#[ignore = "needs root, dbus-daemon and apt-get download: run by scripts/test.sh"]
fn connmand_reads_the_blacklist_and_ignores_the_root_nic() {
    let root = tree();
    let t = tempfile::tempdir().unwrap();
    let shipped = std::fs::read_to_string(root.join("etc/connman/main.conf")).ok();
    let conf = t.path().join("main.conf");
    std::fs::write(
        &conf,
        handoff::connman_main_conf(shipped.as_deref(), "eth0").unwrap(),
    )
    .unwrap();
    // A private D-Bus "system" bus for connmand alone.
    let bus = t.path().join("bus");
    let bus_conf = t.path().join("bus.conf");
    std::fs::write(
        &bus_conf,
        format!(
            "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\" \
             \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\
             <busconfig><type>system</type><listen>unix:path={}</listen><auth>EXTERNAL</auth>\
             <policy context=\"default\"><allow user=\"*\"/><allow own=\"*\"/>\
             <allow send_destination=\"*\"/><allow receive_sender=\"*\"/></policy></busconfig>",
            bus.display()
        ),
    )
    .unwrap();
    let mut daemon = Command::new("dbus-daemon")
        .arg(format!("--config-file={}", bus_conf.display()))
        .args(["--nofork", "--nopidfile"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..50 {
        if bus.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let ns = Netns::new("c");
    let address = format!("unix:path={}", bus.display());
    let out = ns.run(
        4,
        &[("DBUS_SYSTEM_BUS_ADDRESS", &address)],
        &[
            root.join("usr/sbin/connmand").to_str().unwrap(),
            "-n",
            "-d",
            "-r",
            "-P",
            "wifi,vpn,bluetooth,ofono,dundee,neard",
            "-c",
            conf.to_str().unwrap(),
        ],
    );
    let _ = daemon.kill();
    let _ = daemon.wait();
    let log = text(&out);
    assert!(log.contains("ignoring device eth0 (blacklist)"), "{log}");
    assert!(log.contains("Adding interface eth1"), "{log}");
    assert!(!log.contains("Adding interface eth0"), "{log}");
}

#[test]
#[ignore = "needs apt-get download: run by scripts/test.sh"]
fn ifupdown_sees_a_manual_stanza_and_ifdown_all_leaves_it() {
    let root = tree();
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("interfaces.d");
    std::fs::create_dir_all(&dir).unwrap();
    let interfaces = t.path().join("interfaces");
    std::fs::write(
        &interfaces,
        format!(
            "source {}/*\nauto lo\niface lo inet loopback\n",
            dir.display()
        ),
    )
    .unwrap();
    let state = netinit_core::net::NetState {
        interface: "eth0".into(),
        ..sample_state()
    };
    std::fs::write(dir.join("netinit-eth0"), handoff::ifupdown_stanza(&state)).unwrap();
    let run = |tool: &str, args: &[&str]| {
        let out = Command::new(root.join("sbin").join(tool))
            .args(["-n", "-v", "-i", interfaces.to_str().unwrap()])
            .arg(format!("--state-dir={}", t.path().display()))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        text(&out)
    };
    // ifup eth0 would only set the link up: no DHCP client, no address.
    let up = run("ifup", &["eth0"]);
    assert!(up.contains("ip link set dev eth0 up"), "{up}");
    assert!(!up.contains("dhclient") && !up.contains("addr add"), "{up}");
    // Boot and shutdown (ifup -a, ifdown -a) never touch it: no `auto`.
    let all = run("ifup", &["-a"]);
    assert!(!all.contains("configuring interface eth0"), "{all}");
    let down = run("ifdown", &["-a"]);
    assert!(
        !down.contains("flush dev eth0") && !down.contains("dev eth0 down"),
        "{down}"
    );
    // A second stanza elsewhere (cloud-init's) would win: that is why
    // netinit leaves such a file alone and warns instead.
    std::fs::write(
        dir.join("50-cloud-init"),
        "auto eth0\niface eth0 inet dhcp\n",
    )
    .unwrap();
    assert!(run("ifup", &["eth0"]).contains("dhclient"));
}

fn sample_state() -> netinit_core::net::NetState {
    netinit_core::net::NetState {
        ipv6: None,
        interface: String::new(),
        mac: netinit_core::net::MacAddr([2, 0, 0, 0, 0, 1]),
        ..netinit_core::fixtures::net_state()
    }
}
