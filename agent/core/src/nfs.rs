//! NFS mount options for mount(2) (there is no mount.nfs in the initrd),
//! and a hint for every errno the mount can fail with.

use std::net::IpAddr;

use crate::errno::*;
use crate::plan::{NfsVersion, ResolvedRoot};

/// What to pass to mount(2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NfsMount {
    /// `SERVER:/path`, or `[SERVER]:/path` for IPv6.
    pub source: String,
    /// `nfs` or `nfs4`.
    pub fstype: &'static str,
    /// Kernel text options.
    pub data: String,
    /// Mount read-only (`ro` among the user's options).
    pub read_only: bool,
}

/// Options we set ourselves; a user option with the same key replaces ours.
/// `addr=` is the bare address in both families; `proto=` must name the
/// family too (`tcp6`), or the kernel refuses the mount because the
/// protocol's family does not match the address's.
fn defaults(version: NfsVersion, server: IpAddr, client: IpAddr) -> Vec<(String, Option<String>)> {
    let kv = |k: &str, v: String| (k.to_owned(), Some(v));
    let tcp = family_proto("tcp", server).to_owned();
    match version {
        // No lockd/statd in the initrd: locks stay local (nolock), as every peer does.
        NfsVersion::V3 => vec![
            kv("vers", "3".into()),
            kv("proto", tcp),
            ("nolock".into(), None),
            kv("addr", server.to_string()),
        ],
        NfsVersion::V4(minor) => {
            let vers = minor.map_or_else(|| "4".to_owned(), |m| format!("4.{m}"));
            vec![
                kv("vers", vers),
                kv("proto", tcp),
                kv("addr", server.to_string()),
                kv("clientaddr", client.to_string()),
            ]
        }
    }
}

/// The kernel's netid for a transport over the server's family: `tcp` and
/// `udp` become `tcp6` and `udp6` for an IPv6 server (what mount.nfs
/// does); anything else is the user's and goes through as written.
fn family_proto(proto: &str, server: IpAddr) -> &str {
    match (proto, server) {
        ("tcp", IpAddr::V6(_)) => "tcp6",
        ("udp", IpAddr::V6(_)) => "udp6",
        (p, _) => p,
    }
}

/// The device string: the kernel reads a bracketed IPv6 server.
pub fn source(server: IpAddr, path: &str) -> String {
    match server {
        IpAddr::V4(a) => format!("{a}:{path}"),
        IpAddr::V6(a) => format!("[{a}]:{path}"),
    }
}

/// Builds the mount for a resolved root. `client` is our address in the
/// server's family (NFSv4 callbacks need it). Version words in the user's options (`v3`,
/// `nfsvers=`) are folded into `vers=`, which `root.version` already reflects.
pub fn mount_for(root: &ResolvedRoot, client: IpAddr) -> NfsMount {
    let mut opts = defaults(root.version, root.server, client);
    let mut read_only = false;
    for o in root.options.iter().filter(|o| !o.is_empty()) {
        // `tcp` and `udp` are the kernel's short forms of `proto=`.
        let o = match o.as_str() {
            "tcp" | "udp" => format!("proto={o}"),
            _ => o.clone(),
        };
        let (k, v) = match o.split_once('=') {
            Some((k @ ("proto" | "mountproto"), v)) => {
                (k.to_owned(), Some(family_proto(v, root.server).to_owned()))
            }
            Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
            None => (o, None),
        };
        // Flags only as bare words: `rw=` or `v3=1` go to the kernel, which rejects them.
        match (k.as_str(), v.is_some()) {
            ("v2" | "v3" | "v4", false) | ("vers" | "nfsvers", _) => continue,
            ("ro", false) => {
                read_only = true;
                continue;
            }
            ("rw", false) => {
                read_only = false;
                continue;
            }
            // `lock` undoes our `nolock`.
            ("lock", false) => {
                opts.retain(|(key, _)| key != "nolock");
                continue;
            }
            _ => {}
        }
        match opts.iter_mut().find(|(key, _)| *key == k) {
            Some(slot) => slot.1 = v,
            None => opts.push((k, v)),
        }
    }
    let data = opts
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!("{k}={v}"),
            None => k.clone(),
        })
        .collect::<Vec<_>>()
        .join(",");
    NfsMount {
        source: source(root.server, &root.path),
        fstype: if matches!(root.version, NfsVersion::V4(_)) {
            "nfs4"
        } else {
            "nfs"
        },
        data,
        read_only,
    }
}

