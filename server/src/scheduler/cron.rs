//! Cron expressions and time zones: parsing with the parser's own message,
//! and the next fire time after a moment. Pure.

use chrono::{TimeZone, Utc};
use chrono_tz::Tz;

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
    }
}
