//! `meetmind bench sse`: N subscribers on a running node's `/api/v1/events`
//! while jobs are enqueued over REST at a steady rate. Reports each frame's
//! delivery delay (receipt time minus the timestamp the event carries, same
//! machine clock), frames per second, resyncs, and the server's CPU and RSS
//! read from /proc. Meant for 127.0.0.1: the generator shares the machine.
//!
//! Every subscriber reads and counts its whole stream, so the server does the
//! full work; delays are read on a sample of about 100 of them (all of them
//! up to 100). The subscribers are identical, so the sample's percentiles
//! are everyone's, and the generator no longer needs a core of its own to
//! parse millions of frames a second, which its backlog then added to every
//! delay it measured.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use memchr::memmem;
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
    /// Frames received by every subscriber, sampled or not.
    frames: u64,
    /// Frames whose delay was read (the sampled subscribers').
    timed: u64,
    resyncs: u64,
}

/// Subscribers whose frames are timed: about this many.
const SAMPLED: usize = 100;

const BUCKETS: usize = 10_001;

impl Hist {
    fn new() -> Hist {
        Hist { buckets: vec![0; BUCKETS], frames: 0, timed: 0, resyncs: 0 }
    }

    fn merge(&mut self, other: &Hist) {
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a += b;
        }
        self.frames += other.frames;
        self.timed += other.timed;
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

/// Splits the stream into frames and reads each frame's `"at":<ms>` without
/// parsing the JSON. One generator core reads every frame every subscriber
/// gets (millions per second at 1,000 subscribers), so this must stay cheap:
/// SIMD substring search, and a frame's text is never copied.
struct Scanner {
    frame_end: memmem::Finder<'static>,
    at: memmem::Finder<'static>,
}

const RESYNC: &[u8] = b"event: resync";

impl Scanner {
    fn new() -> Scanner {
        Scanner { frame_end: memmem::Finder::new(b"\n\n"), at: memmem::Finder::new(b"\"at\":") }
    }

    /// The timestamp of one frame's text.
    fn at_of(&self, frame: &[u8]) -> Option<i64> {
        let start = self.at.find(frame)? + 5;
        let digits = &frame[start..];
        let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
        std::str::from_utf8(&digits[..len]).ok()?.parse().ok()
    }

    /// Records every whole frame in `buf` (received at `now`) and returns how
    /// many bytes it used; a partial frame at the end waits for more.
    fn scan(&self, buf: &[u8], now: i64, hist: &mut Hist) -> usize {
        let mut consumed = 0;
        while let Some(end) = self.frame_end.find(&buf[consumed..]) {
            let frame = &buf[consumed..consumed + end];
            consumed += end + 2;
            // Frames start with `id:` or `event:`; a resync names itself in its first lines.
            if memmem::find(&frame[..frame.len().min(48)], RESYNC).is_some() {
                hist.resyncs += 1;
            } else if let Some(at) = self.at_of(frame) {
                hist.frames += 1;
                hist.timed += 1;
                hist.buckets[((now - at).max(0) as usize).min(BUCKETS - 1)] += 1;
            }
        }
        consumed
    }

