//! Fixtures shared by the unit tests (compiled only for them).

use netinit_sys::Clock;

/// A clock that never waits: a sleep advances it. A clone goes on from
/// the same time on its own (one per thread).
#[derive(Debug, Default, Clone)]
pub struct FakeClock {
    pub now_ms: u64,
    /// Every sleep, in milliseconds.
    pub sleeps: Vec<u64>,
}

impl Clock for FakeClock {
    fn now_ms(&self) -> u64 {
        self.now_ms
    }
    fn sleep_ms(&mut self, ms: u64) {
        self.sleeps.push(ms);
        self.now_ms += ms;
    }
}
