#![no_main]
//! The root phase's pure parts on hostile input: cmdline + DHCP root-path →
//! NFS mount options and hints; a server's directory listing and `.module`
//! file → the image search; DHCP text → every hand-off renderer;
//! /proc/meminfo → the toram budget. Never panics.
//!
//! Input lines: cmdline, root-path, hostname, listing (space-separated
//! names, offered for every folder), then the rest as the `.module` file
//! and as /proc/meminfo.
use libfuzzer_sys::fuzz_target;
use netinit_core::net::Ipv4Cidr;
use netinit_core::net::{NetState, Proto};
use netinit_core::{handoff, live, nfs};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.splitn(5, '\n');
    let cmdline = lines.next().unwrap_or("");
    let root_path = lines.next().unwrap_or("");
    let hostname = lines.next().unwrap_or("");
    let listing: Vec<String> = lines
        .next()
        .unwrap_or("")
        .split(' ')
        .map(str::to_owned)
        .collect();
    let rest = lines.next().unwrap_or("");

    let _ = live::mem_available(rest);
    let fixture = netinit_core::fixtures::net_state();
    let net = NetState {
        proto: if hostname.len() % 2 == 0 {
            Proto::Dhcp
        } else {
            Proto::Static
        },
        address: Ipv4Cidr {
            prefix: (hostname.len() % 33) as u8,
            ..fixture.address
        },
        gateway: Some([10, 77, 0, 1].into()),
        server_id: Some([10, 77, 0, 1].into()),
        dns: vec![[10, 77, 0, 1].into()],
        domain: Some(hostname.to_owned()),
        search: hostname.split('.').map(str::to_owned).collect(),
        hostname: Some(hostname.to_owned()),
        root_path: Some(root_path.to_owned()),
        ..fixture
    };
    let _ = handoff::valid_hostname(hostname);
    let _ = handoff::resolv_conf(&net);
    let _ = handoff::networkmanager_conf(&net);
    let _ = handoff::networkd_unit(&net);
    let _ = handoff::netplan_yaml(&net);
    let _ = handoff::ifupdown_mentions(rest, hostname);
    let _ = handoff::ifupdown_sources_dir(rest);

    let Ok(plan) = netinit_core::plan::from_cmdline(cmdline) else {
        return;
    };
    if let Ok(root) = netinit_core::plan::resolve_root(&plan, &net) {
        let m = nfs::mount_for(&root, net.client_addr_for(root.server));
        assert!(m.data.starts_with("vers="));
        // The device string brackets an IPv6 server, and no transport of
        // the other family is named (the kernel refuses the mount).
        assert_eq!(
            m.source.starts_with('['),
            root.server.is_ipv6(),
            "{}",
            m.source
        );
        if root.server.is_ipv6() {
            for item in m.data.split(',') {
                assert!(
                    !matches!(
                        item,
                        "proto=tcp" | "proto=udp" | "mountproto=tcp" | "mountproto=udp"
                    ),
                    "{item} in {}",
                    m.data
                );
            }
        }
        for errno in 0..140 {
            let _ = nfs::hint(errno, root.server, root.version);
        }
        let _ = handoff::klibc_net_conf(&net, Some(&root), 1);
    }
    let list = |_: &str| Some(listing.clone());
    let read = |_: &str| Some(rest.to_owned());
    if let Ok(images) = live::find_images(&plan.live, &list, &read) {
        assert!(plan.live.layout == netinit_core::plan::LiveLayout::Plain || !images.is_empty());
    }
});
