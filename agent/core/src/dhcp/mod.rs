//! DHCPv4: the packet codec, IPv4/UDP framing for raw sockets, and a
//! sans-IO client state machine, and the renewal machine that keeps the
//! lease after boot. All pure; the socket is in `netinit_sys`.

pub mod client;
pub mod packet;
pub mod renew;
pub mod udp;

pub use client::{Action, Client, ClientConfig, Lease};

/// The next number of the xorshift64* generator the DHCP state machines
/// use for xids and retransmission jitter; the caller seeds `state`
/// (randomness is injected, the sequence is reproducible in tests).
pub fn xorshift64star(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_f491_4f6c_dd1d)
}