    /// Counts the frames that end in `buf` without reading them, for the
    /// subscribers not sampled. `tail` is whether the previous chunk ended in
    /// a newline (a frame's blank line may span two chunks).
    fn count(&self, buf: &[u8], tail: &mut bool, hist: &mut Hist) {
        if *tail && buf.first() == Some(&b'\n') {
            hist.frames += 1;
        }
        hist.frames += self.frame_end.find_iter(buf).count() as u64;
        *tail = buf.last() == Some(&b'\n') && !buf.ends_with(b"\n\n");
    }
}

async fn subscriber(
    client: reqwest::Client,
    url: String,
    token: String,
    timed: bool,
    connected: Arc<AtomicUsize>,
    mut stop: watch::Receiver<bool>,
) -> Hist {
    let mut hist = Hist::new();
    let Ok(mut res) = client.get(&url).bearer_auth(&token).send().await else { return hist };
    connected.fetch_add(1, Ordering::SeqCst);
    let scanner = Scanner::new();
    // Holds only a partial frame between chunks; whole chunks are scanned in place.
    let mut rest: Vec<u8> = Vec::new();
    let mut tail = false;
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            chunk = res.chunk() => match chunk {
                Ok(Some(c)) if !timed => scanner.count(&c, &mut tail, &mut hist),
                Ok(Some(c)) => {
                    let now = now_ms();
                    if rest.is_empty() {
                        let used = scanner.scan(&c, now, &mut hist);
                        rest.extend_from_slice(&c[used..]);
                    } else {
                        rest.extend_from_slice(&c);
                        let used = scanner.scan(&rest, now, &mut hist);
                        rest.drain(..used);
                    }
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
    // Every `every`-th subscriber is timed.
    let every = b.subscribers.div_ceil(SAMPLED).max(1);
    let subs: Vec<_> = (0..b.subscribers)
        .map(|i| {
            tokio::spawn(subscriber(
                client.clone(),
                events.clone(),
                b.token.clone(),
                i % every == 0,
                connected.clone(),
                stop_rx.clone(),
            ))
        })
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
    let batch: Vec<serde_json::Value> =
        (0..per_tick).map(|_| serde_json::json!({ "kind": "noop", "queue": "bench-sse" })).collect();
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
    println!(
        "enqueued: {sent} jobs in {:.1} s ({:.0}/s), {refused} refused",
        elapsed.as_secs_f64(),
        sent as f64 / elapsed.as_secs_f64()
    );
    println!(
        "frames received: {} ({:.0}/s across all subscribers), resyncs: {}",
        all.frames,
        all.frames as f64 / elapsed.as_secs_f64(),
        all.resyncs
    );
    println!(
        "delivery delay ({} frames timed on {} of {} subscribers): p50 {} ms, p95 {} ms, p99 {} ms, max {} ms",
        all.timed,
        b.subscribers.div_ceil(every),
        b.subscribers,
        all.quantile(0.50),
        all.quantile(0.95),
        all.quantile(0.99),
        all.quantile(1.0)
    );
    if let (Some((t0, _)), Some((t1, rss))) = (before, after) {
        // Linux reports CPU in clock ticks of 1/100 s.
        let cpu = (t1 - t0) as f64 / 100.0 / elapsed.as_secs_f64() * 100.0;
        println!(
            "server: CPU {cpu:.0}% of one core, RSS {} MB at the end, peak {} MB",
            rss / 1024,
            peak_rss.max(rss) / 1024
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_give_their_timestamp_and_quantiles_come_from_buckets() {
        let scanner = Scanner::new();
        assert_eq!(
            scanner.at_of(
                br#"event: job
data: {"id":5,"queue":"q","state":"running","at":1800000000123,"node":"n"}"#
            ),
            Some(1_800_000_000_123)
        );
        assert_eq!(scanner.at_of(b"event: hello\ndata: {}"), None);
        let mut h = Hist::new();
        for ms in 1..=100 {
            h.buckets[ms] += 1;
        }
        assert_eq!(h.quantile(0.5), 50);
        assert_eq!(h.quantile(0.99), 99);
        assert_eq!(h.quantile(1.0), 100);
    }

    #[test]
    fn the_scanner_counts_whole_frames_and_leaves_a_partial_one() {
        let scanner = Scanner::new();
        let mut h = Hist::new();
        let text = b"id: 1\nevent: job\ndata: {\"at\":1000}\n\n: keep-alive\n\nevent: resync\ndata: {}\n\nid: 2\nevent: job\ndata: {\"at\":99";
        let used = scanner.scan(text, 1_010, &mut h);
        assert_eq!((h.frames, h.resyncs), (1, 1));
        assert_eq!(h.buckets[10], 1);
        assert_eq!(&text[used..], b"id: 2\nevent: job\ndata: {\"at\":99");
    }

    #[test]
    fn untimed_subscribers_count_frames_even_when_the_blank_line_spans_chunks() {
        let scanner = Scanner::new();
        let mut h = Hist::new();
        let mut tail = false;
        for chunk in [&b"id: 1\ndata: {}\n\nid: 2\ndata: {}\n"[..], b"\nid: 3\ndata: {}\n\n", b": keep-alive\n\n"] {
            scanner.count(chunk, &mut tail, &mut h);
        }
        // Three frames and a keep-alive comment; nothing was timed.
        assert_eq!((h.frames, h.timed), (4, 0));
    }
}
