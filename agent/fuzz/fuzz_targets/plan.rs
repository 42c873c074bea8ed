#![no_main]
//! The whole cmdline → plan path, plus root resolution against a DHCP
//! root-path taken from the same input: never panics.
use libfuzzer_sys::fuzz_target;
use netinit_core::net::Ipv4Cidr;
use netinit_core::net::{MacAddr, NetState, Proto};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (cmdline, root_path) = text.split_once('\n').unwrap_or((text, ""));
    if let Ok(plan) = netinit_core::plan::from_cmdline(cmdline) {
        let _ = netinit_core::explain::describe(&plan);
        let _ = netinit_core::explain::to_json(&plan).to_string();
        let net = NetState {
            interface: "eth0".into(),
            ifindex: 2,
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            proto: Proto::Dhcp,
            address: Ipv4Cidr {
                addr: [10, 0, 0, 2].into(),
                prefix: 24,
            },
            broadcast: None,
            gateway: None,
            routes: vec![],
            server_id: Some([10, 0, 0, 1].into()),
            next_server: None,
            dns: vec![],
            domain: None,
            search: vec![],
            hostname: None,
            root_path: Some(root_path.to_owned()),
            bootfile: None,
            mtu: None,
            ntp: vec![],
            lease: None,
            ipv6: None,
        };
        let _ = netinit_core::plan::resolve_root(&plan, &net);
    }
});
