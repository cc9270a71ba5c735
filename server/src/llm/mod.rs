//! The LLM fallback engine. This pass holds its pure parts, free of I/O and
//! tested on their own: the circuit breaker, error classes with the retry
//! decision, and the retry budget. Providers, the router and the simulator
//! build on them.

pub mod breaker;
pub mod offline;
pub mod router;
pub mod budget;
pub mod provider;
pub mod retry;
pub mod sim;
pub mod wire;
