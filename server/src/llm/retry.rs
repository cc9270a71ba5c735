//! What a provider error means and what to do next: retry the same tier
//! (after a delay), move to the next tier, or give up on a bad request of
//! our own. Delays are exponential with full jitter, capped; a server's
//! retry hint is honoured when it fits the call's remaining deadline.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// 429 with a short hint, 5xx, timeouts, connection errors, empty or cut responses.
    Retry,
    /// Daily quota exhausted, 402 credits, 401/403, model not found.
    NextTier,
    /// 400 for our own bad request: other tiers would refuse it too. The
    /// provider did its job, so its breaker counts it as a success.
    Fatal,
}

/// What went wrong, as the provider clients report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Status {
        code: u16,
        quota_exhausted: bool,
        model_not_found: bool,
        /// Our key or account was refused (Gemini says so with a 400).
        key_refused: bool,
        retry_after: Option<Duration>,
    },
    Timeout,
    Connect,
    /// A 200 without content.
    Empty,
    /// A stream that ended before completing.
    Cut,
}

impl Failure {
    pub fn class(&self) -> ErrorClass {
        match self {
            Failure::Timeout | Failure::Connect | Failure::Empty | Failure::Cut => ErrorClass::Retry,
            Failure::Status { quota_exhausted: true, .. }
            | Failure::Status { model_not_found: true, .. }
            | Failure::Status { key_refused: true, .. } => ErrorClass::NextTier,
            Failure::Status { code, .. } => match code {
                429 | 500 | 502 | 503 | 504 | 408 => ErrorClass::Retry,
                401 | 402 | 403 | 404 => ErrorClass::NextTier,
                400 | 413 | 422 => ErrorClass::Fatal,
                c if *c >= 500 => ErrorClass::Retry,
                _ => ErrorClass::NextTier,
            },
        }
    }

    /// Whether it counts against the provider's breaker: our own bad request
    /// (fatal) does not, the provider did its job in refusing it.
    pub fn blames_provider(&self) -> bool {
        self.class() != ErrorClass::Fatal
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Failure::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
    /// Attempts per tier, the first included.
    pub max_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { base: Duration::from_millis(200), cap: Duration::from_secs(4), max_attempts: 3 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    RetryAfter(Duration),
    NextTier,
    Fail,
}

impl Backoff {
    /// Full jitter: a uniform delay in [0, min(cap, base·2^(attempt-1))].
    /// `unit` is a uniform random number in [0, 1).
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let exp = self.base.saturating_mul(1u32 << (attempt.saturating_sub(1)).min(20));
        exp.min(self.cap).mul_f64(unit.clamp(0.0, 1.0))
    }

    /// After failed attempt `attempt` (1-based), with `remaining` of the
    /// call's deadline left.
    pub fn next(&self, failure: &Failure, attempt: u32, remaining: Duration, unit: f64) -> Next {
        match failure.class() {
            ErrorClass::Fatal => Next::Fail,
            ErrorClass::NextTier => Next::NextTier,
            ErrorClass::Retry if attempt >= self.max_attempts => Next::NextTier,
            ErrorClass::Retry => match failure.retry_after() {
                // The server's hint is honoured when it is short: at most half
                // of what is left, so the retry and the tiers after it still
                // have time. A longer one means moving on at once, not waiting.
                Some(hint) if hint <= remaining / 2 => Next::RetryAfter(hint),
                Some(_) => Next::NextTier,
                None => {
                    let wait = self.delay(attempt, unit);
                    if wait < remaining {
                        Next::RetryAfter(wait)
                    } else {
                        Next::NextTier
                    }
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> Failure {
        Failure::Status { code, quota_exhausted: false, model_not_found: false, key_refused: false, retry_after: None }
    }

    #[test]
    fn classes_follow_the_architecture() {
        for c in [429, 500, 502, 503, 504] {
            assert_eq!(status(c).class(), ErrorClass::Retry, "{c}");
        }
        for c in [401, 402, 403, 404] {
            assert_eq!(status(c).class(), ErrorClass::NextTier, "{c}");
        }
        assert_eq!(status(400).class(), ErrorClass::Fatal);
        let quota = Failure::Status {
            code: 429,
            quota_exhausted: true,
            model_not_found: false,
            key_refused: false,
            retry_after: None,
        };
        assert_eq!(quota.class(), ErrorClass::NextTier, "a daily quota moves on");
        for f in [Failure::Timeout, Failure::Connect, Failure::Empty, Failure::Cut] {
            assert_eq!(f.class(), ErrorClass::Retry);
        }
    }

    #[test]
    fn full_jitter_is_bounded_and_capped() {
        let b = Backoff::default();
        assert_eq!(b.delay(1, 0.0), Duration::ZERO);
        assert_eq!(b.delay(1, 0.999_999), Duration::from_millis(200).mul_f64(0.999_999));
        assert_eq!(b.delay(3, 1.0), Duration::from_millis(800));
        assert_eq!(b.delay(30, 1.0), Duration::from_secs(4), "capped");
    }

    #[test]
    fn hints_are_honoured_only_when_they_fit_the_deadline() {
        let b = Backoff::default();
        let hint = |s| Failure::Status {
            code: 429,
            quota_exhausted: false,
            model_not_found: false,
            key_refused: false,
            retry_after: Some(Duration::from_secs(s)),
        };
        assert_eq!(b.next(&hint(2), 1, Duration::from_secs(8), 0.5), Next::RetryAfter(Duration::from_secs(2)));
        assert_eq!(b.next(&hint(4), 1, Duration::from_secs(8), 0.5), Next::RetryAfter(Duration::from_secs(4)));
        assert_eq!(b.next(&hint(5), 1, Duration::from_secs(8), 0.5), Next::NextTier, "5 s would leave 3 s of 8");
        assert_eq!(b.next(&hint(60), 1, Duration::from_secs(8), 0.5), Next::NextTier, "60 s does not fit 8 s");
        let endless = Failure::Status {
            code: 429,
            quota_exhausted: false,
            model_not_found: false,
            key_refused: false,
            retry_after: Some(Duration::MAX),
        };
        assert_eq!(b.next(&endless, 1, Duration::from_secs(45), 0.5), Next::NextTier);
        assert_eq!(b.next(&status(503), 3, Duration::from_secs(8), 0.5), Next::NextTier, "attempts spent");
        assert_eq!(b.next(&status(400), 1, Duration::from_secs(8), 0.5), Next::Fail);
        assert_eq!(b.next(&status(401), 1, Duration::from_secs(8), 0.5), Next::NextTier);
    }
}
