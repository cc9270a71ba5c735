//! A retry budget per provider: retries may add at most `ratio` of the calls
//! seen over the window (e.g. 20% over 10 s). Once spent, a failure moves to
//! the next tier instead of retrying, so an outage cannot multiply the load.

use std::collections::VecDeque;

#[derive(Debug, Clone)]
pub struct RetryBudget {
    ratio: f64,
    window_ms: i64,
    /// A floor so a quiet provider may still retry a little.
    min_retries: usize,
    calls: VecDeque<i64>,
    retries: VecDeque<i64>,
}

impl RetryBudget {
    pub fn new(ratio: f64, window_ms: i64, min_retries: usize) -> Self {
        RetryBudget { ratio, window_ms, min_retries, calls: VecDeque::new(), retries: VecDeque::new() }
    }

    fn expire(&mut self, now: i64) {
        for q in [&mut self.calls, &mut self.retries] {
            while q.front().is_some_and(|t| now - t >= self.window_ms) {
                q.pop_front();
            }
        }
    }

    /// Counts a first attempt.
    pub fn call(&mut self, now: i64) {
        self.expire(now);
        self.calls.push_back(now);
    }

    /// Takes one retry from the budget; false when it is spent.
    pub fn try_retry(&mut self, now: i64) -> bool {
        self.expire(now);
        let allowed = ((self.calls.len() as f64 * self.ratio).floor() as usize).max(self.min_retries);
        if self.retries.len() < allowed {
            self.retries.push_back(now);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_are_capped_at_a_share_of_calls_in_the_window() {
        let mut b = RetryBudget::new(0.2, 10_000, 1);
        for t in 0..50 {
            b.call(t);
        }
        let granted = (0..50).filter(|t| b.try_retry(100 + t)).count();
        assert_eq!(granted, 10, "20% of 50 calls");
        // The window slides: old calls and retries expire, the budget refills.
        for t in 0..10 {
            b.call(20_000 + t);
        }
        assert!(b.try_retry(20_050));
        assert!(b.try_retry(20_051));
        assert!(!b.try_retry(20_052), "20% of 10");
    }

    #[test]
    fn a_quiet_provider_keeps_a_minimum() {
        let mut b = RetryBudget::new(0.2, 10_000, 1);
        b.call(0);
        assert!(b.try_retry(1));
        assert!(!b.try_retry(2));
    }
}
