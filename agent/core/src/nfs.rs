//! NFS mount options for mount(2) (there is no mount.nfs in the initrd),
//! and a hint for every errno the mount can fail with.

use std::net::Ipv4Addr;

use crate::plan::{NfsVersion, ResolvedRoot};

/// What to pass to mount(2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NfsMount {
    /// `SERVER:/path`.
    pub source: String,
    /// `nfs` or `nfs4`.
    pub fstype: &'static str,
    /// Kernel text options.
    pub data: String,
    /// Mount read-only (`ro` among the user's options).
    pub read_only: bool,
}

/// Options we set ourselves; a user option with the same key replaces ours.
fn defaults(
    version: NfsVersion,
    server: Ipv4Addr,
    client: Ipv4Addr,
) -> Vec<(String, Option<String>)> {
    let kv = |k: &str, v: String| (k.to_owned(), Some(v));
    match version {
        // No lockd/statd in the initrd: locks stay local (nolock), as every peer does.
        NfsVersion::V3 => vec![
            kv("vers", "3".into()),
            kv("proto", "tcp".into()),
            ("nolock".into(), None),
            kv("addr", server.to_string()),
        ],
        NfsVersion::V4(minor) => {
            let vers = minor.map_or_else(|| "4".to_owned(), |m| format!("4.{m}"));
            vec![
                kv("vers", vers),
                kv("proto", "tcp".into()),
                kv("addr", server.to_string()),
                kv("clientaddr", client.to_string()),
            ]
        }
    }
}

/// Builds the mount for a resolved root. `client` is our address (NFSv4
/// callbacks need it). Version words in the user's options (`v3`,
/// `nfsvers=`) are folded into `vers=`, which `root.version` already reflects.
pub fn mount_for(root: &ResolvedRoot, client: Ipv4Addr) -> NfsMount {
    let mut opts = defaults(root.version, root.server, client);
    let mut read_only = false;
    for o in &root.options {
        let (k, v) = match o.split_once('=') {
            Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
            None => (o.clone(), None),
        };
        match k.as_str() {
            "v2" | "v3" | "v4" | "vers" | "nfsvers" => continue,
            "ro" => {
                read_only = true;
                continue;
            }
            "rw" => {
                read_only = false;
                continue;
            }
            // `lock` undoes our `nolock`.
            "lock" => {
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
        source: format!("{}:{}", root.server, root.path),
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
    // ETIMEDOUT ECONNREFUSED EHOSTUNREACH ENETUNREACH EAGAIN EIO ECONNRESET EHOSTDOWN ENETDOWN
    matches!(errno, 110 | 111 | 113 | 101 | 11 | 5 | 104 | 112 | 100)
}

/// A hint for a failed NFS mount, naming the server where it helps.
pub fn hint(errno: i32, server: Ipv4Addr, version: NfsVersion) -> Option<String> {
    Some(match errno {
        13 => "export path not allowed for this client (check the export list and the path; NFSv4 servers may export a pseudo path)".to_owned(),
        111 => format!("no NFS/mountd on {server}, or nolock missing"),
        93 => match version {
            NfsVersion::V4(_) => format!("{server} has no NFSv4 (try vers=3)"),
            NfsVersion::V3 => format!("{server} has no NFSv3 (try vers=4.2)"),
        },
        2 => format!("no such export path on {server}"),
        110 => format!("{server} does not answer: down, firewalled, or the wrong address"),
        113 | 101 => format!("no route to {server}: check the gateway and netmask"),
        22 => "the kernel rejected the mount options (proto=udp is disabled in many kernels)".to_owned(),
        19 => "the kernel has no NFS support: is the nfs module in the initrd? (netinit check-kernel)".to_owned(),
        1 => format!("{server} refused this client (root squash, or a privileged source port is required)"),
        116 => format!("stale file handle: the export on {server} changed; restart the NFS server"),
        5 => format!("I/O error talking to {server}"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(options: &[&str], version: NfsVersion) -> ResolvedRoot {
        ResolvedRoot {
            server: Ipv4Addr::new(10, 77, 0, 1),
            path: "/export/root".into(),
            options: options.iter().map(|s| s.to_string()).collect(),
            version,
            server_from: "cmdline",
        }
    }

    const ME: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 100);

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

    #[test]
    fn hints() {
        let s = Ipv4Addr::new(10, 77, 0, 1);
        assert!(
            hint(13, s, NfsVersion::V3)
                .unwrap()
                .starts_with("export path not allowed for this client")
        );
        assert_eq!(
            hint(111, s, NfsVersion::V3).unwrap(),
            "no NFS/mountd on 10.77.0.1, or nolock missing"
        );
        assert_eq!(
            hint(93, s, NfsVersion::V4(Some(2))).unwrap(),
            "10.77.0.1 has no NFSv4 (try vers=3)"
        );
        assert_eq!(hint(4242, s, NfsVersion::V3), None);
        assert!(is_transient(110) && is_transient(111) && !is_transient(13) && !is_transient(2));
    }
}
