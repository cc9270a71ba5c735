//! A circuit breaker per provider. Closed: calls flow and outcomes fill a
//! sliding window; when the failure rate crosses the threshold with at least
//! `min_calls` in the window, it opens. Open: calls are refused without a
//! network call until the cooldown passes. Half-open: a limited number of
//! probes are admitted; a success closes it, a failure reopens it with a
//! longer cooldown. An operator can force it open or closed. Time is passed
//! in (Unix ms), so tests drive it without sleeping.

use std::collections::VecDeque;

#[derive(Debug, Clone, PartialEq)]
pub struct BreakerConfig {
    /// Failure rate (0..1) that opens the breaker.
    pub failure_rate: f64,
    /// Outcomes younger than this count.
    pub window_ms: i64,
    /// Fewer calls than this in the window never open it.
    pub min_calls: usize,
    pub cooldown_ms: i64,
    /// Each reopening multiplies the cooldown, up to `max_cooldown_ms`.
    pub cooldown_factor: f64,
    pub max_cooldown_ms: i64,
    /// Probes admitted at once while half-open.
    pub half_open_probes: usize,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_rate: 0.5,
            window_ms: 30_000,
            min_calls: 10,
            cooldown_ms: 5_000,
            cooldown_factor: 2.0,
            max_cooldown_ms: 120_000,
            half_open_probes: 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Closed,
    Open { until: i64 },
    HalfOpen,
    ForcedOpen,
    ForcedClosed,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open { .. } => "open",
            State::HalfOpen => "half_open",
            State::ForcedOpen => "forced_open",
            State::ForcedClosed => "forced_closed",
        }
    }
}

/// Whether a call may go to the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Allowed,
    /// Admitted as a probe of the half-open period it names: report its
    /// outcome. A probe outliving its period (an operator's override came
    /// between) neither frees nor decides a later one.
    Probe(u64),
    Refused,
}

impl Admission {
    pub fn is_probe(self) -> bool {
        matches!(self, Admission::Probe(_))
    }
}

/// A state change, for logs and events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: &'static str,
    pub to: &'static str,
    pub at: i64,
}

#[derive(Debug, Clone)]
pub struct Breaker {
    config: BreakerConfig,
    state: State,
    /// (time, failed) of recent outcomes.
    window: VecDeque<(i64, bool)>,
    probes_in_flight: usize,
    /// Counts the half-open periods, so a probe's outcome is matched to its own.
    period: u64,
    cooldown_ms: i64,
}

