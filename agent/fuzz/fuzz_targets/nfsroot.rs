#![no_main]
//! `nfsroot=`, dracut's NFS forms and root-paths, `ifname=`, `rd.overlay=`,
//! `BOOTIF=`, module lists and sizes: never panic. A server read from an
//! NFS form was written in its family's way (IPv6 only in brackets), and
//! writing the spec back the kernel's way reads back the same.
use libfuzzer_sys::fuzz_target;
use netinit_core::config::{self, RootPathDialect};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(spec) = config::parse_nfsroot(text) {
            round_trips(text, &spec);
        }
        if let Ok(spec) = config::parse_dracut_nfs(text)
            && spec.server.is_some_and(|s| s.is_ipv6())
        {
            assert!(
                text.contains('['),
                "{text}: an IPv6 server without brackets"
            );
        }
        let _ = config::parse_root_path(text, RootPathDialect::Kernel);
        let _ = config::parse_root_path(text, RootPathDialect::Dracut);
        let _ = config::parse_ifname(text);
        let _ = config::parse_rd_overlay(text);
        let _ = config::parse_bootif(text);
        let _ = config::parse_module_list(text);
        let _ = netinit_core::size::parse_size(text);
    }
});

/// The spec, written as `nfsroot=` (IPv6 in brackets), parses to itself.
fn round_trips(text: &str, spec: &config::NfsSpec) {
    assert!(spec.path.starts_with('/'));
    let server = match spec.server {
        Some(std::net::IpAddr::V6(a)) => {
            assert!(
                text.starts_with('['),
                "{text}: an IPv6 server without brackets"
            );
            format!("[{a}]:")
        }
        Some(a) => format!("{a}:"),
        None => String::new(),
    };
    // Options are kept as written; a path with ',' would split differently.
    if spec.path.contains(',') || spec.options.iter().any(|o| o.contains(',')) {
        return;
    }
    let mut again = format!("{server}{}", spec.path);
    for o in &spec.options {
        again.push(',');
        again.push_str(o);
    }
    assert_eq!(
        config::parse_nfsroot(&again).as_ref(),
        Ok(spec),
        "{text} -> {again}"
    );
}
