//! The one place netinit makes syscalls.
//!
//! Each concern is a narrow trait with one real implementation here; the
//! executor in the `netinit` crate is generic over the traits so its
//! sequencing can be tested with recording fakes. Every failure is a
//! [`SysError`] naming the call, the object and the errno.

pub mod clock;
pub mod error;
pub mod host;
pub mod http;
pub mod ip6;
pub mod kmod;
pub mod lease;
pub mod lease6;
pub mod loopdev;
pub mod mount;
pub mod nbd;
pub mod netlink;
pub mod packet;
pub mod power;
pub mod switch;
#[cfg(feature = "test-support")]
pub mod testing;

pub use clock::Clock;
pub use error::{Result, SysError};

/// The real kernel: implements every trait here that the executor is
/// generic over (mount, files, loop, hostname, clock).
#[derive(Debug, Default, Clone, Copy)]
pub struct Linux;