impl Breaker {
    pub fn new(config: BreakerConfig) -> Breaker {
        let cooldown_ms = config.cooldown_ms;
        Breaker { config, state: State::Closed, window: VecDeque::new(), probes_in_flight: 0, period: 0, cooldown_ms }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// The failure rate over the window, and the number of calls in it.
    pub fn failure_rate(&mut self, now: i64) -> (f64, usize) {
        self.expire(now);
        let n = self.window.len();
        let failed = self.window.iter().filter(|(_, f)| *f).count();
        (if n == 0 { 0.0 } else { failed as f64 / n as f64 }, n)
    }

    fn expire(&mut self, now: i64) {
        while self.window.front().is_some_and(|(t, _)| now - t >= self.config.window_ms) {
            self.window.pop_front();
        }
    }

    fn set(&mut self, to: State, now: i64) -> Option<Transition> {
        let from = self.state;
        self.state = to;
        (from.name() != to.name()).then_some(Transition { from: from.name(), to: to.name(), at: now })
    }

    /// Asks to make a call. An open breaker whose cooldown has passed turns
    /// half-open and admits up to `half_open_probes` probes.
    pub fn admit(&mut self, now: i64) -> (Admission, Option<Transition>) {
        match self.state {
            State::Closed | State::ForcedClosed => (Admission::Allowed, None),
            State::ForcedOpen => (Admission::Refused, None),
            State::Open { until } if now < until => (Admission::Refused, None),
            State::Open { .. } => {
                let t = self.set(State::HalfOpen, now);
                self.period += 1;
                self.probes_in_flight = 1;
                (Admission::Probe(self.period), t)
            }
            State::HalfOpen if self.probes_in_flight < self.config.half_open_probes => {
                self.probes_in_flight += 1;
                (Admission::Probe(self.period), None)
            }
            State::HalfOpen => (Admission::Refused, None),
        }
    }

    /// An admitted call that never reached the provider (no free slot, no
    /// time left, its caller gone): a probe gives its place back, so a
    /// half-open breaker is never left waiting for an outcome that will not
    /// come. Nothing is counted.
    pub fn release(&mut self, admission: Admission) {
        if self.is_current_probe(admission) {
            self.probes_in_flight = self.probes_in_flight.saturating_sub(1);
        }
    }

    fn is_current_probe(&self, admission: Admission) -> bool {
        self.state == State::HalfOpen && admission == Admission::Probe(self.period)
    }

    /// Reports a call's outcome.
    pub fn record(&mut self, now: i64, admission: Admission, ok: bool) -> Option<Transition> {
        match self.state {
            _ if self.is_current_probe(admission) => {
                self.probes_in_flight = self.probes_in_flight.saturating_sub(1);
                if ok {
                    self.window.clear();
                    self.cooldown_ms = self.config.cooldown_ms;
                    self.set(State::Closed, now)
                } else {
                    self.cooldown_ms = ((self.cooldown_ms as f64 * self.config.cooldown_factor) as i64)
                        .min(self.config.max_cooldown_ms);
                    self.set(State::Open { until: now + self.cooldown_ms }, now)
                }
            }
            State::Closed => {
                self.window.push_back((now, !ok));
                let (rate, n) = self.failure_rate(now);
                if n >= self.config.min_calls && rate >= self.config.failure_rate {
                    self.set(State::Open { until: now + self.cooldown_ms }, now)
                } else {
                    None
                }
            }
            // Late outcomes of calls admitted before a change, or while forced.
            _ => None,
        }
    }

    /// An operator override; `None` returns to automatic operation (closed).
    pub fn force(&mut self, now: i64, open: Option<bool>) -> Option<Transition> {
        self.window.clear();
        self.probes_in_flight = 0;
        self.cooldown_ms = self.config.cooldown_ms;
        let to = match open {
            Some(true) => State::ForcedOpen,
            Some(false) => State::ForcedClosed,
            None => State::Closed,
        };
        self.set(to, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> BreakerConfig {
        BreakerConfig {
            min_calls: 4,
            window_ms: 10_000,
            cooldown_ms: 1_000,
            max_cooldown_ms: 3_000,
            ..BreakerConfig::default()
        }
    }

    #[test]
    fn opens_on_the_failure_rate_only_with_enough_calls() {
        let mut b = Breaker::new(config());
        for t in 0..3 {
            assert_eq!(b.admit(t).0, Admission::Allowed);
            assert!(b.record(t, Admission::Allowed, false).is_none(), "3 calls are below min_calls");
        }
        let t = b.record(3, Admission::Allowed, false).expect("the 4th failure opens it");
        assert_eq!((t.from, t.to), ("closed", "open"));
        assert_eq!(b.admit(500).0, Admission::Refused, "skipped without a call");
    }

    #[test]
    fn a_probe_that_never_reached_the_provider_gives_its_place_back() {
        let mut b = Breaker::new(config());
        for t in 0..4 {
            b.record(t, Admission::Allowed, false);
        }
        let until = match b.state() {
            State::Open { until } => until,
            s => panic!("{s:?}"),
        };
        assert_eq!(b.admit(until).0, Admission::Probe(1));
        assert_eq!(b.admit(until).0, Admission::Refused, "one probe at a time");
        b.release(Admission::Probe(1));
        assert_eq!(b.state(), State::HalfOpen, "nothing was counted");
        assert_eq!(b.admit(until).0, Admission::Probe(1), "the next call may probe");
        assert!(b.record(until, Admission::Probe(1), true).is_some());
        assert_eq!(b.state(), State::Closed);
        b.release(Admission::Allowed);
        assert_eq!(b.state(), State::Closed);
    }

    #[test]
    fn a_healthy_mix_stays_closed_and_old_failures_expire() {
        let mut b = Breaker::new(config());
        for t in 0..8 {
            b.record(t, Admission::Allowed, t % 4 != 0);
        }
        assert_eq!(b.state(), State::Closed, "25% failures");
        for t in 0..3 {
            b.record(t, Admission::Allowed, false);
        }
        // Past the window those failures no longer count.
        assert_eq!(b.failure_rate(20_000), (0.0, 0));
    }

    #[test]
    fn half_open_probes_close_it_or_reopen_it_with_a_growing_cooldown() {
        let mut b = Breaker::new(config());
        for t in 0..4 {
            b.record(t, Admission::Allowed, false);
        }
        assert_eq!(b.state(), State::Open { until: 1_003 });
        let (a, t) = b.admit(1_003);
        assert_eq!(a, Admission::Probe(1));
        assert_eq!(t.unwrap().to, "half_open");
        assert_eq!(b.admit(1_004).0, Admission::Refused, "one probe at a time");
        assert_eq!(b.record(1_100, a, false).unwrap().to, "open");
        assert_eq!(b.state(), State::Open { until: 3_100 }, "cooldown doubled");
        let (a, _) = b.admit(3_100);
        b.record(3_200, a, false);
        assert_eq!(b.state(), State::Open { until: 6_200 }, "capped at max_cooldown_ms");
        let (a, _) = b.admit(6_200);
        assert_eq!(b.record(6_300, a, true).unwrap().to, "closed");
        assert_eq!(b.admit(6_301).0, Admission::Allowed);
        // Closed again with the base cooldown.
        for t in 0..4 {
            b.record(7_000 + t, Admission::Allowed, false);
        }
        assert_eq!(b.state(), State::Open { until: 8_003 });
    }

    /// A probe admitted before an operator's override, released or
    /// answered after the breaker went half-open again, is a stranger there:
    /// it frees no place and decides nothing.
    #[test]
    fn a_probe_from_an_earlier_half_open_period_is_ignored() {
        let mut b = Breaker::new(config());
        let open = |b: &mut Breaker, at: i64| {
            for t in 0..4 {
                b.record(at + t, Admission::Allowed, false);
            }
        };
        open(&mut b, 0);
        let (old, _) = b.admit(1_003);
        assert_eq!(old, Admission::Probe(1));
        b.force(1_010, None);
        open(&mut b, 1_020);
        let (current, _) = b.admit(2_023);
        assert_eq!(current, Admission::Probe(2));
        b.release(old);
        assert_eq!(b.admit(2_024).0, Admission::Refused, "still one probe at a time");
        assert!(b.record(2_025, old, true).is_none());
        assert_eq!(b.state(), State::HalfOpen, "the old probe decided nothing");
        assert_eq!(b.record(2_026, current, true).unwrap().to, "closed");
    }

    #[test]
    fn operators_can_force_it() {
        let mut b = Breaker::new(config());
        assert_eq!(b.force(0, Some(true)).unwrap().to, "forced_open");
        assert_eq!(b.admit(1).0, Admission::Refused);
        b.force(2, Some(false));
        for t in 0..10 {
            b.record(t, Admission::Allowed, false);
        }
        assert_eq!(b.admit(20).0, Admission::Allowed, "forced closed ignores failures");
        assert_eq!(b.force(30, None).unwrap().to, "closed");
    }
}
