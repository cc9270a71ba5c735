//! A hierarchical timing wheel (after Kafka's and tokio's): levels of 64
//! slots at 1 ms resolution, level L slots spanning 64^L ms. An entry goes
//! to the level of the highest 6-bit group in which its deadline differs
//! from now, so lower levels always expire first. Advancing the clock drains
//! the next occupied slot and cascades its entries to lower levels until
//! they are due. Ready entries move to a small heap ordered by urgency.
//!
//! Eleven levels cover the whole i64 millisecond range, so there is no
//! overflow list. Cancels are lazy: slots hold (id, generation) pairs and
//! an id whose live generation differs is skipped when its slot drains.

use std::{
    cmp::Reverse,
    collections::{BinaryHeap, HashMap},
};

use super::queue::{Entry, JobId, ReadyQueue};

const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
const LEVELS: usize = 11;

pub struct TimingWheel {
    /// The wheel's clock; only moves forward.
    now: i64,
    next_gen: u64,
    live: HashMap<JobId, (Entry, u64)>,
    /// Live entries still in the wheel (not yet ready).
    pending: usize,
    levels: Vec<Level>,
    ready: BinaryHeap<Reverse<((i16, i64, JobId), u64)>>,
}

struct Level {
    /// Bit i set when slot i may hold entries.
    occupied: u64,
    slots: Vec<Vec<(JobId, u64)>>,
}

/// Deadlines are handled as unsigned offsets so bit arithmetic is simple;
/// every time this wheel sees is at or after its creation.
fn level_for(now: u64, deadline: u64) -> usize {
    let masked = (now ^ deadline) | (SLOTS as u64 - 1);
    let significant = 63 - masked.leading_zeros();
    (significant / SLOT_BITS) as usize
}

fn slot_for(deadline: u64, level: usize) -> usize {
    ((deadline >> (level as u32 * SLOT_BITS)) & (SLOTS as u64 - 1)) as usize
}

impl TimingWheel {
    pub fn new(now: i64) -> Self {
        let levels = (0..LEVELS).map(|_| Level { occupied: 0, slots: vec![Vec::new(); SLOTS] }).collect();
        TimingWheel { now, next_gen: 0, live: HashMap::new(), pending: 0, levels, ready: BinaryHeap::new() }
    }

    fn is_current(&self, id: JobId, gen: u64) -> bool {
        self.live.get(&id).is_some_and(|(_, g)| *g == gen)
    }

    fn place(&mut self, entry: Entry, gen: u64) {
        if entry.run_at <= self.now {
            self.ready.push(Reverse((entry.order_key(), gen)));
            return;
        }
        let (now, deadline) = (self.now as u64, entry.run_at as u64);
        let level = level_for(now, deadline);
        let slot = slot_for(deadline, level);
        self.levels[level].slots[slot].push((entry.id, gen));
        self.levels[level].occupied |= 1 << slot;
    }

    /// The next occupied slot: (level, slot, the slot's start time). The
    /// lowest occupied level always holds the earliest deadlines.
    fn next_slot(&self) -> Option<(usize, usize, i64)> {
        let now = self.now as u64;
        for (level, l) in self.levels.iter().enumerate() {
            if l.occupied == 0 {
                continue;
            }
            let shift = level as u32 * SLOT_BITS;
            let now_slot = ((now >> shift) & (SLOTS as u64 - 1)) as u32;
            // Entries sit strictly after now's slot at their level.
            let rotated = l.occupied.rotate_right(now_slot);
            let slot = ((rotated.trailing_zeros() + now_slot) % SLOTS as u32) as usize;
            let level_span: u64 = if shift + SLOT_BITS >= 64 { u64::MAX } else { 1u64 << (shift + SLOT_BITS) };
            let level_start = if level_span == u64::MAX { 0 } else { now & !(level_span - 1) };
            let start = level_start + ((slot as u64) << shift);
            return Some((level, slot, start.max(now) as i64));
        }
        None
    }

    /// Drains one slot at `start`, moving due entries to ready and cascading
    /// the rest to lower levels.
    fn drain(&mut self, level: usize, slot: usize, start: i64) {
        self.now = self.now.max(start);
        let items = std::mem::take(&mut self.levels[level].slots[slot]);
        self.levels[level].occupied &= !(1 << slot);
        for (id, gen) in items {
            let Some((entry, g)) = self.live.get(&id).copied() else { continue };
            if g != gen {
                continue;
            }
            if entry.run_at <= self.now {
                self.pending -= 1;
            }
            self.place(entry, gen);
        }
    }

