//! The admin dashboard's live feed, `GET /api/v1/events`. One hub per node
//! turns the engine's job events into numbered frames and, once a second,
//! computes the aggregates (counts per state and queue, throughput) for every
//! subscriber at once: no query runs per subscriber. A ring of recent frames
//! serves `Last-Event-ID` resumes; a subscriber too slow for the broadcast
//! channel is skipped ahead and told to resync, never allowed to hold the hub.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    convert::Infallible,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::{Body, Bytes},
    extract::State,
    http::{header, HeaderMap},
    response::Response,
};
use serde::Deserialize;
use tokio::{
    sync::{broadcast, watch},
    task::JoinHandle,
};

use crate::{
    api::ApiState,
    job_counts::JobCounts,
    scheduler::engine::Engine,
    store::{jobs::StateCount, StoreError},
};

/// Frames kept for resumes.
const RING: usize = 10_000;

#[derive(Debug)]
pub struct Frame {
    pub id: u64,
    /// `job` or `stats`.
    pub name: &'static str,
    pub queue: Option<String>,
    pub kind: Option<String>,
    /// The job a `job` frame is about.
    pub job: Option<i64>,
    /// The frame as SSE text, rendered once for every subscriber.
    pub wire: Bytes,
}

/// One SSE event as text (`data` is single-line JSON).
fn render(id: Option<u64>, name: &str, data: &str) -> Bytes {
    let mut out = String::with_capacity(data.len() + name.len() + 32);
    if let Some(id) = id {
        out.push_str(&format!("id: {id}\n"));
    }
    out.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    Bytes::from(out)
}

/// Frames that go out together: the hub gathers frames for up to `FLUSH`
/// and sends them as one batch, so a subscriber wakes and writes once per
/// batch rather than once per frame.
pub struct Batch {
    frames: Vec<Arc<Frame>>,
    /// The batch's text per distinct filter: rendered by the first subscriber
    /// with that filter, then shared (a refcounted `Bytes`) by the others, so
    /// a thousand identical dashboards cost one rendering, not a thousand.
    rendered: Mutex<HashMap<String, Bytes>>,
}

impl Batch {
    fn new(frames: Vec<Arc<Frame>>) -> Arc<Batch> {
        Arc::new(Batch { frames, rendered: Mutex::new(HashMap::new()) })
    }
}

/// How long the hub gathers frames before sending them: the most a frame
/// waits for company. At 1,000 jobs/s (about 3,000 frames/s) this turns
/// ~3,000 wake-ups and writes per subscriber per second into 50. Measured
/// with 1,000 subscribers (BENCHMARKS.md): 10 ms left the writes and reads
/// fighting for the cores (p99 86-116 ms); 20 ms gave p99 74-88 ms at a
/// fifth less server CPU.
const FLUSH: Duration = Duration::from_millis(20);
/// A batch goes out early when it reaches this many frames.
const BATCH_MAX: usize = 512;
/// Batches a subscriber may fall behind (about ten seconds' worth at one
/// batch per `FLUSH`, less when batches fill early) before it is
/// skipped ahead and told to resync.
const CHANNEL: usize = 512;

