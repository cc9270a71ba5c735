//! Time as a dependency: production reads the system clock, tests move a
//! manual one, so expiry, retries and timers are tested without sleeping.

use std::sync::{
    atomic::{AtomicI64, Ordering},
    Arc,
};

pub trait Clock: Send + Sync + 'static {
    /// Unix time in milliseconds.
    fn now_ms(&self) -> i64;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}

/// The system clock's time when created, then advanced by the monotonic
/// clock: a step of the system clock (an operator, a VM resumed) does not
/// move it. Under `CorrectedClock`, readings of the reference keep it right.
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    start_ms: i64,
    start: std::time::Instant,
}

impl MonotonicClock {
    pub fn new() -> Self {
        MonotonicClock { start_ms: SystemClock.now_ms(), start: std::time::Instant::now() }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for MonotonicClock {
    fn now_ms(&self) -> i64 {
        self.start_ms + self.start.elapsed().as_millis() as i64
    }
}

/// A clock that only moves when told to.
#[derive(Debug, Default, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn at(ms: i64) -> Self {
        ManualClock(Arc::new(AtomicI64::new(ms)))
    }

    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    pub fn set_ms(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

pub type SharedClock = Arc<dyn Clock>;

/// A round trip longer than this says too little about when the reference
/// was read, so its reading is not used.
pub const MAX_TRUSTED_ROUND_TRIP_MS: i64 = 500;

/// A clock kept in step with a reference clock that several nodes share
/// (the database's): leases and leadership written by one node are judged
/// by another, so they must agree on the time even when their own clocks
/// do not. `calibrate` takes a reading of the reference; between readings
/// the base clock runs on with the last offset.
pub struct CorrectedClock {
    base: SharedClock,
    offset_ms: AtomicI64,
}

impl CorrectedClock {
    pub fn new(base: SharedClock) -> Arc<Self> {
        Arc::new(CorrectedClock { base, offset_ms: AtomicI64::new(0) })
    }

    /// The base clock's own time, for timing a reading of the reference.
    pub fn base_ms(&self) -> i64 {
        self.base.now_ms()
    }

    /// How far the reference is ahead of the base clock.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::SeqCst)
    }

    /// Takes the reference's time `reference`, read between the base
    /// clock's `before` and `after`, as read at the midpoint. Returns the new
    /// offset, or None (and keeps the old one) when the round trip was too
    /// long, or ran backwards, to place the reading.
    pub fn calibrate(&self, before: i64, reference: i64, after: i64) -> Option<i64> {
        let round_trip = after - before;
        if !(0..=MAX_TRUSTED_ROUND_TRIP_MS).contains(&round_trip) {
            return None;
        }
        let offset = reference - (before + round_trip / 2);
        self.offset_ms.store(offset, Ordering::SeqCst);
        Some(offset)
    }
}

impl Clock for CorrectedClock {
    fn now_ms(&self) -> i64 {
        self.base.now_ms() + self.offset_ms()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_calibrated_clock_reads_the_reference_time() {
        let base = ManualClock::at(1_000_000);
        let clock = CorrectedClock::new(Arc::new(base.clone()));
        assert_eq!(clock.now_ms(), 1_000_000, "no offset before the first reading");
        // The reference read 10 minutes ahead, in a 40 ms round trip.
        assert_eq!(clock.calibrate(1_000_000, 1_600_020, 1_000_040), Some(600_000));
        assert_eq!(clock.now_ms(), 1_600_000);
        base.advance_ms(5_000);
        assert_eq!(clock.now_ms(), 1_605_000, "runs on with the base clock");
        // A reference behind the base clock.
        assert_eq!(clock.calibrate(1_005_000, 995_000, 1_005_000), Some(-10_000));
        assert_eq!(clock.now_ms(), 995_000);
    }

    #[test]
    fn a_reading_that_cannot_be_placed_is_not_used() {
        let clock = CorrectedClock::new(Arc::new(ManualClock::at(0)));
        clock.calibrate(0, 7_000, 0);
        assert_eq!(clock.calibrate(0, 99_000, MAX_TRUSTED_ROUND_TRIP_MS + 1), None, "too slow");
        assert_eq!(clock.calibrate(100, 99_000, 50), None, "the base clock stepped back");
        assert_eq!(clock.offset_ms(), 7_000, "the last good offset stays");
    }
}