    /// The earliest live deadline in a slot; None when every item in it
    /// was cancelled or replaced.
    fn live_min_in(&self, level: usize, slot: usize) -> Option<i64> {
        self.levels[level].slots[slot]
            .iter()
            .filter(|(id, gen)| self.is_current(*id, *gen))
            .filter_map(|(id, _)| self.live.get(id).map(|(e, _)| e.run_at))
            .min()
    }
}

impl ReadyQueue for TimingWheel {
    fn insert(&mut self, entry: Entry) {
        if let Some((old, _)) = self.live.get(&entry.id) {
            if old.run_at > self.now {
                self.pending -= 1;
            }
        }
        let gen = self.next_gen;
        self.next_gen += 1;
        self.live.insert(entry.id, (entry, gen));
        if entry.run_at > self.now {
            self.pending += 1;
        }
        self.place(entry, gen);
    }

    fn cancel(&mut self, id: JobId) -> bool {
        match self.live.remove(&id) {
            Some((old, _)) => {
                if old.run_at > self.now {
                    self.pending -= 1;
                }
                true
            }
            None => false,
        }
    }

    fn advance(&mut self, now: i64) {
        if now <= self.now {
            return;
        }
        while self.pending > 0 {
            match self.next_slot() {
                Some((level, slot, start)) if start <= now => self.drain(level, slot, start),
                _ => break,
            }
        }
        self.now = now;
    }

    fn pop_ready(&mut self) -> Option<Entry> {
        while let Some(Reverse(((_, _, id), gen))) = self.ready.pop() {
            if self.is_current(id, gen) {
                return self.live.remove(&id).map(|(e, _)| e);
            }
        }
        None
    }

    fn next_wake(&self) -> Option<i64> {
        if self.pending == 0 {
            return None;
        }
        // The lowest occupied level holds the earliest deadlines, but a slot
        // may hold only cancelled items; look further in that case.
        let now = self.now as u64;
        for level in 0..LEVELS {
            let l = &self.levels[level];
            if l.occupied == 0 {
                continue;
            }
            let now_slot = ((now >> (level as u32 * SLOT_BITS)) & (SLOTS as u64 - 1)) as u32;
            let mut bits = l.occupied.rotate_right(now_slot);
            while bits != 0 {
                let offset = bits.trailing_zeros();
                let slot = ((offset + now_slot) % SLOTS as u32) as usize;
                if let Some(t) = self.live_min_in(level, slot) {
                    return Some(t);
                }
                bits &= bits - 1;
            }
        }
        None
    }

    fn len(&self) -> usize {
        self.live.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_the_highest_differing_group() {
        assert_eq!(level_for(0, 1), 0);
        assert_eq!(level_for(0, 63), 0);
        assert_eq!(level_for(0, 64), 1);
        assert_eq!(level_for(0, 4095), 1);
        assert_eq!(level_for(0, 4096), 2);
        assert_eq!(level_for(60, 70), 1);
        assert_eq!(level_for(0, u64::MAX >> 1), 10);
    }

    #[test]
    fn cascades_a_far_timer_down_to_the_exact_millisecond() {
        let mut w = TimingWheel::new(1_000);
        let due = 1_000 + 3 * 3_600_000 + 17; // three hours and 17 ms out
        w.insert(Entry { id: 7, priority: 1, run_at: due });
        assert_eq!(w.next_wake(), Some(due));
        w.advance(due - 1);
        assert_eq!(w.pop_ready(), None);
        assert_eq!(w.next_wake(), Some(due));
        w.advance(due);
        assert_eq!(w.pop_ready().map(|e| e.id), Some(7));
        assert!(w.is_empty());
    }

    #[test]
    fn cancelled_timers_never_fire_and_do_not_hide_later_ones() {
        let mut w = TimingWheel::new(0);
        w.insert(Entry { id: 1, priority: 0, run_at: 100 });
        w.insert(Entry { id: 2, priority: 0, run_at: 90_000 });
        assert!(w.cancel(1));
        assert_eq!(w.next_wake(), Some(90_000));
        w.advance(100_000);
        assert_eq!(w.pop_ready().map(|e| e.id), Some(2));
        assert_eq!(w.pop_ready(), None);
    }

    #[test]
    fn matches_the_reference_model() {
        super::super::queue::model_tests::check_against_model(|now| Box::new(TimingWheel::new(now)));
    }
}