pub struct DashboardHub {
    /// Every frame.
    tx: broadcast::Sender<Arc<Batch>>,
    /// Every frame but `job` ones, for subscribers that asked for no job
    /// frames (the dashboard page): they are not woken 50 times a second
    /// only to drop what they did not ask for.
    quiet_tx: broadcast::Sender<Arc<Batch>>,
    ring: Mutex<VecDeque<Arc<Frame>>>,
    next_id: Mutex<u64>,
    /// Frames numbered and in the ring, not yet sent.
    pending: Mutex<Vec<Arc<Frame>>>,
    /// The settled states' counts as of the last tick, for the queues route.
    settled: Mutex<Vec<StateCount>>,
    stop: watch::Receiver<bool>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl DashboardHub {
    /// Frame ids start at this process's start time in ms × 10⁶, so ids from
    /// an earlier process (or another node, which started at another
    /// moment) are either older than the ring or newer than any id here: a
    /// browser resuming with one gets a resync, never a silent gap.
    pub fn new(stop: watch::Receiver<bool>) -> Arc<DashboardHub> {
        let start_ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
        Self::numbered_from(stop, start_ms.saturating_mul(1_000_000).max(1))
    }

    fn numbered_from(stop: watch::Receiver<bool>, first_id: u64) -> Arc<DashboardHub> {
        Arc::new(DashboardHub {
            tx: broadcast::channel(CHANNEL).0,
            quiet_tx: broadcast::channel(64).0,
            ring: Mutex::new(VecDeque::with_capacity(RING)),
            next_id: Mutex::new(first_id),
            pending: Mutex::new(Vec::new()),
            settled: Mutex::new(Vec::new()),
            stop,
        })
    }

    fn push(&self, name: &'static str, queue: Option<String>, kind: Option<String>, data: String) {
        self.push_job(name, queue, kind, None, data)
    }

    /// Numbers the frame, keeps it in the ring (resumes see it at once) and
    /// queues it for the next batch.
    fn push_job(
        &self,
        name: &'static str,
        queue: Option<String>,
        kind: Option<String>,
        job: Option<i64>,
        data: String,
    ) {
        // Numbered, stored and queued under one lock, so ids stay in order.
        let mut ring = lock(&self.ring);
        let frame = {
            let mut next = lock(&self.next_id);
            let wire = render(Some(*next), name, &data);
            let f = Arc::new(Frame { id: *next, name, queue, kind, job, wire });
            *next += 1;
            f
        };
        if ring.len() == RING {
            ring.pop_front();
        }
        ring.push_back(frame.clone());
        let full = {
            let mut pending = lock(&self.pending);
            pending.push(frame);
            pending.len() >= BATCH_MAX
        };
        drop(ring);
        if full {
            self.flush();
        }
    }

    /// The settled states' counts per queue as the hub last saw them (a
    /// full count brought forward by events; see `job_counts`), so routes
    /// need not scan the retained history either.
    pub fn settled_counts(&self) -> Vec<StateCount> {
        lock(&self.settled).clone()
    }

    /// Sends what was gathered: every frame on the main channel, the frames
    /// other than `job` ones on the quiet channel too.
    fn flush(&self) {
        let frames = std::mem::take(&mut *lock(&self.pending));
        if frames.is_empty() {
            return;
        }
        let quiet: Vec<_> = frames.iter().filter(|f| f.name != "job").cloned().collect();
        if !quiet.is_empty() {
            let _ = self.quiet_tx.send(Batch::new(quiet));
        }
        let _ = self.tx.send(Batch::new(frames));
    }

    /// Frames after `last`, or None when they have left the ring or `last`
    /// was never sent by this process (a restart, another node, a forged
    /// header): the subscriber must resync.
    fn since(&self, last: u64) -> Option<Vec<Arc<Frame>>> {
        let ring = lock(&self.ring);
        let next = *lock(&self.next_id);
        if last >= next {
            return None;
        }
        let oldest = ring.front().map_or(next, |f| f.id);
        if last.saturating_add(1) < oldest {
            return None;
        }
        Some(ring.iter().filter(|f| f.id > last).cloned().collect())
    }

    /// Runs until `stop`: job events become frames; once a second the
    /// aggregates are computed and sent.
    pub async fn run(self: Arc<Self>, engine: Arc<Engine>) {
        let mut events = engine.events.subscribe();
        let mut stop = self.stop.clone();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        // A tick held up (a slow count) is not made up with a burst of frames.
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        // When the frames gathered so far go out: one FLUSH after the last
        // batch, so a lone event after a quiet spell goes at once and a burst
        // is batched. None while nothing waits, so an idle node sleeps.
        let mut due: Option<tokio::time::Instant> = None;
        let mut last_flush = tokio::time::Instant::now();
        let arm = |due: &mut Option<tokio::time::Instant>, last_flush: tokio::time::Instant| {
            due.get_or_insert_with(|| (last_flush + FLUSH).max(tokio::time::Instant::now()));
        };
        let (mut done, mut failed) = (0u64, 0u64);
        let mut waits = WaitWindow::default();
        let mut counts = JobCounts::default();
        // Full counts of the finished states run beside the loop, so a long
        // one on a big table never holds the frames back. No `stats` frame
        // goes out before the first one has landed, so none shows them as none.
        let mut full_count: Option<JoinHandle<SettledCount>> = None;
        let mut active: Vec<StateCount> = Vec::new();
        loop {
            tokio::select! {
                _ = stop.changed() => if *stop.borrow() {
                    if let Some(count) = full_count.take() {
                        count.abort();
                    }
                    return;
                },
                landed = async {
                    match full_count.as_mut() {
                        Some(count) => count.await,
                        None => std::future::pending().await,
                    }
                }, if full_count.is_some() => {
                    full_count = None;
                    land(&mut counts, landed);
                }
                _ = tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)), if due.is_some() => {
                    due = None;
                    last_flush = tokio::time::Instant::now();
                    self.flush();
                }
                ev = events.recv() => match ev {
                    Ok(e) => {
                        counts.observe(&e.queue, &e.state);
                        match e.state.as_str() {
                            "running" => if let Some(due) = e.run_at { waits.observe(&e.queue, e.at, e.at - due) },
                            "succeeded" => done += 1,
                            "dead" | "retrying" => failed += 1,
                            _ => {}
                        }
                        let data = serde_json::to_string(&e).unwrap_or_default();
                        self.push_job("job", Some(e.queue.clone()), Some(e.kind.clone()), Some(e.id), data);
                        arm(&mut due, last_flush);
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Events were lost, so the finished counts drifted.
                        counts.count_soon();
                        self.push("resync", None, None, "{}".into());
                        arm(&mut due, last_flush);
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = tick.tick() => {
                    if full_count.is_none() && counts.count_due(std::time::Instant::now()) {
                        counts.count_started();
                        full_count = Some(tokio::spawn(count_settled(engine.clone())));
                    }
                    // On an error the last counts stand, rather than zeros.
                    match engine.store.active_state_counts().await {
                        Ok(rows) => active = rows,
                        Err(e) => tracing::warn!(error = %e, "counting waiting and running jobs failed"),
                    }
                    if !counts.has_counted() {
                        continue;
                    }
                    *lock(&self.settled) = counts.settled();
                    let mut by_queue: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
                    let mut by_state: BTreeMap<String, i64> = BTreeMap::new();
                    for c in counts.merged(active.clone()) {
                        *by_state.entry(c.state.clone()).or_default() += c.count;
                        by_queue.entry(c.queue.clone()).or_default().insert(c.state.clone(), c.count);
                    }
                    let now = engine.now();
                    let data = serde_json::json!({
                        "at": now, "states": by_state, "queues": by_queue,
                        "completed_per_s": done, "failed_per_s": failed,
                        "waits": waits.percentiles(now),
                    });
                    (done, failed) = (0, 0);
                    self.push("stats", None, None, data.to_string());
                    // Aggregates come once a second: no reason to hold them back.
                    due = None;
                    last_flush = tokio::time::Instant::now();
                    self.flush();
                }
            }
        }
    }
}

/// A full count of the finished states, and how long it took.
type SettledCount = (Result<Vec<StateCount>, StoreError>, Duration);

async fn count_settled(engine: Arc<Engine>) -> SettledCount {
    let started = std::time::Instant::now();
    (engine.store.settled_state_counts().await, started.elapsed())
}

/// Takes a full count's outcome; on a failure the last count stands.
fn land(counts: &mut JobCounts, landed: Result<SettledCount, tokio::task::JoinError>) {
    let now = std::time::Instant::now();
    match landed {
        Ok((Ok(rows), took)) => counts.count_landed(rows, took, now),
        Ok((Err(e), _)) => {
            tracing::warn!(error = %e, "counting finished jobs failed; trying again shortly");
            counts.count_failed(now);
        }
        Err(e) => {
            tracing::warn!(error = %e, "the count of finished jobs stopped; trying again shortly");
            counts.count_failed(now);
        }
    }
}

/// Waits (due to claimed) per queue over the last minute, from the running
/// events of every node, for the per-queue percentiles.
#[derive(Default)]
struct WaitWindow {
    samples: BTreeMap<String, VecDeque<(i64, i64)>>,
}

const WAIT_WINDOW_MS: i64 = 60_000;
/// Samples kept per queue: enough for a p99, bounded in memory.
const WAIT_SAMPLES: usize = 20_000;

impl WaitWindow {
    fn observe(&mut self, queue: &str, at: i64, wait_ms: i64) {
        let q = self.samples.entry(queue.to_string()).or_default();
        if q.len() == WAIT_SAMPLES {
            q.pop_front();
        }
        q.push_back((at, wait_ms.max(0)));
    }

