//! Session lifetime rules and the cookie that carries the session.

pub const COOKIE_NAME: &str = "mm_session";

/// Idle and absolute expiry, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    pub idle_ms: i64,
    pub absolute_ms: i64,
    /// last_seen is written at most this often, not on every request.
    pub touch_every_ms: i64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy { idle_ms: 12 * 3_600_000, absolute_ms: 7 * 86_400_000, touch_every_ms: 60_000 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    Valid { touch: bool },
    Idle,
    TooOld,
}

impl SessionPolicy {
    pub fn check(&self, created_at: i64, last_seen_at: i64, now: i64) -> SessionState {
        if now - created_at >= self.absolute_ms {
            SessionState::TooOld
        } else if now - last_seen_at >= self.idle_ms {
            SessionState::Idle
        } else {
            SessionState::Valid { touch: now - last_seen_at >= self.touch_every_ms }
        }
    }

    pub fn set_cookie(&self, secret: &str, secure: bool) -> String {
        let max_age = self.absolute_ms / 1000;
        let secure = if secure { "; Secure" } else { "" };
        format!("{COOKIE_NAME}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
    }

    pub fn clear_cookie(secure: bool) -> String {
        let secure = if secure { "; Secure" } else { "" };
        format!("{COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
    }
}

/// The session secret from a `Cookie` header, if any.
pub fn cookie_value<'a>(cookie_header: &'a str, name: &str) -> Option<&'a str> {
    cookie_header.split(';').map(str::trim).find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k.trim() == name && !v.is_empty()).then_some(v.trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_and_absolute_expiry() {
        let p = SessionPolicy { idle_ms: 1_000, absolute_ms: 10_000, touch_every_ms: 100 };
        assert_eq!(p.check(0, 0, 50), SessionState::Valid { touch: false });
        assert_eq!(p.check(0, 0, 150), SessionState::Valid { touch: true });
        assert_eq!(p.check(0, 0, 1_000), SessionState::Idle);
        // Active all along, but past the absolute limit.
        assert_eq!(p.check(0, 9_900, 10_000), SessionState::TooOld);
    }

    #[test]
    fn cookie_flags() {
        let p = SessionPolicy::default();
        let c = p.set_cookie("s3cret", false);
        assert!(c.starts_with("mm_session=s3cret;") && c.contains("HttpOnly") && c.contains("SameSite=Lax"));
        assert!(!c.contains("Secure"));
        assert!(p.set_cookie("s", true).ends_with("; Secure"));
        assert!(SessionPolicy::clear_cookie(false).contains("Max-Age=0"));
        assert_eq!(cookie_value("a=1; mm_session=xyz; b=2", COOKIE_NAME), Some("xyz"));
        assert_eq!(cookie_value("mm_session=", COOKIE_NAME), None);
        assert_eq!(cookie_value("other=1", COOKIE_NAME), None);
    }
}
