//! netinit's functional core.
//!
//! Everything here is pure: no syscalls, no clocks, no randomness. Time and
//! randomness are injected by the caller, file contents come in as bytes or
//! strings. That keeps every parser table-testable, proptest-able and
//! fuzzable, and keeps the imperative shell (`netinit-sys`, `netinit`) thin.
//!
//! Flow: `/proc/cmdline` → [`cmdline::Cmdline`] → [`config::Config`] →
//! [`plan::BootPlan`] → executor (in the `netinit` crate).

pub mod arp;
pub mod casper;
pub mod cmdline;
pub mod config;
pub mod cpio;
pub mod dhcp;
pub mod dhcp6;
pub mod elf;
pub mod errno;
pub mod explain;
pub mod fetch;
#[cfg(any(test, feature = "test-support"))]
pub mod fixtures;
pub mod gzip;
pub mod handoff;
pub mod http;
pub mod ipconf;
pub mod json;
pub mod kconfig;
pub mod keeper;
pub mod kmod;
pub mod live;
pub mod nbd;
pub mod net;
pub mod netdev;
pub mod netlink;
pub mod netname;
pub mod nfs;
pub mod plan;
pub mod rootpath;
pub mod sha256;
pub mod size;
