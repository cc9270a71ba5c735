//! Binary min-heaps: one of timers ordered by `run_at`, one of ready entries
//! ordered by (priority, run_at, id). Cancels and replacements are lazy: a
//! heap item whose generation no longer matches the live entry is skipped.

use std::{
    cmp::Reverse,
    collections::{BinaryHeap, HashMap},
};

use super::queue::{Entry, JobId, ReadyQueue};

pub struct HeapQueue {
    now: i64,
    next_gen: u64,
    live: HashMap<JobId, (Entry, u64)>,
    timers: BinaryHeap<Reverse<(i64, JobId, u64)>>,
    ready: BinaryHeap<Reverse<((i16, i64, JobId), u64)>>,
}

impl HeapQueue {
    pub fn new(now: i64) -> Self {
        HeapQueue { now, next_gen: 0, live: HashMap::new(), timers: BinaryHeap::new(), ready: BinaryHeap::new() }
    }

    fn is_current(&self, id: JobId, gen: u64) -> bool {
        self.live.get(&id).is_some_and(|(_, g)| *g == gen)
    }

    /// Keeps the invariant that the top timer, if any, is current, so
    /// `next_wake` is a peek.
    fn drop_stale_timers(&mut self) {
        while let Some(Reverse((_, id, gen))) = self.timers.peek().copied() {
            if self.is_current(id, gen) {
                break;
            }
            self.timers.pop();
        }
    }
}

impl ReadyQueue for HeapQueue {
    fn insert(&mut self, entry: Entry) {
        let gen = self.next_gen;
        self.next_gen += 1;
        self.live.insert(entry.id, (entry, gen));
        if entry.run_at <= self.now {
            self.ready.push(Reverse((entry.order_key(), gen)));
        } else {
            self.timers.push(Reverse((entry.run_at, entry.id, gen)));
        }
        self.drop_stale_timers();
    }

    fn cancel(&mut self, id: JobId) -> bool {
        let found = self.live.remove(&id).is_some();
        self.drop_stale_timers();
        found
    }

    fn advance(&mut self, now: i64) {
        if now <= self.now {
            return;
        }
        self.now = now;
        while let Some(Reverse((run_at, id, gen))) = self.timers.peek().copied() {
            if run_at > now {
                break;
            }
            self.timers.pop();
            if let Some((entry, g)) = self.live.get(&id) {
                if *g == gen {
                    self.ready.push(Reverse((entry.order_key(), gen)));
                }
            }
        }
        self.drop_stale_timers();
    }

    fn pop_ready(&mut self) -> Option<Entry> {
        while let Some(Reverse(((_, _, id), gen))) = self.ready.pop() {
            if self.is_current(id, gen) {
                let entry = self.live.remove(&id).map(|(e, _)| e);
                self.drop_stale_timers();
                return entry;
            }
        }
        None
    }

    fn next_wake(&self) -> Option<i64> {
        // Every mutation leaves a current timer on top (see drop_stale_timers).
        self.timers.peek().map(|Reverse((run_at, _, _))| *run_at)
    }

    fn len(&self) -> usize {
        self.live.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_by_priority_then_run_at_then_id() {
        let mut q = HeapQueue::new(1_000);
        q.insert(Entry { id: 3, priority: 5, run_at: 900 });
        q.insert(Entry { id: 2, priority: 0, run_at: 950 });
        q.insert(Entry { id: 1, priority: 0, run_at: 950 });
        q.insert(Entry { id: 4, priority: 0, run_at: 800 });
        let order: Vec<_> = std::iter::from_fn(|| q.pop_ready()).map(|e| e.id).collect();
        assert_eq!(order, vec![4, 1, 2, 3]);
    }

    #[test]
    fn future_entries_wait_for_the_clock() {
        let mut q = HeapQueue::new(0);
        q.insert(Entry { id: 1, priority: 0, run_at: 5_000 });
        assert_eq!(q.pop_ready(), None);
        assert_eq!(q.next_wake(), Some(5_000));
        q.advance(4_999);
        assert_eq!(q.pop_ready(), None);
        q.advance(5_000);
        assert_eq!(q.pop_ready().map(|e| e.id), Some(1));
        assert_eq!(q.next_wake(), None);
    }

    #[test]
    fn matches_the_reference_model() {
        super::super::queue::model_tests::check_against_model(|now| Box::new(HeapQueue::new(now)));
    }
}
