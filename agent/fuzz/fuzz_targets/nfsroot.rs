#![no_main]
//! `nfsroot=`, dracut's NFS forms and root-paths, `ifname=`, `rd.overlay=`,
//! `BOOTIF=`, module lists and sizes: never panic.
use libfuzzer_sys::fuzz_target;
use netinit_core::config::{self, RootPathDialect};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = config::parse_nfsroot(text);
        let _ = config::parse_dracut_nfs(text);
        let _ = config::parse_root_path(text, RootPathDialect::Kernel);
        let _ = config::parse_root_path(text, RootPathDialect::Dracut);
        let _ = config::parse_ifname(text);
        let _ = config::parse_rd_overlay(text);
        let _ = config::parse_bootif(text);
        let _ = config::parse_module_list(text);
        let _ = netinit_core::size::parse_size(text);
    }
});
