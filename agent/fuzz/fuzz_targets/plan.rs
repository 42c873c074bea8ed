#![no_main]
//! The whole cmdline → plan path, plus root resolution against a DHCP
//! root-path taken from the same input: never panics.
use libfuzzer_sys::fuzz_target;
use netinit_core::net::NetState;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (cmdline, root_path) = text.split_once('\n').unwrap_or((text, ""));
    if let Ok(plan) = netinit_core::plan::from_cmdline(cmdline) {
        let _ = netinit_core::explain::describe(&plan);
        let _ = netinit_core::explain::to_json(&plan).to_string();
        let net = NetState {
            root_path: Some(root_path.to_owned()),
            server_id: Some([10, 77, 0, 1].into()),
            ..netinit_core::fixtures::net_state()
        };
        let _ = netinit_core::plan::resolve_root(&plan, &net);
    }
});
