//! DHCPv4: the packet codec, IPv4/UDP framing for raw sockets, and a
//! sans-IO client state machine, and the renewal machine that keeps the
//! lease after boot. All pure; the socket is in `netinit_sys`.

pub mod client;
pub mod packet;
pub mod renew;
pub mod udp;

pub use client::{Action, Client, ClientConfig, Lease};
