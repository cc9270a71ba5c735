//! The scheduler: pure parts (queues, backoff), the engine that applies them
//! to the store, the handlers, the event hub, and the runtime loops.

pub mod backoff;
pub mod cron;
pub mod engine;
pub mod events;
pub mod handlers;
pub mod heap;
pub mod queue;
pub mod runtime;
pub mod wheel;

pub use queue::{Entry, JobId, QueueKind, ReadyQueue};
