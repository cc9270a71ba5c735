//! Keeps a node's clock in step with the database's. Leases, leadership and
//! due times written by one node are judged by the others: a node whose
//! clock runs a minute ahead would otherwise take over a live leader's lease
//! and rescue jobs still running elsewhere. Nodes on one PostgreSQL server
//! all read its clock; SQLite runs in-process, on the node's own clock.

use std::{sync::Arc, time::Duration};

use tokio::sync::watch;
use tracing::{info, warn};

use crate::{clock::CorrectedClock, store::Store};

/// How often the offset is read again: clocks drift by milliseconds a day,
/// but an operator may step one at any time.
pub const SYNC_EVERY: Duration = Duration::from_secs(60);

/// An offset this large is worth an operator's attention: NTP keeps clocks
/// within milliseconds.
const WORTH_A_WARNING_MS: i64 = 1_000;

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

/// The first reading, then one every `SYNC_EVERY` until `stop`.
pub async fn run(store: Arc<dyn Store>, clock: Arc<CorrectedClock>, mut stop: watch::Receiver<bool>) {
    let mut reported: Option<i64> = None;
    loop {
        if let Some(offset) = sync_once(store.as_ref(), &clock).await {
            // Said once, and again when it moves by as much as a warning's worth.
            if reported.is_none_or(|r| (offset - r).abs() >= WORTH_A_WARNING_MS) {
                if offset.abs() >= WORTH_A_WARNING_MS {
                    warn!(
                        offset_ms = offset,
                        "this node's clock differs from the database's; using the database's time"
                    );
                } else {
                    info!(offset_ms = offset, "clock in step with the database's");
                }
                reported = Some(offset);
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(SYNC_EVERY) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}
