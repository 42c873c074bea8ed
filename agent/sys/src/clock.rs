//! Time for every wait: the one seam through which the executor reads the
//! monotonic clock and sleeps, so its waits run on a fake clock in tests.

use std::time::Duration;

use crate::Linux;

/// A monotonic clock that can be slept on.
pub trait Clock {
    /// Milliseconds on a monotonic clock (the origin is the clock's own).
    fn now_ms(&self) -> u64;
    /// Sleeps `ms` milliseconds (a fake advances its time instead).
    fn sleep_ms(&mut self, ms: u64);
}

impl Clock for Linux {
    fn now_ms(&self) -> u64 {
        let (s, us) = crate::host::monotonic();
        s.saturating_mul(1000).saturating_add(u64::from(us) / 1000)
    }

    fn sleep_ms(&mut self, ms: u64) {
        std::thread::sleep(Duration::from_millis(ms));
    }
}
