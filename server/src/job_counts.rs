//! Job counts per queue and state for the dashboard, without scanning the
//! retained history every second.
//!
//! The states a job waits, runs or lies dead in each have a partial index,
//! so counting them costs what those jobs cost: they are counted exactly on
//! every tick. The settled states (succeeded, cancelled, upstream_failed)
//! hold the whole retention window, millions of rows on a busy node, and
//! have no index (every completion would pay for one). They are counted in
//! full only now and then, at most once per `REFRESH_COST` times the last
//! count's duration, and brought forward between counts by the job events
//! every node publishes.
//!
//! Between two full counts a settled count can be slightly off until the
//! next one: a cancelled job retried, rows pruned, and jobs settled as a
//! group (a failed parent's children, a cancelled or retried workflow) have
//! no event each; an event that lands while a count runs may be counted
//! twice. Events lost to a lagging hub bring the next count forward. Pure:
//! no I/O; time comes in as arguments.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use crate::store::jobs::StateCount;

/// The states counted only now and then; every other state has a partial
/// index and is counted exactly on each tick (`Store::active_state_counts`).
pub const SETTLED_STATES: [&str; 3] = ["succeeded", "cancelled", "upstream_failed"];

/// A full count may take at most this share of the time between counts
/// (1/30, about 3% of one database connection).
const REFRESH_COST: u32 = 30;
/// Counts are fresh at least this often on small tables.
const MIN_INTERVAL: Duration = Duration::from_secs(2);
/// After a failed count.
const RETRY_INTERVAL: Duration = Duration::from_secs(10);
/// A count brought forward by lost events still leaves this many times its
/// duration since the last one (a tenth of the usual gap).
const LAG_RECOUNT_GAP: u32 = 3;

type Key = (String, String);

#[derive(Debug, Default)]
pub struct JobCounts {
    /// The last full count of the settled states.
    settled: BTreeMap<Key, i64>,
    /// Settled-state events seen since that count began.
    since_count: BTreeMap<Key, i64>,
    /// Settled-state events seen since the running count began; they replace
    /// `since_count` when it lands.
    since_running: Option<BTreeMap<Key, i64>>,
    /// When the next full count is due; `None` when due now.
    next_count: Option<Instant>,
    /// Events were lost while a count ran: count again once it lands.
    recount: bool,
    /// The last full count's duration: counts brought forward by lost
    /// events still wait a few times that long after the last one.
    last_took: Duration,
    /// When the last full count landed.
    last_landed: Option<Instant>,
    /// A full count has landed or failed: the figures mean something.
    counted: bool,
}

pub fn is_settled(state: &str) -> bool {
    SETTLED_STATES.contains(&state)
}

impl JobCounts {
    /// A job event: a job of `queue` reached `state`.
    pub fn observe(&mut self, queue: &str, state: &str) {
        if !is_settled(state) || queue.is_empty() {
            return;
        }
        let key = (queue.to_string(), state.to_string());
        *self.since_count.entry(key.clone()).or_default() += 1;
        if let Some(running) = &mut self.since_running {
            *running.entry(key).or_default() += 1;
        }
    }

    /// True when a full count should start now.
    pub fn count_due(&self, now: Instant) -> bool {
        self.since_running.is_none() && self.next_count.is_none_or(|at| now >= at)
    }

    /// A full count of the settled states starts.
    pub fn count_started(&mut self) {
        self.since_running = Some(BTreeMap::new());
        self.recount = false;
    }

    /// A full count that started `took` ago landed with `rows`.
    pub fn count_landed(&mut self, rows: Vec<StateCount>, took: Duration, now: Instant) {
        self.settled =
            rows.into_iter().filter(|r| is_settled(&r.state)).map(|r| ((r.queue, r.state), r.count)).collect();
        self.since_count = self.since_running.take().unwrap_or_default();
        self.last_took = took;
        self.last_landed = Some(now);
        self.counted = true;
        self.next_count = Some(now + (took * REFRESH_COST).max(MIN_INTERVAL));
        if std::mem::take(&mut self.recount) {
            // Events were lost while it ran, so they may be missing from it.
            self.count_soon();
        }
    }

    /// True once a full count has landed or failed, so the settled counts
    /// are more than a guess.
    pub fn has_counted(&self) -> bool {
        self.counted
    }

    /// A full count failed: the last one stands, brought forward by events.
    pub fn count_failed(&mut self, now: Instant) {
        // Events seen during the failed count are in `since_count` too.
        self.since_running = None;
        self.counted = true;
        self.next_count = Some(now + RETRY_INTERVAL);
    }

    /// Events were lost (the hub lagged): count again soon, though no
    /// sooner than `LAG_RECOUNT_GAP` times the last count's duration after
    /// it; during a count, once that count lands.
    pub fn count_soon(&mut self) {
        if self.since_running.is_some() {
            self.recount = true;
            return;
        }
        // Not back to back under a sustained lag, when the node is busiest.
        let soon = self.last_landed.map(|at| at + self.last_took * LAG_RECOUNT_GAP);
        self.next_count = match (self.next_count, soon) {
            (Some(next), Some(soon)) => Some(next.min(soon)),
            _ => None,
        };
    }

