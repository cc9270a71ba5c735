//! The scheduler's pure parts. The dispatcher, workers and maintenance
//! services that drive them against the store come with the scheduler engine.

pub mod backoff;
pub mod heap;
pub mod queue;
pub mod wheel;

pub use queue::{Entry, JobId, QueueKind, ReadyQueue};