    /// `{queue: {p50, p95, p99, n}}` in ms over the window; quiet queues drop out.
    fn percentiles(&mut self, now: i64) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        self.samples.retain(|_, q| {
            while q.front().is_some_and(|(at, _)| *at < now - WAIT_WINDOW_MS) {
                q.pop_front();
            }
            !q.is_empty()
        });
        for (queue, q) in &self.samples {
            let mut v: Vec<i64> = q.iter().map(|(_, w)| *w).collect();
            v.sort_unstable();
            let pick = |p: f64| v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1];
            out.insert(
                queue.clone(),
                serde_json::json!({ "p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "n": v.len() }),
            );
        }
        serde_json::Value::Object(out)
    }
}

#[derive(Deserialize, Default)]
pub struct Filters {
    queue: Option<String>,
    kind: Option<String>,
    workflow: Option<String>,
    /// Frame names wanted, comma-separated (`stats` for a dashboard that
    /// only draws the aggregates); `resync` always comes through.
    types: Option<String>,
    /// A workflow's jobs are fixed when it is submitted, so its members are
    /// read once per subscriber, not per event.
    #[serde(skip)]
    members: Option<std::collections::HashSet<i64>>,
}

/// The frame names a subscriber may ask for in `types` (`hello` and
/// `resync` always come).
const FRAME_TYPES: [&str; 2] = ["job", "stats"];

impl Filters {
    /// A misspelt type would leave the stream silent but for keep-alives.
    fn check_types(&self) -> Result<(), app::auth::AppError> {
        let Some(types) = &self.types else { return Ok(()) };
        match types.split(',').map(str::trim).find(|t| !FRAME_TYPES.contains(t)) {
            Some(t) => {
                Err(app::auth::AppError::invalid("types", format!("unknown frame type {t:?}; use job, stats or both")))
            }
            None => Ok(()),
        }
    }

