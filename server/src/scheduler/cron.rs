//! Cron expressions and time zones: parsing with the parser's own message,
//! and the next fire time after a moment. Pure.

use chrono::{TimeZone, Utc};
use chrono_tz::Tz;

/// The longest expression taken (the preview and stored schedules alike).
pub const MAX_EXPR_CHARS: usize = 200;

/// A parsed schedule: the expression (5 fields, or 6 with seconds) and its zone.
#[derive(Debug, Clone)]
pub struct CronSpec {
    cron: croner::Cron,
    tz: Tz,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronSpecError {
    #[error("cron: {0}")]
    Cron(String),
    #[error("timezone: unknown zone {0:?}; use an IANA name such as Europe/Paris or UTC")]
    Timezone(String),
}

impl CronSpecError {
    pub fn field(&self) -> &'static str {
        match self {
            CronSpecError::Cron(_) => "cron",
            CronSpecError::Timezone(_) => "timezone",
        }
    }
}

impl CronSpec {
    pub fn parse(expr: &str, timezone: &str) -> Result<CronSpec, CronSpecError> {
        if expr.chars().count() > MAX_EXPR_CHARS {
            return Err(CronSpecError::Cron(format!("at most {MAX_EXPR_CHARS} characters")));
        }
        if timezone.chars().count() > 64 {
            return Err(CronSpecError::Timezone(timezone.chars().take(64).collect()));
        }
        let cron = croner::Cron::new(expr.trim())
            .with_seconds_optional()
            .parse()
            .map_err(|e| CronSpecError::Cron(e.to_string()))?;
        let tz: Tz = timezone.trim().parse().map_err(|_| CronSpecError::Timezone(timezone.to_string()))?;
        Ok(CronSpec { cron, tz })
    }

    /// The first fire strictly after `after_ms`, in Unix ms.
    pub fn next_after(&self, after_ms: i64) -> Option<i64> {
        let at = Utc.timestamp_millis_opt(after_ms).single()?.with_timezone(&self.tz);
        self.cron.find_next_occurrence(&at, false).ok().map(|t| t.timestamp_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    #[test]
    fn hourly_fires_on_the_hour_in_the_zone() {
        let s = CronSpec::parse("0 * * * *", "UTC").unwrap();
        let t = 1_800_000_000_000; // 2027-01-15T08:00:00Z
        assert_eq!(t % HOUR, 0);
        assert_eq!(s.next_after(t - 1), Some(t));
        assert_eq!(s.next_after(t), Some(t + HOUR), "strictly after");
        // 09:00 in Paris (UTC+1 in January) is 08:00 UTC.
        let paris = CronSpec::parse("0 9 * * *", "Europe/Paris").unwrap();
        assert_eq!(paris.next_after(t - 1), Some(t));
        let seconds = CronSpec::parse("*/10 * * * * *", "UTC").unwrap();
        assert_eq!(seconds.next_after(t), Some(t + 10_000));
    }

    #[test]
    fn errors_name_the_field_with_the_parsers_message() {
        let e = CronSpec::parse("61 * * * *", "UTC").unwrap_err();
        assert_eq!(e.field(), "cron");
        assert!(e.to_string().len() > 6, "{e}");
        let e = CronSpec::parse("0 * * * *", "Mars/Olympus").unwrap_err();
        assert_eq!(e.field(), "timezone");
        let long = format!("0 * * * * {}", " ".repeat(MAX_EXPR_CHARS));
        assert_eq!(CronSpec::parse(&long, "UTC").unwrap_err().field(), "cron");
    }

    #[test]
    fn a_fire_time_in_a_dst_gap_moves_on_without_panicking() {
        // 2027-03-28 00:00 UTC; Paris skips 02:00-03:00 local that night.
        let midnight = 1_806_192_000_000;
        let s = CronSpec::parse("30 2 * * *", "Europe/Paris").unwrap();
        let next = s.next_after(midnight).expect("fires again");
        assert!(next > midnight, "{next}");
        // The last Sunday of March at 02:30 only ever falls in the gap.
        let gap_only = CronSpec::parse("30 2 25-31 3 0", "Europe/Paris").unwrap();
        let _ = gap_only.next_after(midnight);
    }
}
