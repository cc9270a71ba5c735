//! The in-memory ready/timer structure a node dispatches from. Jobs due now
//! are popped most urgent first, ordered by (priority, run_at, id); jobs due
//! later sit in a timer structure that tells the node exactly when to wake.

use std::str::FromStr;

pub type JobId = i64;

/// What the queue needs to know of a job. Times are Unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Entry {
    pub id: JobId,
    /// 0 runs first; smaller is more urgent.
    pub priority: i16,
    pub run_at: i64,
}

impl Entry {
    pub fn order_key(&self) -> (i16, i64, JobId) {
        (self.priority, self.run_at, self.id)
    }
}

pub trait ReadyQueue: Send {
    /// Adds an entry, replacing any entry with the same id (a new priority
    /// after aging or inheritance, or a new `run_at` after a retry).
    fn insert(&mut self, entry: Entry);

    /// Removes an entry; false when it was not there.
    fn cancel(&mut self, id: JobId) -> bool;

    /// Moves the clock forward; entries with `run_at <= now` become ready.
    /// A clock that goes backwards is ignored.
    fn advance(&mut self, now: i64);

    /// Takes the most urgent ready entry.
    fn pop_ready(&mut self) -> Option<Entry>;

    /// The earliest `run_at` among entries not yet ready: when to wake next.
    fn next_wake(&self) -> Option<i64>;

    /// Live entries, ready or not.
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Which implementation a node uses (`--scheduler heap|wheel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueKind {
    #[default]
    Heap,
    Wheel,
}

impl FromStr for QueueKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "heap" => Ok(QueueKind::Heap),
            "wheel" => Ok(QueueKind::Wheel),
            other => Err(format!("unknown scheduler {other:?}: expected heap or wheel")),
        }
    }
}

impl QueueKind {
    pub fn build(self, now: i64) -> Box<dyn ReadyQueue> {
        match self {
            QueueKind::Heap => Box::new(super::heap::HeapQueue::new(now)),
            QueueKind::Wheel => Box::new(super::wheel::TimingWheel::new(now)),
        }
    }
}

#[cfg(test)]
pub(crate) mod model_tests {
    //! One property suite for every implementation, against a plain model.
    use proptest::prelude::*;

    use super::*;

    /// The reference: a list, scanned in full on every question.
    struct Model {
        now: i64,
        live: Vec<Entry>,
    }

    impl Model {
        fn insert(&mut self, e: Entry) {
            self.live.retain(|x| x.id != e.id);
            self.live.push(e);
        }
        fn cancel(&mut self, id: JobId) -> bool {
            let before = self.live.len();
            self.live.retain(|x| x.id != id);
            before != self.live.len()
        }
        fn advance(&mut self, now: i64) {
            self.now = self.now.max(now);
        }
        fn pop_ready(&mut self) -> Option<Entry> {
            let best = self.live.iter().filter(|e| e.run_at <= self.now).min_by_key(|e| e.order_key()).copied()?;
            self.live.retain(|x| x.id != best.id);
            Some(best)
        }
        fn next_wake(&self) -> Option<i64> {
            self.live.iter().filter(|e| e.run_at > self.now).map(|e| e.run_at).min()
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert {
            id: JobId,
            priority: i16,
            delay: i64,
        },
        Cancel(JobId),
        Advance(i64),
        Pop,
        /// Advance straight to the next wake-up, as the dispatcher does.
        Wake,
    }

    fn delay() -> impl Strategy<Value = i64> {
        prop_oneof![
            4 => -50i64..0,                 // already due (a late insert)
            8 => 0i64..200,                 // within level 0
            6 => 0i64..300_000,             // a few levels up
            2 => 0i64..(1i64 << 40),        // far future: top levels
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0i64..40, 0i16..10, delay()).prop_map(|(id, priority, delay)| Op::Insert { id, priority, delay }),
            1 => (0i64..40).prop_map(Op::Cancel),
            3 => prop_oneof![0i64..70, 0i64..5_000, 0i64..400_000].prop_map(Op::Advance),
            5 => Just(Op::Pop),
            2 => Just(Op::Wake),
        ]
    }

    pub fn check_against_model(make: fn(i64) -> Box<dyn ReadyQueue>) {
        let config = ProptestConfig { cases: 400, ..ProptestConfig::default() };
        proptest!(config, |(start in 0i64..(1i64 << 41), ops in prop::collection::vec(op(), 1..250))| {
            let mut q = make(start);
            let mut m = Model { now: start, live: Vec::new() };
            for op in ops {
                match op {
                    Op::Insert { id, priority, delay } => {
                        let e = Entry { id, priority, run_at: m.now + delay };
                        q.insert(e);
                        m.insert(e);
                    }
                    Op::Cancel(id) => prop_assert_eq!(q.cancel(id), m.cancel(id)),
                    Op::Advance(dt) => {
                        q.advance(m.now + dt);
                        m.advance(m.now + dt);
                    }
                    Op::Pop => prop_assert_eq!(q.pop_ready(), m.pop_ready()),
                    Op::Wake => {
                        if let Some(t) = m.next_wake() {
                            q.advance(t);
                            m.advance(t);
                        }
                    }
                }
                prop_assert_eq!(q.len(), m.live.len());
                prop_assert_eq!(q.next_wake(), m.next_wake());
            }
            // Drain everything in order.
            while let Some(t) = m.next_wake() {
                q.advance(t);
                m.advance(t);
            }
            loop {
                let (a, b) = (q.pop_ready(), m.pop_ready());
                prop_assert_eq!(a, b);
                if a.is_none() { break; }
            }
            prop_assert!(q.is_empty());
        });
    }

    #[test]
    fn queue_kind_parses() {
        assert_eq!("heap".parse::<QueueKind>(), Ok(QueueKind::Heap));
        assert_eq!(" Wheel ".parse::<QueueKind>(), Ok(QueueKind::Wheel));
        assert!("fifo".parse::<QueueKind>().unwrap_err().contains("heap or wheel"));
    }
}