    /// Appends the frame's text when this subscriber wants it.
    fn write(&self, f: &Frame, out: &mut Vec<u8>) {
        if self.admits(f) {
            out.extend_from_slice(&f.wire);
        }
    }

    /// The filters as text, equal for subscribers that take the same frames.
    fn key(&self) -> String {
        let part = |v: &Option<String>| v.as_ref().map_or_else(|| "-".to_string(), |v| format!("={v}"));
        [&self.queue, &self.kind, &self.workflow, &self.types].into_iter().map(part).collect::<Vec<_>>().join("\u{1f}")
    }

    /// Whether `types` (absent: every type) takes frames named `name`.
    fn wants(&self, name: &str) -> bool {
        self.types.as_ref().is_none_or(|t| t.split(',').any(|t| t.trim() == name))
    }

    /// Whether any `job` frame can pass (else the quiet channel serves).
    fn wants_jobs(&self) -> bool {
        self.wants("job")
    }

    fn admits(&self, f: &Frame) -> bool {
        if f.name != "resync" && !self.wants(f.name) {
            return false;
        }
        if f.name != "job" {
            return true;
        }
        self.queue.as_ref().is_none_or(|q| f.queue.as_ref() == Some(q))
            && self.kind.as_ref().is_none_or(|k| f.kind.as_ref() == Some(k))
            && self.members.as_ref().is_none_or(|m| f.job.is_some_and(|j| m.contains(&j)))
    }
}

/// Comment lines keep proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Batches a subscriber that fell behind sends in one write at most.
const CATCH_UP: usize = 32;

struct Sub {
    rx: broadcast::Receiver<Arc<Batch>>,
    backlog: VecDeque<Bytes>,
    filters: Filters,
    /// The filters as text: subscribers with the same key share a batch's rendering.
    key: String,
    stop: watch::Receiver<bool>,
    /// When to send a keep-alive if nothing else was written by then.
    idle_until: tokio::time::Instant,
    /// The newest frame a resume already replayed from the ring. The channel
    /// was joined before the ring was read, so it may bring that frame again.
    replayed: u64,
}

impl Sub {
    /// The batch's text for this subscriber.
    fn text(&self, b: &Batch) -> Bytes {
        let own = |frames: &mut dyn Iterator<Item = &Arc<Frame>>| {
            let mut out = Vec::new();
            frames.for_each(|f| self.filters.write(f, &mut out));
            Bytes::from(out)
        };
        // Right after a resume a batch may hold frames already replayed: that
        // subscriber's text is its own.
        if b.frames.first().is_some_and(|f| f.id <= self.replayed) {
            return own(&mut b.frames.iter().filter(|f| f.id > self.replayed));
        }
        let mut rendered = lock(&b.rendered);
        if let Some(text) = rendered.get(&self.key) {
            return text.clone();
        }
        let text = own(&mut b.frames.iter());
        rendered.insert(self.key.clone(), text.clone());
        text
    }