/// Whether a failed mount may succeed if retried (a server that comes up
/// late), as opposed to a configuration error that will fail again.
pub fn is_transient(errno: i32) -> bool {
    matches!(
        errno,
        ETIMEDOUT
            | ECONNREFUSED
            | EHOSTUNREACH
            | ENETUNREACH
            | EAGAIN
            | EIO
            | ECONNRESET
            | EHOSTDOWN
            | ENETDOWN
    )
}

/// A hint for a failed NFS mount, naming the server where it helps.
pub fn hint(errno: i32, server: IpAddr, version: NfsVersion) -> Option<String> {
    Some(match errno {
        EACCES => "export path not allowed for this client (check the export list and the path; NFSv4 servers may export a pseudo path)".to_owned(),
        ECONNREFUSED => format!("no NFS/mountd on {server}, or nolock missing"),
        // The kernel says the same when its own nfsv3/nfsv4 module is missing.
        EPROTONOSUPPORT => match version {
            NfsVersion::V4(_) => format!(
                "{server} has no NFSv4 (try vers=3), or the nfsv4 module is not in the initrd"
            ),
            NfsVersion::V3 => format!(
                "{server} has no NFSv3 (try vers=4.2), or the nfsv3 module is not in the initrd"
            ),
        },
        ENOENT => format!("no such export path on {server}"),
        ETIMEDOUT => format!("{server} does not answer: down, firewalled, or the wrong address"),
        EHOSTUNREACH | ENETUNREACH => format!("no route to {server}: check the gateway and netmask"),
        EINVAL => "the kernel rejected the mount options (proto=udp is disabled in many kernels)".to_owned(),
        ENODEV => "the kernel has no NFS support: is the nfs module in the initrd? (netinit check-kernel)".to_owned(),
        EPERM => format!("{server} refused this client (root squash, or a privileged source port is required)"),
        ESTALE => format!("stale file handle: the export on {server} changed; restart the NFS server"),
        EIO => format!("I/O error talking to {server}"),
        EBUSY => "something is already mounted there".to_owned(),
        EHOSTDOWN => format!(
            "{server} is down (no answer to {})",
            if server.is_ipv6() {
                "neighbour discovery"
            } else {
                "ARP"
            }
        ),
        ECONNRESET => format!("{server} reset the connection: is the NFS server still starting?"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    fn root(options: &[&str], version: NfsVersion) -> ResolvedRoot {
        ResolvedRoot {
            server: Ipv4Addr::new(10, 77, 0, 1).into(),
            path: "/export/root".into(),
            options: options.iter().map(|s| s.to_string()).collect(),
            version,
            server_from: crate::plan::ServerSource::Cmdline,
            options_from: Vec::new(),
            refused: Vec::new(),
            servers: Vec::new(),
        }
    }

    const ME: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 77, 0, 100));

    #[test]
    fn v3_defaults_and_user_overrides() {
        let m = mount_for(&root(&[], NfsVersion::V3), ME);
        assert_eq!(m.source, "10.77.0.1:/export/root");
        assert_eq!(m.fstype, "nfs");
        assert_eq!(m.data, "vers=3,proto=tcp,nolock,addr=10.77.0.1");
        assert!(!m.read_only);
        let m = mount_for(
            &root(
                &[
                    "v3",
                    "rsize=16384",
                    "proto=udp",
                    "ro",
                    "port=2049",
                    "mountport=20048",
                ],
                NfsVersion::V3,
            ),
            ME,
        );
        assert_eq!(
            m.data,
            "vers=3,proto=udp,nolock,addr=10.77.0.1,rsize=16384,port=2049,mountport=20048"
        );
        assert!(m.read_only);
        let m = mount_for(&root(&["lock"], NfsVersion::V3), ME);
        assert_eq!(m.data, "vers=3,proto=tcp,addr=10.77.0.1");
    }

    #[test]
    fn v4_uses_nfs4_and_clientaddr() {
        let m = mount_for(&root(&["vers=4.2", "sec=sys"], NfsVersion::V4(Some(2))), ME);
        assert_eq!(m.fstype, "nfs4");
        assert_eq!(
            m.data,
            "vers=4.2,proto=tcp,addr=10.77.0.1,clientaddr=10.77.0.100,sec=sys"
        );
        let m = mount_for(&root(&[], NfsVersion::V4(None)), ME);
        assert!(m.data.starts_with("vers=4,"));
    }

    /// An IPv6 server: brackets in the device string, the bare address in
    /// `addr=`, and every transport named in the IPv6 family (the kernel
    /// refuses `proto=tcp` with an IPv6 address).
    #[test]
    fn ipv6_server() {
        const ME6: IpAddr = IpAddr::V6(std::net::Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x64));
        let v6 = |options: &[&str], version| ResolvedRoot {
            server: "fd00::1".parse().unwrap(),
            ..root(options, version)
        };
        let cases: [(&[&str], NfsVersion, &str); 5] = [
            (&[], NfsVersion::V3, "vers=3,proto=tcp6,nolock,addr=fd00::1"),
            (
                &["udp", "mountproto=tcp"],
                NfsVersion::V3,
                "vers=3,proto=udp6,nolock,addr=fd00::1,mountproto=tcp6",
            ),
            (
                &["proto=tcp6", "mountproto=udp6"],
                NfsVersion::V3,
                "vers=3,proto=tcp6,nolock,addr=fd00::1,mountproto=udp6",
            ),
            (
                &["proto=rdma"],
                NfsVersion::V3,
                "vers=3,proto=rdma,nolock,addr=fd00::1",
            ),
            (
                &[],
                NfsVersion::V4(Some(2)),
                "vers=4.2,proto=tcp6,addr=fd00::1,clientaddr=fd00::64",
            ),
        ];
        for (options, version, data) in cases {
            let m = mount_for(&v6(options, version), ME6);
            assert_eq!(m.source, "[fd00::1]:/export/root", "{options:?}");
            assert_eq!(m.data, data, "{options:?}");
        }
        let down = hint(EHOSTDOWN, "fd00::1".parse().unwrap(), NfsVersion::V3).unwrap_or_default();
        assert_eq!(down, "fd00::1 is down (no answer to neighbour discovery)");
        // An IPv4 server keeps the plain words.
        let m = mount_for(&root(&["udp", "mountproto=tcp"], NfsVersion::V3), ME);
        assert_eq!(
            m.data,
            "vers=3,proto=udp,nolock,addr=10.77.0.1,mountproto=tcp"
        );
    }

    #[test]
    fn short_protocol_words_and_empty_options() {
        let m = mount_for(&root(&["udp", "", "soft", "timeo=50"], NfsVersion::V3), ME);
        assert_eq!(
            m.data,
            "vers=3,proto=udp,nolock,addr=10.77.0.1,soft,timeo=50"
        );
        // The last word wins, as in the kernel.
        let m = mount_for(&root(&["udp", "proto=tcp", "nolock"], NfsVersion::V3), ME);
        assert_eq!(m.data, "vers=3,proto=tcp,nolock,addr=10.77.0.1");
    }

    #[test]
    fn hints() {
        let s = Ipv4Addr::new(10, 77, 0, 1);
        // (errno name, version, the hint's start)
        let table: &[(&str, NfsVersion, &str)] = &[
            (
                "EACCES",
                NfsVersion::V3,
                "export path not allowed for this client",
            ),
            (
                "ECONNREFUSED",
                NfsVersion::V3,
                "no NFS/mountd on 10.77.0.1, or nolock missing",
            ),
            (
                "EPROTONOSUPPORT",
                NfsVersion::V4(Some(2)),
                "10.77.0.1 has no NFSv4 (try vers=3), or the nfsv4 module",
            ),
            (
                "EPROTONOSUPPORT",
                NfsVersion::V3,
                "10.77.0.1 has no NFSv3 (try vers=4.2), or the nfsv3 module",
            ),
            ("ENOENT", NfsVersion::V3, "no such export path on 10.77.0.1"),
            ("ETIMEDOUT", NfsVersion::V3, "10.77.0.1 does not answer"),
            (
                "EINVAL",
                NfsVersion::V3,
                "the kernel rejected the mount options (proto=udp",
            ),
            ("ENODEV", NfsVersion::V3, "the kernel has no NFS support"),
            ("EHOSTUNREACH", NfsVersion::V3, "no route to 10.77.0.1"),
            ("ENETUNREACH", NfsVersion::V3, "no route to 10.77.0.1"),
            ("EPERM", NfsVersion::V3, "10.77.0.1 refused this client"),
            ("ESTALE", NfsVersion::V3, "stale file handle"),
            (
                "EBUSY",
                NfsVersion::V3,
                "something is already mounted there",
            ),
        ];
        for (name, version, start) in table {
            let errno = (1..200)
                .find(|e| crate::errno::name(*e) == Some(name))
                .unwrap_or_else(|| panic!("{name} is not in errno.rs"));
            let h = hint(errno, s.into(), *version).unwrap_or_default();
            assert!(h.starts_with(start), "{name}: {h}");
        }
        assert_eq!(hint(4242, s.into(), NfsVersion::V3), None);
        assert!(is_transient(110) && is_transient(111) && !is_transient(13) && !is_transient(2));
    }

    fn option() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("v3".to_owned()),
            Just("v4".to_owned()),
            Just("ro".to_owned()),
            Just("rw".to_owned()),
            Just("lock".to_owned()),
            Just("nolock".to_owned()),
            Just("vers".to_owned()),
            Just("rw=".to_owned()),
            Just("udp".to_owned()),
            Just("tcp".to_owned()),
            Just(String::new()),
            "(vers|nfsvers|proto|addr|port|rsize|sec|clientaddr)=[a-z0-9.]{0,6}",
            "[a-z]{1,8}(=[a-z0-9.:]{0,8})?",
        ]
    }

    proptest! {
        /// Any option list gives one well-formed option string: no empty
        /// items, every key once, `vers=` once and from the resolved
        /// version, and the user's last value for each plain key.
        #[test]
        fn option_builder_is_total_and_well_formed(
            options in proptest::collection::vec(option(), 0..10),
            v4 in any::<bool>(),
            minor in proptest::option::of(0u8..3),
        ) {
            let version = if v4 { NfsVersion::V4(minor) } else { NfsVersion::V3 };
            let r = root(&options.iter().map(String::as_str).collect::<Vec<_>>(), version);
            let m = mount_for(&r, ME);
            prop_assert_eq!(m.fstype, if v4 { "nfs4" } else { "nfs" });
            let items: Vec<&str> = m.data.split(',').collect();
            let keys: Vec<&str> = items.iter().map(|i| i.split('=').next().unwrap_or(i)).collect();
            for (n, k) in keys.iter().enumerate() {
                prop_assert!(!k.is_empty(), "empty item in {}", m.data);
                prop_assert!(!keys[n + 1..].contains(k), "{} twice in {}", k, m.data);
            }
            let vers = format!("vers={}", version.as_str());
            prop_assert_eq!(items.first().copied(), Some(vers.as_str()));
            let normalized: Vec<String> = options
                .iter()
                .map(|o| if o == "tcp" || o == "udp" { format!("proto={o}") } else { o.clone() })
                .collect();
            for o in &normalized {
                let Some((k, _)) = o.split_once('=') else { continue };
                if matches!(k, "vers" | "nfsvers") {
                    continue;
                }
                let last = normalized
                    .iter()
                    .rev()
                    .find(|o| o.split_once('=').is_some_and(|(kk, _)| kk == k));
                prop_assert!(
                    last.is_some_and(|l| items.contains(&l.as_str())),
                    "{} lost in {}", o, m.data
                );
            }
        }

        /// Whatever the options, an IPv6 server's mount names no IPv4-only
        /// transport and keeps its address bare in `addr=` and bracketed in
        /// the device string.
        #[test]
        fn ipv6_mount_stays_in_family(
            options in proptest::collection::vec(option(), 0..10),
            server: [u16; 8],
            v4 in any::<bool>(),
        ) {
            let server = IpAddr::from(server);
            let version = if v4 { NfsVersion::V4(None) } else { NfsVersion::V3 };
            let r = ResolvedRoot {
                server,
                ..root(&options.iter().map(String::as_str).collect::<Vec<_>>(), version)
            };
            let m = mount_for(&r, IpAddr::V6(std::net::Ipv6Addr::LOCALHOST));
            let source = format!("[{server}]:/export/root");
            prop_assert_eq!(&m.source, &source);
            for item in m.data.split(',') {
                prop_assert!(
                    !matches!(item, "proto=tcp" | "proto=udp" | "mountproto=tcp" | "mountproto=udp"),
                    "{} in {}", item, m.data
                );
            }
            let user_addr = options.iter().any(|o| o.starts_with("addr="));
            let addr = format!("addr={server}");
            prop_assert!(user_addr || m.data.split(',').any(|i| i == addr), "{}", m.data);
        }

        #[test]
        fn option_builder_never_panics(options in proptest::collection::vec("\\PC{0,12}", 0..8)) {
            let r = root(&options.iter().map(String::as_str).collect::<Vec<_>>(), NfsVersion::V3);
            let m = mount_for(&r, ME);
            prop_assert!(m.data.starts_with("vers=3,"));
        }
    }
}
