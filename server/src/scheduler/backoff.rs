//! Retry policy: how many runs a job gets and how long it waits between them.
//! Pure: the random jitter is passed in, so tests choose it.

use std::time::Duration;

/// The default schedule: first run plus retries after 1 s, 5 s and 25 s.
pub const DEFAULT_DELAYS: [Duration; 3] = [Duration::from_secs(1), Duration::from_secs(5), Duration::from_secs(25)];

/// Each delay is multiplied by a factor drawn from [0.8, 1.2] so a burst of
/// failures does not retry in lock-step.
pub const JITTER: f64 = 0.2;

#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Total runs allowed, the first included.
    pub max_attempts: u32,
    /// Delay before retry n (1-based) is `delays[n-1]`; the last entry
    /// repeats when there are more retries than delays.
    pub delays: Vec<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 4, delays: DEFAULT_DELAYS.to_vec() }
    }
}

/// What to do after a failed run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AfterFailure {
    RetryIn(Duration),
    DeadLetter,
}

impl RetryPolicy {
    /// `attempt` is the run that just failed (1 for the first run).
    /// `unit` is a uniform random number in [0, 1).
    pub fn after_failure(&self, attempt: u32, permanent: bool, unit: f64) -> AfterFailure {
        if permanent || attempt >= self.max_attempts || self.delays.is_empty() {
            return AfterFailure::DeadLetter;
        }
        let index = (attempt.max(1) as usize - 1).min(self.delays.len() - 1);
        let factor = 1.0 - JITTER + 2.0 * JITTER * unit.clamp(0.0, 1.0);
        AfterFailure::RetryIn(self.delays[index].mul_f64(factor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(d: AfterFailure) -> f64 {
        match d {
            AfterFailure::RetryIn(d) => d.as_secs_f64(),
            AfterFailure::DeadLetter => panic!("expected a retry"),
        }
    }

    #[test]
    fn default_schedule_is_1_5_25_then_dead_letter() {
        let p = RetryPolicy::default();
        assert_eq!(secs(p.after_failure(1, false, 0.5)), 1.0);
        assert_eq!(secs(p.after_failure(2, false, 0.5)), 5.0);
        assert_eq!(secs(p.after_failure(3, false, 0.5)), 25.0);
        assert_eq!(p.after_failure(4, false, 0.5), AfterFailure::DeadLetter);
    }

    #[test]
    fn jitter_stays_within_eighty_to_one_hundred_twenty_percent() {
        let p = RetryPolicy::default();
        assert!((secs(p.after_failure(2, false, 0.0)) - 4.0).abs() < 1e-9);
        assert!((secs(p.after_failure(2, false, 0.999_999)) - 6.0).abs() < 1e-4);
        for i in 0..100 {
            let d = secs(p.after_failure(3, false, i as f64 / 100.0));
            assert!((20.0..=30.0).contains(&d), "{d}");
        }
    }

    #[test]
    fn permanent_errors_and_overrides() {
        let p = RetryPolicy::default();
        assert_eq!(p.after_failure(1, true, 0.5), AfterFailure::DeadLetter);
        let p = RetryPolicy { max_attempts: 6, delays: vec![Duration::from_millis(100)] };
        assert_eq!(secs(p.after_failure(5, false, 0.5)), 0.1);
        assert_eq!(p.after_failure(6, false, 0.5), AfterFailure::DeadLetter);
        let once = RetryPolicy { max_attempts: 1, delays: DEFAULT_DELAYS.to_vec() };
        assert_eq!(once.after_failure(1, false, 0.5), AfterFailure::DeadLetter);
    }
}