    /// The settled counts as they stand: the last full count plus the events since.
    pub fn settled(&self) -> Vec<StateCount> {
        let mut all = self.settled.clone();
        for (key, n) in &self.since_count {
            *all.entry(key.clone()).or_default() += n;
        }
        all.into_iter().map(|((queue, state), count)| StateCount { queue, state, count }).collect()
    }

    /// Every state: `active` (exact, counted just now) and the settled ones.
    pub fn merged(&self, active: Vec<StateCount>) -> Vec<StateCount> {
        let mut out: Vec<StateCount> = active.into_iter().filter(|r| !is_settled(&r.state)).collect();
        out.extend(self.settled());
        out.sort_by(|a, b| (&a.queue, &a.state).cmp(&(&b.queue, &b.state)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(queue: &str, state: &str, count: i64) -> StateCount {
        StateCount { queue: queue.into(), state: state.into(), count }
    }

    fn count_of(rows: &[StateCount], queue: &str, state: &str) -> i64 {
        rows.iter().find(|r| r.queue == queue && r.state == state).map_or(0, |r| r.count)
    }

    #[test]
    fn every_state_is_counted_once() {
        for state in app::jobs::JobState::ALL.map(|s| s.as_str()) {
            let active = crate::store::jobs::ACTIVE_STATE_PREDICATES.join(" ").contains(&format!("'{state}'"));
            assert!(active != is_settled(state), "{state} must be active or settled, not both");
        }
    }

    #[test]
    fn events_bring_the_last_full_count_forward() {
        let t0 = Instant::now();
        let mut c = JobCounts::default();
        assert!(c.count_due(t0), "the first count is due at once");
        c.count_started();
        assert!(!c.count_due(t0), "one count at a time");
        c.count_landed(vec![row("mail", "succeeded", 100), row("mail", "available", 7)], Duration::from_millis(5), t0);
        c.observe("mail", "succeeded");
        c.observe("mail", "succeeded");
        c.observe("mail", "running");
        c.observe("", "succeeded");
        c.observe("bulk", "cancelled");
        let all = c.merged(vec![row("mail", "available", 3), row("mail", "succeeded", 999)]);
        assert_eq!(count_of(&all, "mail", "succeeded"), 102, "the active query's settled rows are ignored");
        assert_eq!(count_of(&all, "mail", "available"), 3, "active states come from the active query");
        assert_eq!(count_of(&all, "bulk", "cancelled"), 1);
        assert_eq!(all.len(), 3, "{all:?}");
    }

    #[test]
    fn a_landed_count_keeps_only_the_events_seen_since_it_began() {
        let t0 = Instant::now();
        let mut c = JobCounts::default();
        c.count_started();
        c.count_landed(vec![row("q", "succeeded", 10)], Duration::ZERO, t0);
        c.observe("q", "succeeded"); // before the next count: in its rows
        c.count_started();
        c.observe("q", "succeeded"); // during it: maybe not in its rows
        c.count_landed(vec![row("q", "succeeded", 11)], Duration::ZERO, t0);
        assert_eq!(count_of(&c.settled(), "q", "succeeded"), 12);
    }

    #[test]
    fn counts_space_out_with_their_cost_and_retry_after_a_failure() {
        let t0 = Instant::now();
        let mut c = JobCounts::default();
        c.count_started();
        c.count_landed(Vec::new(), Duration::from_millis(1), t0);
        assert!(!c.count_due(t0 + Duration::from_millis(1_999)));
        assert!(c.count_due(t0 + MIN_INTERVAL), "small tables are counted every two seconds");
        c.count_started();
        c.count_landed(Vec::new(), Duration::from_secs(4), t0);
        assert!(!c.count_due(t0 + Duration::from_secs(119)), "a 4 s count runs at most every 2 minutes");
        assert!(c.count_due(t0 + Duration::from_secs(120)));
        c.observe("q", "succeeded");
        c.count_started();
        c.count_failed(t0);
        assert_eq!(count_of(&c.settled(), "q", "succeeded"), 1, "a failed count loses no event");
        assert!(!c.count_due(t0 + Duration::from_secs(9)));
        assert!(c.count_due(t0 + RETRY_INTERVAL));
    }

    #[test]
    fn lost_events_bring_the_next_count_forward() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut c = JobCounts::default();
        assert!(!c.has_counted());
        c.count_started();
        c.count_landed(Vec::new(), Duration::from_secs(4), t0);
        assert!(c.has_counted());
        c.count_soon();
        assert!(!c.count_due(at(11)), "not back to back: three times its duration after the last");
        assert!(c.count_due(at(12)), "long before the usual two minutes");
        c.count_started();
        c.count_soon();
        assert!(!c.count_due(at(12)), "one count at a time");
        c.count_landed(Vec::new(), Duration::from_secs(4), at(16));
        assert!(!c.count_due(at(27)));
        assert!(c.count_due(at(28)), "the events lost during that count may be missing from it");
        c.count_started();
        c.count_landed(Vec::new(), Duration::from_secs(4), at(32));
        assert!(!c.count_due(at(32 + 119)), "then back to its pace");
    }
}
