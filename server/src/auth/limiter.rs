//! Login throttling: failures are counted per account and per client IP in
//! a sliding window; past the limit, attempts are refused with the time to
//! wait. Kept in memory per node: a restart forgets, which only helps the
//! legitimate user, and each node limits on its own.

use std::collections::{HashMap, VecDeque};

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub window_ms: i64,
    pub per_account: usize,
    pub per_ip: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { window_ms: 15 * 60_000, per_account: 5, per_ip: 20 }
    }
}

/// Bounds memory under a spray of random emails.
const MAX_KEYS: usize = 50_000;

#[derive(Debug, Default)]
pub struct LoginLimiter {
    limits: Limits,
    failures: HashMap<String, VecDeque<i64>>,
}

impl LoginLimiter {
    pub fn new(limits: Limits) -> Self {
        LoginLimiter { limits, failures: HashMap::new() }
    }

    fn keys(account: &str, ip: &str) -> [String; 2] {
        [format!("a:{}", account.trim().to_lowercase()), format!("i:{ip}")]
    }

    /// Ok when an attempt may be made; Err(seconds to wait) otherwise.
    pub fn check(&mut self, account: &str, ip: &str, now: i64) -> Result<(), u64> {
        let [a, i] = Self::keys(account, ip);
        let wait = [(a, self.limits.per_account), (i, self.limits.per_ip)]
            .into_iter()
            .filter_map(|(key, limit)| {
                let q = self.failures.get_mut(&key)?;
                while q.front().is_some_and(|t| now - t >= self.limits.window_ms) {
                    q.pop_front();
                }
                (q.len() >= limit).then(|| q.front().map_or(0, |first| first + self.limits.window_ms - now))
            })
            .max();
        match wait {
            Some(ms) => Err(((ms.max(0) + 999) / 1000).max(1) as u64),
            None => Ok(()),
        }
    }

    pub fn failed(&mut self, account: &str, ip: &str, now: i64) {
        if self.failures.len() >= MAX_KEYS {
            let window = self.limits.window_ms;
            self.failures.retain(|_, q| q.back().is_some_and(|t| now - t < window));
        }
        for key in Self::keys(account, ip) {
            self.failures.entry(key).or_default().push_back(now);
        }
    }

    /// A successful sign-in clears the account's failures (not the IP's).
    pub fn succeeded(&mut self, account: &str, ip: &str) {
        let [a, _] = Self::keys(account, ip);
        self.failures.remove(&a);
    }

    /// `check` and `failed` in one step: the attempt is counted as a failure
    /// before the password is verified, so concurrent attempts cannot all
    /// pass the check before any of them is counted. Undo it with
    /// `reserved_succeeded` when the sign-in works, or `release` when the
    /// attempt should not count (refused input, a server error).
    pub fn reserve(&mut self, account: &str, ip: &str, now: i64) -> Result<(), u64> {
        self.check(account, ip, now)?;
        self.failed(account, ip, now);
        Ok(())
    }

    /// Takes back an attempt reserved at `now`.
    pub fn release(&mut self, account: &str, ip: &str, now: i64) {
        for key in Self::keys(account, ip) {
            self.unrecord(&key, now);
        }
    }

    /// A reserved attempt signed in: as `succeeded`, and the IP's count
    /// loses the reservation (a success never counted against the IP).
    pub fn reserved_succeeded(&mut self, account: &str, ip: &str, now: i64) {
        let [a, i] = Self::keys(account, ip);
        self.failures.remove(&a);
        self.unrecord(&i, now);
    }

    fn unrecord(&mut self, key: &str, at: i64) {
        let emptied = match self.failures.get_mut(key) {
            Some(q) => {
                if let Some(pos) = q.iter().rposition(|&t| t == at) {
                    let _ = q.remove(pos);
                }
                q.is_empty()
            }
            None => false,
        };
        if emptied {
            self.failures.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_locks_after_limit_and_unlocks_with_time() {
        let mut l = LoginLimiter::new(Limits { window_ms: 60_000, per_account: 3, per_ip: 100 });
        for t in 0..3 {
            assert!(l.check("Ada@x.io", "1.1.1.1", t * 1000).is_ok());
            l.failed("Ada@x.io", "1.1.1.1", t * 1000);
        }
        // Case-insensitive, from any IP.
        assert_eq!(l.check("ada@x.io", "2.2.2.2", 10_000), Err(50));
        assert_eq!(l.check("ada@x.io", "2.2.2.2", 59_500), Err(1));
        assert!(l.check("ada@x.io", "2.2.2.2", 60_000).is_ok(), "the first failure left the window");
        assert!(l.check("bob@x.io", "1.1.1.1", 10_000).is_ok());
    }

    #[test]
    fn ip_limit_spans_accounts_and_success_clears_the_account() {
        let mut l = LoginLimiter::new(Limits { window_ms: 60_000, per_account: 2, per_ip: 3 });
        l.failed("a@x.io", "9.9.9.9", 0);
        l.succeeded("a@x.io", "9.9.9.9");
        l.failed("b@x.io", "9.9.9.9", 0);
        l.failed("c@x.io", "9.9.9.9", 0);
        assert!(l.check("a@x.io", "8.8.8.8", 1).is_ok());
        assert!(l.check("d@x.io", "9.9.9.9", 1).is_err(), "three failures from one IP");
    }

    #[test]
    fn reservations_count_at_once_and_can_be_taken_back() {
        let mut l = LoginLimiter::new(Limits { window_ms: 60_000, per_account: 2, per_ip: 3 });
        // Two attempts in flight use up the account's allowance before either is verified.
        assert!(l.reserve("a@x.io", "1.1.1.1", 0).is_ok());
        assert!(l.reserve("A@x.io", "1.1.1.2", 0).is_ok());
        assert_eq!(l.reserve("a@x.io", "1.1.1.3", 0), Err(60), "a third waits");
        // One attempt did not count after all: room for one more.
        l.release("a@x.io", "1.1.1.2", 0);
        assert!(l.reserve("a@x.io", "1.1.1.3", 0).is_ok());
        assert!(l.check("a@x.io", "1.1.1.4", 0).is_err());
        // A success clears the account and its own reservation on the IP.
        l.reserved_succeeded("a@x.io", "1.1.1.3", 0);
        assert!(l.check("a@x.io", "1.1.1.4", 0).is_ok());
        for acct in ["b@x.io", "c@x.io"] {
            assert!(l.reserve(acct, "1.1.1.3", 0).is_ok());
        }
        assert!(l.check("d@x.io", "1.1.1.3", 0).is_ok(), "the successful attempt is not held against the IP");
        assert!(l.reserve("d@x.io", "1.1.1.3", 0).is_ok());
        assert!(l.check("e@x.io", "1.1.1.3", 0).is_err(), "three failures from one IP");
    }
}
