//! Keeps a node's clock in step with the database's. Leases, leadership,
//! heartbeats and expiry times written by one node are judged by the others:
//! a node whose clock runs a minute ahead would otherwise take over a live
//! leader's lease and rescue jobs still running elsewhere. Nodes on one
//! PostgreSQL server all read its clock; SQLite runs in-process, on the
//! node's own clock.

use std::{sync::Arc, time::Duration};

use tokio::sync::watch;
use tracing::{info, warn};

use crate::{
    clock::{CorrectedClock, MonotonicClock, SharedClock, SystemClock},
    store::Store,
};

/// How often the offset is read again: a monotonic clock drifts by
/// milliseconds a day, but a suspended VM's stops.
pub const SYNC_EVERY: Duration = Duration::from_secs(60);

/// How soon to try again while no reading could be placed.
const RETRY_EVERY: Duration = Duration::from_secs(5);

/// An offset this large is worth an operator's attention: NTP keeps clocks
/// within milliseconds.
const WORTH_A_WARNING_MS: i64 = 1_000;

/// The clock a process working on `store` keeps time by: the database's,
/// when it has a clock of its own, kept in step until `stop`; otherwise the
/// system clock.
pub async fn database_clock(store: Arc<dyn Store>, stop: watch::Receiver<bool>) -> SharedClock {
    if let Ok(None) = store.database_now_ms().await {
        return Arc::new(SystemClock);
    }
    let clock = CorrectedClock::new(Arc::new(MonotonicClock::new()));
    let placed = sync_once(store.as_ref(), &clock).await;
    report(None, placed);
    tokio::spawn(run(store, clock.clone(), placed, stop));
    clock
}

/// Reads the database's clock a few times and keeps the reading with the
/// shortest round trip. Returns the offset applied, or None when the store
/// has no clock of its own or no reading could be placed.
pub async fn sync_once(store: &dyn Store, clock: &CorrectedClock) -> Option<i64> {
    let mut best: Option<(i64, i64, i64)> = None;
    for _ in 0..3 {
        let before = clock.base_ms();
        let reference = match store.database_now_ms().await {
            Ok(Some(ms)) => ms,
            Ok(None) => return None,
            Err(e) => {
                warn!(error = %e, "could not read the database's clock");
                return None;
            }
        };
        let after = clock.base_ms();
        if best.is_none_or(|(b, _, a)| after - before < a - b) {
            best = Some((before, reference, after));
        }
    }
    let (before, reference, after) = best?;
    clock.calibrate(before, reference, after)
}

/// Says what a reading found: once, and again when the offset moves by a
/// warning's worth or no reading could be placed. Returns what was said.
fn report(said: Option<i64>, offset: Option<i64>) -> Option<i64> {
    let Some(offset) = offset else {
        warn!("the database's clock could not be read in time; keeping this node's time for now");
        return said;
    };
    if said.is_none_or(|s| (offset - s).abs() >= WORTH_A_WARNING_MS) {
        if offset.abs() >= WORTH_A_WARNING_MS {
            warn!(offset_ms = offset, "this node's clock differs from the database's; using the database's time");
        } else {
            info!(offset_ms = offset, "clock in step with the database's");
        }
        return Some(offset);
    }
    said
}

/// A reading every `SYNC_EVERY` (every `RETRY_EVERY` while none could be
/// placed) until `stop`.
async fn run(
    store: Arc<dyn Store>,
    clock: Arc<CorrectedClock>,
    mut said: Option<i64>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let wait = if said.is_some() { SYNC_EVERY } else { RETRY_EVERY };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        said = report(said, sync_once(store.as_ref(), &clock).await);
    }
}
