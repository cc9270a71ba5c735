//! `meetmind bench sse`: N subscribers on a running node's `/api/v1/events`
//! while jobs are enqueued over REST at a steady rate. Reports each frame's
//! delivery delay (receipt time minus the timestamp the event carries, same
//! machine clock), frames per second, resyncs, and the server's CPU and RSS
//! read from /proc. Meant for 127.0.0.1: the generator shares the machine.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use tokio::sync::watch;

use crate::bench::BenchError;

pub struct SseBench {
    /// The node, e.g. http://127.0.0.1:3000.
    pub url: String,
    /// An admin API token.
    pub token: String,
    pub subscribers: usize,
    /// Jobs enqueued per second.
    pub rate: u32,
    pub secs: u64,
    /// The server's pid, for CPU and RSS.
    pub server_pid: Option<u32>,
    /// Passed as `types=` (e.g. `stats` for dashboards that draw aggregates only).
    pub types: Option<String>,
}

/// Delivery delays in 1 ms buckets up to 10 s (the last bucket holds the rest).
struct Hist {
    buckets: Vec<u64>,
    frames: u64,
    resyncs: u64,
}

const BUCKETS: usize = 10_001;

impl Hist {
    fn new() -> Hist {
        Hist { buckets: vec![0; BUCKETS], frames: 0, resyncs: 0 }
    }

    fn merge(&mut self, other: &Hist) {
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a += b;
        }
        self.frames += other.frames;
        self.resyncs += other.resyncs;
    }

    fn quantile(&self, q: f64) -> usize {
        let total: u64 = self.buckets.iter().sum();
        let want = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (ms, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= want {
                return ms;
            }
        }
        BUCKETS - 1
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// The `"at":<ms>` of a frame's JSON, without parsing the rest.
fn at_of(data: &[u8]) -> Option<i64> {
    let key = b"\"at\":";
    let start = data.windows(key.len()).position(|w| w == key)? + key.len();
    let digits: Vec<u8> = data[start..].iter().copied().take_while(u8::is_ascii_digit).collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

async fn subscriber(client: reqwest::Client, url: String, token: String, connected: Arc<AtomicUsize>, mut stop: watch::Receiver<bool>) -> Hist {
    let mut hist = Hist::new();
    let Ok(mut res) = client.get(&url).bearer_auth(&token).send().await else { return hist };
    connected.fetch_add(1, Ordering::SeqCst);
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            chunk = res.chunk() => match chunk {
                Ok(Some(c)) => {
                    let now = now_ms();
                    buf.extend_from_slice(&c);
                    let mut consumed = 0;
                    while let Some(end) = buf[consumed..].windows(2).position(|w| w == b"\n\n") {
                        let block = &buf[consumed..consumed + end];
                        consumed += end + 2;
                        if block.windows(13).any(|w| w == b"event: resync") {
                            hist.resyncs += 1;
                        } else if let Some(at) = at_of(block) {
                            hist.frames += 1;
                            hist.buckets[((now - at).max(0) as usize).min(BUCKETS - 1)] += 1;
                        }
                    }
                    buf.drain(..consumed);
                }
                _ => break,
            },
        }
    }
    hist
}

/// CPU ticks (user + system) and RSS in KiB of a process.
fn proc_sample(pid: u32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss = status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some((ticks, rss))
}

pub async fn sse(b: &SseBench) -> Result<(), BenchError> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(b.subscribers + 4)
        .build()
        .map_err(|e| BenchError::Other(e.to_string()))?;
    let mut events = format!("{}/api/v1/events?queue=bench-sse", b.url.trim_end_matches('/'));
    if let Some(t) = &b.types {
        events.push_str(&format!("&types={t}"));
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let connected = Arc::new(AtomicUsize::new(0));
    let subs: Vec<_> = (0..b.subscribers)
        .map(|_| tokio::spawn(subscriber(client.clone(), events.clone(), b.token.clone(), connected.clone(), stop_rx.clone())))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while connected.load(Ordering::SeqCst) < b.subscribers && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let open = connected.load(Ordering::SeqCst);
    println!("subscribers connected: {open} of {}", b.subscribers);
    if open == 0 {
        return Err(BenchError::Other("no subscriber could connect; check the URL and the admin token".into()));
    }
    let before = b.server_pid.and_then(proc_sample);
    let started = Instant::now();

    // Open loop: a batch every 100 ms, whatever the server's pace.
    let jobs_url = format!("{}/api/v1/jobs", b.url.trim_end_matches('/'));
    let per_tick = (b.rate as usize / 10).max(1);
    let batch: Vec<serde_json::Value> = (0..per_tick).map(|_| serde_json::json!({ "kind": "noop", "queue": "bench-sse" })).collect();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let (mut sent, mut refused) = (0usize, 0usize);
    let mut peak_rss = 0;
    while started.elapsed() < Duration::from_secs(b.secs) {
        tick.tick().await;
        match client.post(&jobs_url).bearer_auth(&b.token).json(&batch).send().await {
            Ok(r) if r.status().is_success() => sent += per_tick,
            _ => refused += per_tick,
        }
        if let Some((_, rss)) = b.server_pid.and_then(proc_sample) {
            peak_rss = peak_rss.max(rss);
        }
    }
    let elapsed = started.elapsed();
    let after = b.server_pid.and_then(proc_sample);
    // Let the last events arrive.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _ = stop_tx.send(true);
    let mut all = Hist::new();
    for s in subs {
        if let Ok(h) = s.await {
            all.merge(&h);
        }
    }
    println!("enqueued: {sent} jobs in {:.1} s ({:.0}/s), {refused} refused", elapsed.as_secs_f64(), sent as f64 / elapsed.as_secs_f64());
    println!(
        "frames received: {} ({:.0}/s across all subscribers), resyncs: {}",
        all.frames,
        all.frames as f64 / elapsed.as_secs_f64(),
        all.resyncs
    );
    println!(
        "delivery delay: p50 {} ms, p95 {} ms, p99 {} ms, max {} ms",
        all.quantile(0.50),
        all.quantile(0.95),
        all.quantile(0.99),
        all.quantile(1.0)
    );
    if let (Some((t0, _)), Some((t1, rss))) = (before, after) {
        // Linux reports CPU in clock ticks of 1/100 s.
        let cpu = (t1 - t0) as f64 / 100.0 / elapsed.as_secs_f64() * 100.0;
        println!("server: CPU {cpu:.0}% of one core, RSS {} MB at the end, peak {} MB", rss / 1024, peak_rss.max(rss) / 1024);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_give_their_timestamp_and_quantiles_come_from_buckets() {
        assert_eq!(at_of(br#"event: job
data: {"id":5,"queue":"q","state":"running","at":1800000000123,"node":"n"}"#), Some(1_800_000_000_123));
        assert_eq!(at_of(b"event: hello\ndata: {}"), None);
        let mut h = Hist::new();
        for ms in 1..=100 {
            h.buckets[ms] += 1;
        }
        assert_eq!(h.quantile(0.5), 50);
        assert_eq!(h.quantile(0.99), 99);
        assert_eq!(h.quantile(1.0), 100);
    }
}
