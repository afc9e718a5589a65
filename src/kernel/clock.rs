//! The application's clock. Rules that depend on time (grace periods, reminders, 24-hour windows)
//! read it instead of `Utc::now()`, so tests can move time forward instead of sleeping. Clones
//! share one clock.

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

use chrono::{DateTime, Duration, Utc};

#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// How far this clock runs ahead of the system clock, in milliseconds.
    ahead_ms: Arc<AtomicI64>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::milliseconds(self.ahead_ms.load(Ordering::Relaxed))
    }

    /// Moves the clock forward (tests only: production never calls it).
    pub fn advance(&self, by: Duration) {
        self.ahead_ms
            .fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_advance() {
        let clock = Clock::system();
        let shared = clock.clone();
        let before = clock.now();
        shared.advance(Duration::hours(2));
        assert!(clock.now() - before >= Duration::hours(2));
    }
}
