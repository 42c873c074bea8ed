//! Values the tests build on (the `test-support` feature for other
//! crates' tests and the fuzzer; never in /init).

use std::net::Ipv4Addr;

use crate::dhcp::Lease;
use crate::keeper::{Held, Held6};
use crate::net::{Ipv4Cidr, LeaseTimes, MacAddr, NetState, Proto};

/// The lab's client: a DHCP address on eth0 and nothing else; a test sets
/// what it is about with `NetState { field, ..net_state() }`.
pub fn net_state() -> NetState {
    NetState {
        interface: "eth0".into(),
        ifindex: 2,
        mac: MacAddr([0x52, 0x54, 0, 0, 0, 1]),
        proto: Proto::Dhcp,
        address: Ipv4Cidr {
            addr: Ipv4Addr::new(10, 77, 0, 100),
            prefix: 24,
        },
        broadcast: None,
        gateway: None,
        routes: vec![],
        server_id: None,
        next_server: None,
        dns: vec![],
        domain: None,
        search: vec![],
        hostname: None,
        root_path: None,
        bootfile: None,
        mtu: None,
        ntp: vec![],
        lease: None,
        ipv6: None,
    }
}

/// The lab server's lease for that client (10.77.0.100/24, router and
/// server 10.77.0.1, an hour); a test sets what it is about with
/// `Lease { field, ..lease() }`.
pub fn lease() -> Lease {
    Lease {
        address: Ipv4Cidr {
            addr: Ipv4Addr::new(10, 77, 0, 100),
            prefix: 24,
        },
        server_id: Ipv4Addr::new(10, 77, 0, 1),
        next_server: None,
        router: Some(Ipv4Addr::new(10, 77, 0, 1)),
        routes: vec![],
        dns: vec![],
        domain: None,
        search: vec![],
        hostname: None,
        root_path: None,
        mtu: None,
        broadcast: None,
        ntp: vec![],
        bootfile: None,
        lease_secs: 3600,
        t1_secs: 1800,
        t2_secs: 3150,
        bound_at_ms: 0,
        warnings: vec![],
    }
}

/// modules.dep lines of Debian bookworm's NFSv3 chain (`nfsv3` and
/// everything it pulls in), for module-loading tests.
pub const NFSV3_DEP: &str = "\
kernel/fs/netfs/netfs.ko:
kernel/fs/fscache/fscache.ko: kernel/fs/netfs/netfs.ko
kernel/net/sunrpc/sunrpc.ko:
kernel/fs/nfs_common/grace.ko:
kernel/fs/lockd/lockd.ko: kernel/fs/nfs_common/grace.ko kernel/net/sunrpc/sunrpc.ko
kernel/fs/nfs/nfs.ko: kernel/fs/lockd/lockd.ko kernel/fs/nfs_common/grace.ko kernel/net/sunrpc/sunrpc.ko kernel/fs/fscache/fscache.ko kernel/fs/netfs/netfs.ko
kernel/fs/nfs_common/nfs_acl.ko: kernel/net/sunrpc/sunrpc.ko
kernel/fs/nfs/nfsv3.ko: kernel/fs/nfs_common/nfs_acl.ko kernel/fs/nfs/nfs.ko kernel/fs/lockd/lockd.ko kernel/fs/nfs_common/grace.ko kernel/net/sunrpc/sunrpc.ko kernel/fs/fscache/fscache.ko kernel/fs/netfs/netfs.ko
";

/// The lease keeper's lease for that client (a two-minute lease from
/// 10.77.0.1, bound at 0 ms).
pub fn held() -> Held {
    Held {
        interface: "eth0".into(),
        ifindex: 2,
        mac: MacAddr([0x52, 0x54, 0, 0x77, 0, 1]),
        address: Ipv4Cidr {
            addr: Ipv4Addr::new(10, 77, 0, 100),
            prefix: 24,
        },
        server: Ipv4Addr::new(10, 77, 0, 1),
        times: LeaseTimes {
            lease_secs: 120,
            t1_secs: 60,
            t2_secs: 105,
            bound_at_ms: 0,
        },
        hostname: None,
    }
}

/// The DHCPv6 lease keeper's lease for that client: fd77::150 from the
/// server with DUID-LL 02:00:00:00:00:01, a two-minute lease bound at 0 ms.
pub fn held6() -> Held6 {
    Held6 {
        interface: "eth0".into(),
        ifindex: 2,
        mac: MacAddr([0x52, 0x54, 0, 0x77, 0, 1]),
        iaid: 2,
        address: std::net::Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 0x150),
        server_duid: vec![0, 3, 0, 1, 2, 0, 0, 0, 0, 1],
        times: LeaseTimes {
            lease_secs: 120,
            t1_secs: 60,
            t2_secs: 105,
            bound_at_ms: 0,
        },
    }
}
