//! Prometheus metrics in text exposition format, kept dependency-free:
//! a few atomics updated by a middleware and rendered on `/metrics`.

use std::{
    fmt::Write,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use axum::{extract::State, http::Request, middleware::Next, response::Response};

use crate::store::PoolStats;

/// Upper bounds of the request-duration histogram, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

pub struct Metrics {
    started: Instant,
    requests_by_class: [AtomicU64; 5],
    in_flight: AtomicU64,
    duration_buckets: [AtomicU64; BUCKETS.len()],
    duration_sum_micros: AtomicU64,
    duration_count: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            started: Instant::now(),
            requests_by_class: Default::default(),
            in_flight: AtomicU64::new(0),
            duration_buckets: Default::default(),
            duration_sum_micros: AtomicU64::new(0),
            duration_count: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    pub fn observe(&self, status: u16, elapsed: Duration) {
        let class = (status / 100).clamp(1, 5) as usize - 1;
        self.requests_by_class[class].fetch_add(1, Ordering::Relaxed);
        let secs = elapsed.as_secs_f64();
        for (bucket, bound) in self.duration_buckets.iter().zip(BUCKETS) {
            if secs <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.duration_sum_micros.fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
        self.duration_count.fetch_add(1, Ordering::Relaxed);
    }

    /// Renders every metric. `backend` and `pool` describe the store.
    pub fn render(&self, backend: &str, pool: PoolStats) -> String {
        let mut out = String::with_capacity(2048);
        let _ = writeln!(out, "# HELP meetmind_build_info Build and backend of this node.");
        let _ = writeln!(out, "# TYPE meetmind_build_info gauge");
        let _ =
            writeln!(out, "meetmind_build_info{{version=\"{}\",backend=\"{backend}\"}} 1", env!("CARGO_PKG_VERSION"));
        let _ = writeln!(out, "# HELP meetmind_uptime_seconds Seconds since this node started.");
        let _ = writeln!(out, "# TYPE meetmind_uptime_seconds gauge");
        let _ = writeln!(out, "meetmind_uptime_seconds {:.3}", self.started.elapsed().as_secs_f64());
        let _ = writeln!(out, "# HELP meetmind_http_requests_total HTTP requests answered, by status class.");
        let _ = writeln!(out, "# TYPE meetmind_http_requests_total counter");
        for (class, n) in CLASSES.iter().zip(&self.requests_by_class) {
            let _ = writeln!(out, "meetmind_http_requests_total{{class=\"{class}\"}} {}", n.load(Ordering::Relaxed));
        }
        let _ = writeln!(out, "# HELP meetmind_http_requests_in_flight HTTP requests being served now.");
        let _ = writeln!(out, "# TYPE meetmind_http_requests_in_flight gauge");
        let _ = writeln!(out, "meetmind_http_requests_in_flight {}", self.in_flight.load(Ordering::Relaxed));
        let _ = writeln!(out, "# HELP meetmind_http_request_duration_seconds Time to produce the response head.");
        let _ = writeln!(out, "# TYPE meetmind_http_request_duration_seconds histogram");
        for (bound, n) in BUCKETS.iter().zip(&self.duration_buckets) {
            let _ = writeln!(
                out,
                "meetmind_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
        let count = self.duration_count.load(Ordering::Relaxed);
        let _ = writeln!(out, "meetmind_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "meetmind_http_request_duration_seconds_sum {:.6}",
            self.duration_sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "meetmind_http_request_duration_seconds_count {count}");
        let _ = writeln!(out, "# HELP meetmind_db_pool_connections Database pool connections, by state.");
        let _ = writeln!(out, "# TYPE meetmind_db_pool_connections gauge");
        let _ = writeln!(out, "meetmind_db_pool_connections{{state=\"idle\"}} {}", pool.idle);
        let _ = writeln!(out, "meetmind_db_pool_connections{{state=\"busy\"}} {}", pool.size.saturating_sub(pool.idle));
        out
    }
}

/// Middleware counting every request.
pub async fn track(
    State(metrics): State<std::sync::Arc<Metrics>>,
    req: Request<axum::body::Body>,
    next: Next,
) -> Response {
    let start = Instant::now();
    metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let response = next.run(req).await;
    metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    metrics.observe(response.status().as_u16(), start.elapsed());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let m = Metrics::default();
        m.observe(200, Duration::from_micros(800));
        m.observe(404, Duration::from_millis(30));
        m.observe(503, Duration::from_secs(10));
        let text = m.render("sqlite", PoolStats { size: 3, idle: 1 });
        assert!(text.contains("meetmind_http_requests_total{class=\"2xx\"} 1"));
        assert!(text.contains("meetmind_http_requests_total{class=\"4xx\"} 1"));
        assert!(text.contains("meetmind_http_requests_total{class=\"5xx\"} 1"));
        assert!(text.contains("meetmind_http_request_duration_seconds_bucket{le=\"0.001\"} 1"));
        assert!(text.contains("meetmind_http_request_duration_seconds_bucket{le=\"0.05\"} 2"));
        assert!(text.contains("meetmind_http_request_duration_seconds_bucket{le=\"5\"} 2"));
        assert!(text.contains("meetmind_http_request_duration_seconds_bucket{le=\"+Inf\"} 3"));
        assert!(text.contains("meetmind_db_pool_connections{state=\"busy\"} 2"));
        assert!(text.contains("backend=\"sqlite\""));
        // Every sample line belongs to a declared metric family.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            let family = name.trim_end_matches("_bucket").trim_end_matches("_sum").trim_end_matches("_count");
            assert!(text.contains(&format!("# TYPE {family} ")), "undeclared {name}");
        }
    }
}
