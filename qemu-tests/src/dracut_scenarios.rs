//! dracut's network-root dialect: every NFS root form from a dnsmasq that
//! hands each MAC its own root-path and the next-server 10.77.0.2, while
//! root-paths name 10.77.0.3 and dnsmasq itself is 10.77.0.1. The checker
//! reads the server that was mounted from `addr=` in /proc/mounts, so each
//! boot shows which source won. Appended to the table by `scenarios::all`.

use crate::lab::{NEXT_SERVER, ROOTPATH_SERVER};
use crate::scenario::{Expect, Scenario, netinit_boot, pass};

const NAMES: [&str; 6] = [
    "dracut-rootpath-nfs4",
    "dracut-rootpath-no-server-v3",
    "dracut-root-nfs-no-server",
    "dracut-legacy-ifname",
    "dracut-kernel-form-rootpath",
    "dracut-overlay",
];

/// The next-server these scenarios' MACs get. (The server-id fallback
/// is not booted: with TFTP on, dnsmasq sends its own address as
/// next-server even when told 0.0.0.0; plan.rs tests it.)
pub fn next_server(name: &str) -> Option<String> {
    NAMES.contains(&name).then(|| NEXT_SERVER.to_owned())
}

/// One diskless export per scenario, `/export/<name>`.
fn scenario(
    name: &'static str,
    what: &'static str,
    cmdline: String,
    root_path: Option<String>,
    expect: Expect,
) -> Scenario {
    Scenario {
        diskless: Some(name.to_owned()),
        root_path,
        ..netinit_boot(name, what, cmdline, expect, 120)
    }
}

/// `first` is the index the first of these gets in the whole table (the
/// MACs, and so `ifname=`, depend on it).
pub fn all(first: usize) -> Vec<Scenario> {
    let (ns, rp) = (NEXT_SERVER, ROOTPATH_SERVER);
    let e = |n: &str| format!("/export/{n}");
    vec![
        scenario(
            NAMES[0],
            "root=dhcp; root-path nfs4:SERVER:/path:options (':' before the options): the root-path's \
             server wins over next-server; rd.net.* timeouts and rd.retry accepted",
            "root=dhcp rd.net.timeout.dhcp=20 rd.net.dhcp.retry=2 rd.net.timeout.carrier=10 rd.retry=60"
                .into(),
            Some(format!("nfs4:{rp}:{}:vers=4.2,rsize=32768", e(NAMES[0]))),
            pass(&[
                ("root", "nfs4"),
                ("proto", "dhcp"),
                ("vers", "4.2"),
                ("server", rp),
                ("opts", "rsize=32768"),
            ]),
        ),
        scenario(
            NAMES[1],
            "root=dhcp; root-path /path,options with no server: DHCP next-server; NFSv3, ',' before the options",
            "root=dhcp".into(),
            Some(format!("{},vers=3,wsize=16384", e(NAMES[1]))),
            pass(&[
                ("root", "nfs"),
                ("proto", "dhcp"),
                ("vers", "3"),
                ("server", ns),
                ("opts", "wsize=16384"),
            ]),
        ),
        scenario(
            NAMES[2],
            "root=nfs:/path:options with no server: next-server, not the server the root-path names; \
             the cmdline's path, not the root-path's; rd.neednet=1",
            format!("root=nfs:{}:timeo=70,retrans=3 rd.neednet=1", e(NAMES[2])),
            Some(format!("{rp}:/export/nope")),
            pass(&[
                ("root", "nfs"),
                ("proto", "dhcp"),
                ("vers", "3"),
                ("server", ns),
                ("opts", "timeo=70,retrans=3"),
            ]),
        ),
        scenario(
            NAMES[3],
            "legacy root=SERVER:/path,options over NFSv4.2; ifname= renames the NIC to bootnet before \
             ip=bootnet:dhcp uses it; rd.peerdns=0 keeps only nameserver=",
            format!(
                "root={rp}:{},vers=4.2,rsize=65536 ifname=bootnet:{} ip=bootnet:dhcp rd.peerdns=0 nameserver=10.77.0.9",
                e(NAMES[3]),
                Scenario::mac(first + 3, 0)
            ),
            None,
            pass(&[
                ("root", "nfs4"),
                ("proto", "dhcp"),
                ("vers", "4.2"),
                ("server", rp),
                ("opts", "rsize=65536"),
                ("dev", "bootnet"),
                ("nameservers", "10.77.0.9"),
            ]),
        ),
        scenario(
            NAMES[4],
            "root=/dev/nfs (the kernel's form) with an nfs: root-path: prefix accepted, the root-path's \
             server before next-server (nfsroot.rst), NFSv4.1",
            "root=/dev/nfs ip=dhcp".into(),
            Some(format!("nfs:{rp}:{},vers=4.1", e(NAMES[4]))),
            pass(&[
                ("root", "nfs4"),
                ("proto", "dhcp"),
                ("vers", "4.1"),
                ("server", rp),
            ]),
        ),
        scenario(
            NAMES[5],
            "rd.overlay=tmpfs:size=64M on root=nfs4:/path: the export read-only at /run/netinit/nfs, a \
             tmpfs upper, a write lands in RAM, not on the export; no server on the cmdline, so \
             next-server, not the root-path's",
            format!("root=nfs4:{} rd.overlay=tmpfs:size=64M", e(NAMES[5])),
            Some(format!("{rp}:/export/nope")),
            pass(&[
                ("root", "overlay"),
                ("proto", "dhcp"),
                ("server", ns),
                ("overlay", "1"),
            ]),
        ),
    ]
}
