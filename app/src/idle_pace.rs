//! How often a background look runs: at its interval while it finds work, and less
//! often the longer it finds none. A look is a store command (or three), every
//! process runs several, and a fleet of idle processes would otherwise pay for them
//! every second before the first customer.

use std::time::Duration;

/// The pause before the next look: `every` after one that found work, doubling after
/// each that found none, up to `idle_max` (never below `every`).
#[derive(Debug, Clone, Copy)]
pub struct IdlePace {
    every: Duration,
    idle_max: Duration,
    current: Duration,
}

impl IdlePace {
    pub fn new(every: Duration, idle_max: Duration) -> Self {
        Self {
            every,
            idle_max: idle_max.max(every),
            current: every,
        }
    }

    /// The pause after a look that found work (`true`) or none.
    pub fn after(&mut self, found: bool) -> Duration {
        self.current = if found {
            self.every
        } else {
            self.current.saturating_mul(2).min(self.idle_max)
        };
        self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_looks_space_out_and_work_brings_the_interval_back() {
        let s = Duration::from_secs;
        let mut pace = IdlePace::new(s(1), s(30));
        let idle: Vec<_> = (0..7).map(|_| pace.after(false)).collect();
        assert_eq!(idle, [s(2), s(4), s(8), s(16), s(30), s(30), s(30)]);
        assert_eq!(pace.after(true), s(1));
        assert_eq!(pace.after(false), s(2));
        assert_eq!(
            IdlePace::new(s(5), s(1)).after(false),
            s(5),
            "never below the interval"
        );
    }
}