    fn lagged(n: u64) -> Bytes {
        resync(&n.to_string())
    }
}

fn resync(missed: &str) -> Bytes {
    render(None, "resync", &format!("{{\"missed\":{missed}}}"))
}

async fn next(mut s: Sub) -> Option<(Result<Bytes, Infallible>, Sub)> {
    if !s.backlog.is_empty() {
        let chunk: Vec<u8> = s.backlog.drain(..).flat_map(|b| b.to_vec()).collect();
        s.idle_until = tokio::time::Instant::now() + KEEP_ALIVE;
        return Some((Ok(Bytes::from(chunk)), s));
    }
    loop {
        let first = tokio::select! {
            _ = s.stop.changed() => {
                // Shutting down: end the stream cleanly.
                if *s.stop.borrow() {
                    return None;
                }
                continue;
            }
            // Frames filtered out do not count: the deadline only moves when bytes go out.
            _ = tokio::time::sleep_until(s.idle_until) => {
                s.idle_until = tokio::time::Instant::now() + KEEP_ALIVE;
                return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), s));
            }
            b = s.rx.recv() => b,
        };
        let mut parts = vec![match first {
            Ok(b) => s.text(&b),
            // `missed` counts batches: the client reloads either way.
            Err(broadcast::error::RecvError::Lagged(n)) => Sub::lagged(n),
            Err(broadcast::error::RecvError::Closed) => return None,
        }];
        // Behind by more than one batch: catch up in one write. The usual
        // case (one batch) sends the shared text without copying it.
        while parts.len() < CATCH_UP {
            parts.push(match s.rx.try_recv() {
                Ok(b) => s.text(&b),
                Err(broadcast::error::TryRecvError::Lagged(n)) => Sub::lagged(n),
                Err(_) => break,
            });
        }
        let text = if parts.len() == 1 { parts.swap_remove(0) } else { Bytes::from(parts.concat()) };
        if !text.is_empty() {
            s.idle_until = tokio::time::Instant::now() + KEEP_ALIVE;
            return Some((Ok(text), s));
        }
    }
}

