//! The `meetmind` server: configuration, storage, HTTP, and (in later
//! issues) the scheduler, MeetMind and the LLM engine.

pub mod accounts_cli;
pub mod api;
pub mod auth;
pub mod bench;
pub mod bench_sse;
pub mod cli;
pub mod clock;
pub mod clock_sync;
pub mod config;
pub mod error;
pub mod http;
pub mod job_counts;
pub mod llm;
pub mod meetmind;
pub mod metrics;
pub mod ops;
pub mod pwa;
pub mod scheduler;
pub mod serve;
pub mod server_fn_args;
pub mod sse;
pub mod store;
pub mod telemetry;
