//! IPv6 address configuration: the DHCPv6 codec and client, router
//! advertisements and SLAAC. All pure; the sockets are in `netinit_sys`.

pub mod client;
pub mod packet;
pub mod ra;
pub mod renew;

pub use client::{Action, Client, ClientConfig, Lease};
