//! Accounts, sessions, API tokens and access control.

pub mod limiter;
pub mod middleware;
pub mod password;
pub mod rules;
pub mod secret;
pub mod service;
pub mod session;

use std::sync::Arc;

use axum::http::HeaderMap;

use crate::{clock::SharedClock, store::Store};

/// Shared state of the auth layer and the auth service.
pub struct Auth {
    pub store: Arc<dyn Store>,
    pub clock: SharedClock,
    pub policy: session::SessionPolicy,
    pub limiter: std::sync::Mutex<limiter::LoginLimiter>,
    /// Cookies get `Secure` always (true), or when a proxy says https (false).
    pub force_secure_cookies: bool,
}

impl Auth {
    pub fn new(store: Arc<dyn Store>, clock: SharedClock, force_secure_cookies: bool) -> Arc<Auth> {
        Arc::new(Auth {
            store,
            clock,
            policy: session::SessionPolicy::default(),
            limiter: std::sync::Mutex::new(limiter::LoginLimiter::new(limiter::Limits::default())),
            force_secure_cookies,
        })
    }

    pub fn is_https(&self, headers: &HeaderMap) -> bool {
        self.force_secure_cookies
            || headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("https"))
    }
}
