//! Engine time, injectable. Every domain reads "now" from the [`Clock`] it
//! was built with: the system clock in the server, a manual one in tests,
//! which moves only when told, so a lease test advances 200 ms instead of
//! sleeping them. Durations (health, leases) use the monotonic half; wall
//! time (Unix ms) is only stored and shown.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A source of monotonic and wall-clock time. Cheap to clone; clones share
/// the same time.
#[derive(Clone, Debug)]
pub struct Clock(Arc<Source>);

#[derive(Debug)]
enum Source {
    System,
    /// Starts at the real time of its creation and moves only by `advance`.
    Manual(Mutex<(Instant, i64)>),
}

impl Clock {
    /// The machine's clocks.
    pub fn system() -> Clock {
        Clock(Arc::new(Source::System))
    }

    /// A clock that stands still until [`Clock::advance`] moves it (tests).
    pub fn manual() -> Clock {
        Clock(Arc::new(Source::Manual(Mutex::new((
            Instant::now(),
            system_now_ms(),
        )))))
    }

    /// Moves a manual clock forward; the system clock cannot be moved and
    /// ignores it.
    pub fn advance(&self, by: Duration) {
        if let Source::Manual(time) = &*self.0 {
            let mut time = time.lock().unwrap_or_else(PoisonError::into_inner);
            time.0 += by;
            time.1 = time
                .1
                .saturating_add(i64::try_from(by.as_millis()).unwrap_or(i64::MAX));
        }
    }

    /// Monotonic now, for durations and deadlines.
    pub fn now(&self) -> Instant {
        match &*self.0 {
            Source::System => Instant::now(),
            Source::Manual(time) => time.lock().unwrap_or_else(PoisonError::into_inner).0,
        }
    }

    /// Wall-clock now in Unix milliseconds, for what is stored and shown.
    pub fn now_ms(&self) -> i64 {
        match &*self.0 {
            Source::System => system_now_ms(),
            Source::Manual(time) => time.lock().unwrap_or_else(PoisonError::into_inner).1,
        }
    }
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::system()
    }
}

/// Current Unix time in milliseconds on this machine.
fn system_now_ms() -> i64 {
    unix_ms(SystemTime::now())
}

/// A file time (or any `SystemTime`) in Unix milliseconds; 0 before 1970.
pub(crate) fn unix_ms(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_advanced_and_clones_share_it() {
        let clock = Clock::manual();
        let (t0, w0) = (clock.now(), clock.now_ms());
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!((clock.now(), clock.now_ms()), (t0, w0));
        clock.clone().advance(Duration::from_millis(250));
        assert_eq!(clock.now() - t0, Duration::from_millis(250));
        assert_eq!(clock.now_ms() - w0, 250);
    }

    #[test]
    fn the_system_clock_ignores_advance() {
        let clock = Clock::system();
        let before = clock.now_ms();
        clock.advance(Duration::from_secs(3600));
        assert!(clock.now_ms() - before < 3_600_000);
    }
}
