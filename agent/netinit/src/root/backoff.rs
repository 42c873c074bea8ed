//! Retrying within a time budget on the Clock seam: the NFS mount and the
//! NBD connect try again after a wait that doubles, until the budget is
//! spent.

use std::time::Duration;

use netinit_sys::Clock;

/// The first wait between two attempts, and the longest.
const FIRST: Duration = Duration::from_millis(500);
const LONGEST: Duration = Duration::from_secs(5);

/// Attempts within `budget` from the first one's start. Each may take
/// what is left of it (at least 1 s, at most `cap`); the waits between
/// them double from 500 ms to 5 s.
#[derive(Debug)]
pub struct Backoff {
    start: u64,
    budget: Duration,
    cap: Duration,
    delay: Duration,
    /// The attempt under way, from 1.
    pub attempt: u32,
}

impl Backoff {
    pub fn start(clock: &impl Clock, budget: Duration, cap: Duration) -> Self {
        Backoff {
            start: clock.now_ms(),
            budget,
            cap,
            delay: FIRST,
            attempt: 1,
        }
    }

    fn elapsed(&self, clock: &impl Clock) -> Duration {
        Duration::from_millis(clock.now_ms().saturating_sub(self.start))
    }

    /// How long the next attempt may take.
    pub fn bound(&self, clock: &impl Clock) -> Duration {
        self.budget
            .saturating_sub(self.elapsed(clock))
            .clamp(Duration::from_secs(1), self.cap)
    }

    /// Whether another attempt fits in the budget after the wait.
    pub fn has_time(&self, clock: &impl Clock) -> bool {
        self.elapsed(clock) + self.delay < self.budget
    }

    /// The wait before the next attempt.
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// Waits, then counts the next attempt.
    pub fn wait(&mut self, clock: &mut impl Clock) {
        clock.sleep_ms(u64::try_from(self.delay.as_millis()).unwrap_or(u64::MAX));
        self.delay = (self.delay * 2).min(LONGEST);
        self.attempt += 1;
    }

    /// What a final error adds when there was more than one attempt.
    pub fn tally(&self, clock: &impl Clock) -> String {
        if self.attempt > 1 {
            format!(
                " (after {} attempts in {} s)",
                self.attempt,
                self.elapsed(clock).as_secs()
            )
        } else {
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeClock;

    #[test]
    fn waits_double_up_to_five_seconds_within_the_budget() {
        let mut clock = FakeClock::default();
        let mut b = Backoff::start(&clock, Duration::from_secs(12), Duration::from_secs(10));
        assert_eq!(b.bound(&clock), Duration::from_secs(10));
        assert_eq!(b.tally(&clock), "");
        while b.has_time(&clock) {
            b.wait(&mut clock);
        }
        assert_eq!(clock.sleeps, [500, 1000, 2000, 4000]);
        assert_eq!(b.attempt, 5);
        // 7.5 s spent: 4.5 s left for an attempt, and a 5 s wait does not fit.
        assert_eq!(b.bound(&clock), Duration::from_millis(4500));
        assert_eq!(b.tally(&clock), " (after 5 attempts in 7 s)");
    }
}
