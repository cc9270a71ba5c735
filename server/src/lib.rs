//! The `meetmind` server: configuration, storage, HTTP, and (in later
//! issues) the scheduler, MeetMind and the LLM engine.

pub mod cli;
pub mod config;
pub mod error;
pub mod http;
pub mod scheduler;
pub mod metrics;
pub mod ops;
pub mod serve;
pub mod store;
pub mod telemetry;
