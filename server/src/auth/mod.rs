//! Accounts, sessions, API tokens and access control.

pub mod limiter;
pub mod middleware;
pub mod password;
pub mod rules;
pub mod secret;
pub mod service;
pub mod session;

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::http::HeaderMap;

use crate::{clock::SharedClock, store::Store};

/// Password hashes computed at once (the target machine has 2 cores).
pub const ARGON2_SLOTS: usize = 2;

/// Shared state of the auth layer and the auth service.
pub struct Auth {
    pub store: Arc<dyn Store>,
    pub clock: SharedClock,
    pub policy: session::SessionPolicy,
    pub limiter: std::sync::Mutex<limiter::LoginLimiter>,
    /// Argon2 runs on the blocking pool, this many at a time: each takes
    /// ~19 MiB and a core for a while, so a flood of sign-ins must neither
    /// stall the async workers nor pile up memory.
    pub argon2_slots: Arc<tokio::sync::Semaphore>,
    /// Cookies get `Secure` always (true), or when a proxy says https (false).
    pub force_secure_cookies: bool,
    /// How often an open event stream re-checks its caller's access, in ms
    /// (`middleware::SSE_RECHECK` unless a test shortened it).
    sse_recheck_ms: AtomicU64,
}

impl Auth {
    pub fn new(store: Arc<dyn Store>, clock: SharedClock, force_secure_cookies: bool) -> Arc<Auth> {
        Arc::new(Auth {
            store,
            clock,
            policy: session::SessionPolicy::default(),
            limiter: std::sync::Mutex::new(limiter::LoginLimiter::new(limiter::Limits::default())),
            argon2_slots: Arc::new(tokio::sync::Semaphore::new(ARGON2_SLOTS)),
            force_secure_cookies,
            sse_recheck_ms: AtomicU64::new(middleware::SSE_RECHECK.as_millis() as u64),
        })
    }

    /// How often an open event stream re-checks that its caller may still
    /// see it. Streams opened afterwards use the new interval.
    pub fn sse_recheck(&self) -> Duration {
        Duration::from_millis(self.sse_recheck_ms.load(Ordering::Relaxed))
    }

    /// Changes the re-check interval (`stream_recheck_secs`; tests shorten
    /// it further; at least 1 ms).
    pub fn set_sse_recheck(&self, every: Duration) {
        let ms = u64::try_from(every.as_millis()).unwrap_or(u64::MAX).max(1);
        self.sse_recheck_ms.store(ms, Ordering::Relaxed);
    }

    pub fn is_https(&self, headers: &HeaderMap) -> bool {
        self.force_secure_cookies
            || headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("https"))
    }
}