/// `GET /api/v1/events?queue=&kind=&workflow=`: job frames (filtered) and
/// the per-second `stats`; `Last-Event-ID` replays what was missed, or sends
/// `resync` when that has left the ring.
pub async fn events(
    State(s): State<ApiState>,
    headers: HeaderMap,
    crate::api::ApiQuery(mut filters): crate::api::ApiQuery<Filters>,
) -> Result<Response, crate::error::ApiError> {
    filters.check_types()?;
    if let Some(w) = &filters.workflow {
        s.engine.store.get_workflow(w).await?.ok_or(crate::error::ApiError::NotFound)?;
        filters.members = Some(s.engine.store.workflow_jobs(w).await?.iter().map(|j| j.id).collect());
    }
    let hub = s.dashboard.clone();
    let rx = if filters.wants_jobs() { hub.tx.subscribe() } else { hub.quiet_tx.subscribe() };
    let mut backlog = VecDeque::new();
    let mut replayed = 0;
    if let Some(last) = headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok()) {
        match hub.since(last) {
            Some(frames) => {
                replayed = frames.last().map_or(last, |f| f.id);
                backlog.extend(frames.iter().filter(|f| filters.admits(f)).map(|f| f.wire.clone()))
            }
            None => backlog.push_back(resync("\"unknown\"")),
        }
    } else {
        backlog.push_back(render(None, "hello", "{}"));
    }
    let stop = hub.stop.clone();
    let idle_until = tokio::time::Instant::now() + KEEP_ALIVE;
    let key = filters.key();
    let stream = futures_util::stream::unfold(Sub { rx, backlog, filters, key, stop, idle_until, replayed }, next);
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        // nginx would otherwise buffer the stream.
        .header("x-accel-buffering", "no")
        .body(Body::from_stream(stream))
        .map_err(|e| crate::error::ApiError::Unavailable(e.to_string()))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_this_process_never_sent_resync() {
        let (_tx, rx) = watch::channel(false);
        // A process started later numbers from further on.
        let hub = DashboardHub::numbered_from(rx, 1_000);
        assert!(hub.since(u64::MAX).is_none(), "a forged huge id: resync, no overflow");
        assert!(hub.since(1_000).is_none(), "an id not sent yet (another node's): resync");
        assert!(hub.since(5).is_none(), "an earlier process's id: resync");
        assert!(hub.since(999).unwrap().is_empty(), "caught up with nothing new");
        hub.push("job", None, None, "{}".into());
        assert_eq!(hub.since(999).unwrap().iter().map(|f| f.id).collect::<Vec<_>>(), vec![1_000]);
        assert!(hub.since(1_001).is_none());
        let (_tx, rx) = watch::channel(false);
        assert!(DashboardHub::new(rx).since(1_000).is_none(), "real hubs number far past a restart's ids");
    }

    #[test]
    fn resumes_replay_from_the_ring_until_it_has_moved_on() {
        let (_tx, rx) = watch::channel(false);
        let hub = DashboardHub::numbered_from(rx, 1);
        for i in 0..RING + 5 {
            hub.push("job", Some("q".into()), None, format!("{{\"n\":{i}}}"));
        }
        let newest = (RING + 5) as u64;
        assert_eq!(hub.since(newest - 2).unwrap().iter().map(|f| f.id).collect::<Vec<_>>(), vec![newest - 1, newest]);
        assert!(hub.since(1).is_none(), "frame 2 has left the ring: resync");
        assert!(hub.since(newest).unwrap().is_empty());
        let f = Filters { queue: Some("other".into()), ..Default::default() };
        assert!(!f.admits(&hub.since(newest - 1).unwrap()[0]));
        let stats_only = Filters { types: Some("stats".into()), ..Default::default() };
        assert!(stats_only.check_types().is_ok());
        assert!(Filters { types: Some("stats, job".into()), ..Default::default() }.check_types().is_ok());
        assert!(Filters { types: Some("stat".into()), ..Default::default() }.check_types().is_err(), "a typo is named");
        assert!(!stats_only.admits(&hub.since(newest - 1).unwrap()[0]), "job frames are left out");
        assert!(!stats_only.wants_jobs() && Filters::default().wants_jobs());
        assert!(Filters { types: Some("stats, job".into()), ..Default::default() }.wants_jobs());
        let mut quiet = hub.quiet_tx.subscribe();
        hub.push("job", Some("q".into()), None, "{}".into());
        hub.push("stats", None, None, "{}".into());
        hub.push("resync", None, None, "{}".into());
        hub.flush();
        assert!(hub.since(newest).unwrap().iter().skip(1).all(|f| stats_only.admits(f)));
        let names: Vec<_> = std::iter::from_fn(|| quiet.try_recv().ok())
            .flat_map(|b| b.frames.iter().map(|f| f.name).collect::<Vec<_>>())
            .collect();
        assert_eq!(names, vec!["stats", "resync"], "the quiet channel carries no job frames");
    }

    #[tokio::test]
    async fn a_resume_does_not_send_a_replayed_frame_twice() {
        let (_tx, stop) = watch::channel(false);
        let hub = DashboardHub::numbered_from(stop.clone(), 1);
        // Joined first, as `events` does; frames 1-3 land in the ring and the channel.
        let rx = hub.tx.subscribe();
        // Frames 1-2 go out in one batch; 3 is in the ring but not sent yet.
        for i in 1..=3 {
            hub.push("stats", None, None, format!("{{\"n\":{i}}}"));
            if i == 2 {
                hub.flush();
            }
        }
        let frames = hub.since(0).unwrap();
        let backlog = frames.iter().map(|f| f.wire.clone()).collect();
        let idle_until = tokio::time::Instant::now() + KEEP_ALIVE;
        let filters = Filters::default();
        let key = filters.key();
        let sub = Sub { rx, backlog, filters, key, stop, idle_until, replayed: 3 };
        let (first, sub) = next(sub).await.unwrap();
        assert_eq!(String::from_utf8_lossy(&first.unwrap()).matches("event: stats").count(), 3);
        hub.push("stats", None, None, "{\"n\":4}".into());
        hub.flush();
        let (second, _) = next(sub).await.unwrap();
        let text = String::from_utf8(second.unwrap().to_vec()).unwrap();
        assert_eq!(text, "id: 4\nevent: stats\ndata: {\"n\":4}\n\n", "frames 1-3 are not sent again");
    }

    #[tokio::test]
    async fn subscribers_with_the_same_filters_share_one_rendering_of_a_batch() {
        let (_tx, stop) = watch::channel(false);
        let hub = DashboardHub::numbered_from(stop.clone(), 1);
        let sub = |filters: Filters| {
            let key = filters.key();
            let idle_until = tokio::time::Instant::now() + KEEP_ALIVE;
            Sub {
                rx: hub.tx.subscribe(),
                backlog: VecDeque::new(),
                filters,
                key,
                stop: stop.clone(),
                idle_until,
                replayed: 0,
            }
        };
        let q = |q: &str| Filters { queue: Some(q.into()), ..Default::default() };
        let (a, b, c) = (sub(q("mail")), sub(q("mail")), sub(q("sms")));
        hub.push_job("job", Some("mail".into()), Some("k".into()), Some(1), "{\"id\":1}".into());
        hub.push_job("job", Some("sms".into()), Some("k".into()), Some(2), "{\"id\":2}".into());
        hub.push_job("job", Some("mail".into()), Some("k".into()), Some(3), "{\"id\":3}".into());
        hub.flush();
        let (ta, _) = next(a).await.unwrap();
        let (tb, _) = next(b).await.unwrap();
        let (tc, _) = next(c).await.unwrap();
        let (ta, tb, tc) = (ta.unwrap(), tb.unwrap(), tc.unwrap());
        assert_eq!(ta, "id: 1\nevent: job\ndata: {\"id\":1}\n\nid: 3\nevent: job\ndata: {\"id\":3}\n\n");
        assert_eq!(ta.as_ptr(), tb.as_ptr(), "the second subscriber reuses the first one's text");
        assert_eq!(tc, "id: 2\nevent: job\ndata: {\"id\":2}\n\n");
        assert_ne!(q("a").key(), Filters { kind: Some("a".into()), ..Default::default() }.key());
        assert_ne!(Filters::default().key(), Filters { queue: Some(String::new()), ..Default::default() }.key());
    }

    #[tokio::test]
    async fn a_subscriber_behind_by_several_batches_catches_up_in_one_write() {
        let (_tx, stop) = watch::channel(false);
        let hub = DashboardHub::numbered_from(stop.clone(), 1);
        let filters = Filters::default();
        let key = filters.key();
        let idle_until = tokio::time::Instant::now() + KEEP_ALIVE;
        let sub = Sub { rx: hub.tx.subscribe(), backlog: VecDeque::new(), filters, key, stop, idle_until, replayed: 0 };
        for i in 1..=3 {
            hub.push("stats", None, None, format!("{{\"n\":{i}}}"));
            hub.flush();
        }
        let (text, _) = next(sub).await.unwrap();
        let text = String::from_utf8(text.unwrap().to_vec()).unwrap();
        assert_eq!(text.matches("event: stats").count(), 3, "{text}");
        assert!(text.find("\"n\":1").unwrap() < text.find("\"n\":3").unwrap());
    }

    #[test]
    fn wait_percentiles_cover_the_last_minute_per_queue() {
        let mut w = WaitWindow::default();
        for i in 1..=100 {
            w.observe("mail", 1_000_000, i);
        }
        w.observe("old", 1_000_000 - WAIT_WINDOW_MS - 1, 5);
        let p = w.percentiles(1_000_000);
        assert_eq!(p["mail"]["p50"], 50);
        assert_eq!(p["mail"]["p95"], 95);
        assert_eq!(p["mail"]["p99"], 99);
        assert_eq!(p["mail"]["n"], 100);
        assert!(p.get("old").is_none(), "samples older than the window are dropped");
    }
}
