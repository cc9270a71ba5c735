//! `meetmind bench`: the project's own load generator for the scheduler.
//! - burn-down: insert N no-op jobs in batches, then work them with W slots;
//!   reports insert and work rates on fresh tables and after ANALYZE.
//! - latency: warm-up, then sequential enqueue→start samples; p50, p99, max.
//! - workflows: fan-in workflows submitted, then worked; workflows/s.
//! On PostgreSQL it works in a throw-away schema, so it never touches real
//! data; on SQLite in a temporary file.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::{mpsc, watch};

use crate::{
    clock::SystemClock,
    config::{Backend, Config},
    scheduler::{
        engine::{Engine, EngineConfig},
        events::EventHub,
        handlers::{Handler, HandlerError, JobContext, Registry},
        runtime::{self, RuntimeConfig},
        QueueKind,
    },
    store::{
        self,
        jobs::{InsertJob, QueueRow},
        Store,
    },
};

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    #[error("{0}")]
    Other(String),
}

pub struct BurnDown {
    pub jobs: usize,
    pub workers: usize,
    pub batch: usize,
    pub scheduler: QueueKind,
}

/// A scratch database: a fresh PostgreSQL schema or a temporary SQLite file.
struct Scratch {
    store: Arc<dyn Store>,
    drop_schema: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

async fn scratch(config: &Config, max_connections: u32) -> Result<Scratch, BenchError> {
    match config.backend {
        Backend::Postgres => {
            use sqlx::{Connection, Executor};
            let schema = format!("meetmind_bench_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
            let mut admin = sqlx::PgConnection::connect(&config.database_url).await?;
            admin.execute(format!("CREATE SCHEMA {schema}").as_str()).await?;
            let options: sqlx::postgres::PgConnectOptions = config.database_url.parse()?;
            let options = options.options([("search_path", schema.as_str())]);
            let store = store::PgStore::connect_with(options, max_connections).await?;
            store.migrate().await?;
            Ok(Scratch { store: Arc::new(store), drop_schema: Some((config.database_url.clone(), schema)), _dir: None })
        }
        Backend::Sqlite => {
            let dir = tempfile::tempdir().map_err(|e| BenchError::Other(e.to_string()))?;
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            let store = store::SqliteStore::connect(&url, max_connections).await?;
            store.migrate().await?;
            Ok(Scratch { store: Arc::new(store), drop_schema: None, _dir: Some(dir) })
        }
    }
}

impl Scratch {
    async fn finish(self) {
        self.store.close().await;
        if let Some((url, schema)) = self.drop_schema {
            use sqlx::{Connection, Executor};
            if let Ok(mut c) = sqlx::PgConnection::connect(&url).await {
                let _ = c.execute(format!("DROP SCHEMA {schema} CASCADE").as_str()).await;
            }
        }
    }
}

async fn describe(config: &Config, store: &Arc<dyn Store>) -> String {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut line = format!("machine: {cpus} cores; backend: {:?}", config.backend);
    if let Some(pool) = store.listen_pool() {
        let version: String = sqlx::query_scalar("SHOW server_version").fetch_one(&pool).await.unwrap_or_default();
        let sync: String = sqlx::query_scalar("SHOW synchronous_commit").fetch_one(&pool).await.unwrap_or_default();
        let buffers: String = sqlx::query_scalar("SHOW shared_buffers").fetch_one(&pool).await.unwrap_or_default();
        line.push_str(&format!("; PostgreSQL {version}, synchronous_commit={sync}, shared_buffers={buffers}"));
    }
    line
}

fn noop_rows(n: usize) -> Vec<InsertJob> {
    (0..n)
        .map(|i| InsertJob {
            queue: "bench".into(),
            kind: "noop".into(),
            payload: "{}".into(),
            priority: (i % 10) as i32,
            run_at: 0,
            state: "available".into(),
            max_attempts: 4,
            retry_delays_ms: None,
            timeout_ms: None,
            idempotency_key: None,
            workflow_id: None,
            workflow_key: None,
        })
        .collect()
}

/// Inserts `n` jobs in batches; returns jobs per second.
async fn insert(store: &Arc<dyn Store>, n: usize, batch: usize) -> Result<f64, BenchError> {
    store.ensure_queues(&["bench".to_string()], 0).await?;
    let rows = noop_rows(batch.min(n));
    let started = Instant::now();
    let mut left = n;
    while left > 0 {
        let take = left.min(batch);
        store.insert_jobs(&rows[..take], 0).await?;
        left -= take;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

/// The bench's node: the scratch store on the system clock, `concurrency`
/// slots, an event hub holding `events` events.
fn bench_engine(store: &Arc<dyn Store>, registry: Registry, events: usize, concurrency: usize) -> Arc<Engine> {
    Engine::new(
        store.clone(),
        Arc::new(SystemClock),
        "bench",
        registry,
        EventHub::new(events),
        EngineConfig { concurrency, lease_ms: 60_000 },
    )
}

/// Works every available job with `workers` slots; returns jobs per second,
/// timed from the first claim to the last completion.
async fn work(store: &Arc<dyn Store>, n: usize, workers: usize, kind: QueueKind) -> Result<f64, BenchError> {
    let engine = bench_engine(store, Registry::standard(), 1 << 20, workers);
    let mut events = engine.events.subscribe();
    let (stop_tx, stop_rx) = watch::channel(false);
    let config = RuntimeConfig { queue_kind: kind, maintenance: false, ..RuntimeConfig::default() };
    let handle = tokio::spawn(runtime::run(engine.clone(), config, stop_rx));
    let mut first: Option<Instant> = None;
    let mut done = 0usize;
    let deadline = Instant::now() + Duration::from_secs(600);
    while done < n {
        match tokio::time::timeout(Duration::from_secs(30), events.recv()).await {
            Ok(Ok(ev)) => match ev.state.as_str() {
                "running" if first.is_none() => first = Some(Instant::now()),
                "succeeded" => done += 1,
                _ => {}
            },
            Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(missed))) => {
                return Err(BenchError::Other(format!("event stream lagged by {missed}; raise the hub capacity")));
            }
            Ok(Err(_)) | Err(_) => return Err(BenchError::Other(format!("stalled after {done} of {n} jobs"))),
        }
        if Instant::now() > deadline {
            return Err(BenchError::Other("gave up after 10 minutes".into()));
        }
    }
    let elapsed = first.map(|f| f.elapsed()).unwrap_or_default();
    let _ = stop_tx.send(true);
    let _ = handle.await;
    Ok(n as f64 / elapsed.as_secs_f64())
}

pub async fn burn_down(config: &Config, b: &BurnDown) -> Result<(), BenchError> {
    let scratch = scratch(config, 20).await?;
    let store = scratch.store.clone();
    println!("{}", describe(config, &store).await);
    println!(
        "burn-down: {} no-op jobs, insert batches of {}, {} worker slots in one process, {:?} timers",
        b.jobs, b.batch, b.workers, b.scheduler
    );
    let ins = insert(&store, b.jobs, b.batch).await?;
    println!("  insert:               {:>10.0} jobs/s", ins);
    let fresh = work(&store, b.jobs, b.workers, b.scheduler).await?;
    println!("  worked, fresh tables: {:>10.0} jobs/s", fresh);
    if let Some(pool) = store.listen_pool() {
        insert(&store, b.jobs, b.batch).await?;
        sqlx::query("ANALYZE jobs").execute(&pool).await?;
        sqlx::query("ANALYZE job_attempts").execute(&pool).await?;
        let analyzed = work(&store, b.jobs, b.workers, b.scheduler).await?;
        println!("  worked, after ANALYZE:{:>10.0} jobs/s", analyzed);
    }
    scratch.finish().await;
    Ok(())
}

pub struct WorkflowBench {
    pub workflows: usize,
    /// Parallel jobs between each workflow's root and its join.
    pub width: usize,
    pub workers: usize,
    pub scheduler: QueueKind,
}

/// One fan-out/fan-in workflow: root → `width` leaves → join. The join's
/// parents finish close together, which is where deciding a child costs most
/// (on PostgreSQL the child row is locked while its parents are counted).
fn fan_in(i: usize, width: usize) -> app::dag::WorkflowSpec {
    use app::dag::{JobSpec, WorkflowSpec};
    let job = |key: String, depends_on: Vec<String>| JobSpec {
        key,
        kind: "noop".into(),
        payload: serde_json::Value::Null,
        queue: Some("bench".into()),
        priority: None,
        depends_on,
        on_parent_failure: Default::default(),
        edge_policies: Default::default(),
    };
    let leaves: Vec<String> = (0..width).map(|l| format!("leaf{l}")).collect();
    let mut jobs = vec![job("root".into(), vec![])];
    jobs.extend(leaves.iter().map(|l| job(l.clone(), vec!["root".into()])));
    jobs.push(job("join".into(), leaves));
    WorkflowSpec { name: format!("bench-{i}"), jobs }
}

/// Submits fan-in workflows, then works them; prints submit and work rates
/// and checks that every workflow ended `succeeded`.
pub async fn workflows(config: &Config, b: &WorkflowBench) -> Result<(), BenchError> {
    let scratch = scratch(config, 20).await?;
    let store = scratch.store.clone();
    println!("{}", describe(config, &store).await);
    let per = b.width + 2;
    println!(
        "workflows: {} fan-in workflows of {per} jobs (root, {} leaves, join), {} worker slots in one process, {:?} timers",
        b.workflows, b.width, b.workers, b.scheduler
    );
    let engine = bench_engine(&store, Registry::standard(), 1 << 10, b.workers);
    let started = Instant::now();
    let mut ids = Vec::with_capacity(b.workflows);
    for i in 0..b.workflows {
        let (id, _) =
            engine.submit_workflow(&fan_in(i, b.width)).await.map_err(|e| BenchError::Other(e.to_string()))?;
        ids.push(id);
    }
    let submit = b.workflows as f64 / started.elapsed().as_secs_f64();
    println!("  submit:   {:>10.0} workflows/s ({:.0} jobs/s)", submit, submit * per as f64);
    let jobs = work(&store, b.workflows * per, b.workers, b.scheduler).await?;
    println!("  worked:   {:>10.0} workflows/s ({:.0} jobs/s)", jobs / per as f64, jobs);
    let mut unfinished = 0;
    for id in &ids {
        if store.get_workflow(id).await?.map(|w| w.state) != Some("succeeded".into()) {
            unfinished += 1;
        }
    }
    scratch.finish().await;
    if unfinished > 0 {
        return Err(BenchError::Other(format!("{unfinished} workflows did not end succeeded")));
    }
    Ok(())
}

/// Marks when the handler starts, for the latency bench.
struct Mark(mpsc::UnboundedSender<Instant>);

#[async_trait::async_trait]
impl Handler for Mark {
    fn kind(&self) -> &'static str {
        "bench.mark"
    }

    async fn run(&self, _ctx: JobContext) -> Result<(), HandlerError> {
        let _ = self.0.send(Instant::now());
        Ok(())
    }
}

pub async fn latency(
    config: &Config,
    samples: usize,
    paused_backlog: usize,
    kind: QueueKind,
) -> Result<(), BenchError> {
    let scratch = scratch(config, 10).await?;
    let store = scratch.store.clone();
    println!("{}", describe(config, &store).await);
    if paused_backlog > 0 {
        hold_backlog(&store, paused_backlog).await?;
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut registry = Registry::standard();
    registry.register(Mark(tx));
    let engine = bench_engine(&store, registry, 1 << 16, 8);
    let (stop_tx, stop_rx) = watch::channel(false);
    let config_rt = RuntimeConfig { queue_kind: kind, maintenance: false, ..RuntimeConfig::default() };
    let handle = tokio::spawn(runtime::run(engine.clone(), config_rt, stop_rx));
    let job: app::jobs::NewJob =
        serde_json::from_value(serde_json::json!({"kind": "bench.mark"})).unwrap_or_else(|_| unreachable!());
    let mut us = Vec::with_capacity(samples);
    for i in 0..(100 + samples) {
        let t0 = Instant::now();
        engine.enqueue(vec![job.clone()], false).await.map_err(|e| BenchError::Other(e.to_string()))?;
        let started = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .map_err(|_| BenchError::Other("a job never started".into()))?
            .ok_or_else(|| BenchError::Other("handler gone".into()))?;
        if i >= 100 {
            us.push(started.saturating_duration_since(t0).as_micros() as u64);
        }
    }
    us.sort_unstable();
    let pct = |p: f64| us[((us.len() as f64 * p).ceil() as usize).saturating_sub(1).min(us.len() - 1)] as f64 / 1000.0;
    println!(
        "latency: {samples} sequential samples after 100 warm-up, from before the INSERT to the handler's start, {kind:?} timers, \
         {paused_backlog} more urgent jobs in a paused queue"
    );
    println!("  p50 {:.2} ms   p99 {:.2} ms   max {:.2} ms", pct(0.50), pct(0.99), pct(1.0));
    let _ = stop_tx.send(true);
    let _ = handle.await;
    scratch.finish().await;
    Ok(())
}

/// `n` jobs at the top priority in the paused queue `held`, in batches, then
/// statistics as autovacuum would gather them for a table this size.
async fn hold_backlog(store: &Arc<dyn Store>, n: usize) -> Result<(), BenchError> {
    let held = "held".to_string();
    store.ensure_queues(std::slice::from_ref(&held), 0).await?;
    store
        .update_queue(&QueueRow {
            name: held.clone(),
            concurrency: 0,
            paused: true,
            max_attempts: None,
            retry_delays_ms: None,
            starvation_after_ms: None,
            updated_at: 0,
        })
        .await?;
    let rows: Vec<InsertJob> =
        noop_rows(n.min(10_000)).into_iter().map(|j| InsertJob { queue: held.clone(), priority: 0, ..j }).collect();
    let mut left = n;
    while left > 0 {
        let take = left.min(rows.len());
        store.insert_jobs(&rows[..take], 0).await?;
        left -= take;
    }
    if let Some(pool) = store.listen_pool() {
        sqlx::query("ANALYZE jobs").execute(&pool).await?;
    }
    Ok(())
}

/// The LLM engine's overhead over a direct call, open-loop at a fixed rate,
/// against the in-process provider simulator on 127.0.0.1.
pub async fn llm_overhead(rate: u32, secs: u64) -> Result<(), BenchError> {
    use crate::llm::{
        offline::Purpose,
        provider::{HttpProvider, Provider},
        router::Router,
        wire::{self, Message, Prompt, Role},
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| BenchError::Other(e.to_string()))?;
    let addr = listener.local_addr().map_err(|e| BenchError::Other(e.to_string()))?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, crate::llm::sim::router()).await;
    });
    let base = format!("http://{addr}/groq/v1");
    let prompt = Prompt {
        system: None,
        messages: vec![Message { role: Role::User, text: "ping".into() }],
        temperature: 0.0,
        max_tokens: 8,
    };
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap_or_default();
    let provider: Arc<dyn Provider> = Arc::new(HttpProvider::openai_compatible("groq", http.clone(), &base, "k", "m"));
    let router = Router::new(
        vec![provider],
        crate::llm::router::RouterConfig { bulkhead: 4096, ..Default::default() },
        Arc::new(SystemClock),
    );
    let body = wire::openai_request("m", &prompt, false);

    async fn run<F, Fut>(rate: u32, secs: u64, call: F) -> Vec<u64>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = bool> + Send + 'static,
    {
        let call = Arc::new(call);
        let (tx, mut rx) = mpsc::unbounded_channel::<u64>();
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let total = u64::from(rate) * secs;
        for _ in 0..total {
            tick.tick().await;
            let (call, tx) = (call.clone(), tx.clone());
            tokio::spawn(async move {
                let t0 = Instant::now();
                if call().await {
                    let _ = tx.send(t0.elapsed().as_micros() as u64);
                }
            });
        }
        drop(tx);
        let mut out = Vec::new();
        while let Some(us) = rx.recv().await {
            out.push(us);
        }
        out.sort_unstable();
        out
    }
    let pct = |v: &[u64], p: f64| {
        v.get(((v.len() as f64 * p).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0) as f64 / 1000.0
    };

    // Warm both paths (connections, JIT-free but caches and pools).
    for _ in 0..200 {
        let _ = http.post(format!("{base}/chat/completions")).json(&body).send().await;
        router.complete(&Purpose::Generic, &prompt, Duration::from_secs(8)).await;
    }
    let direct = {
        let (http, url, body) = (http.clone(), format!("{base}/chat/completions"), body.clone());
        run(rate, secs, move || {
            let (http, url, body) = (http.clone(), url.clone(), body.clone());
            async move {
                match http.post(&url).json(&body).send().await {
                    Ok(r) => r.text().await.ok().is_some_and(|t| wire::openai_reply(&t).is_ok()),
                    Err(_) => false,
                }
            }
        })
        .await
    };
    let routed = {
        let (router, prompt) = (router.clone(), prompt.clone());
        run(rate, secs, move || {
            let (router, prompt) = (router.clone(), prompt.clone());
            async move { !router.complete(&Purpose::Generic, &prompt, Duration::from_secs(8)).await.degraded }
        })
        .await
    };
    // The primary hard down (503 on every call) in front of the same healthy tier.
    let down = Router::new(
        vec![
            Arc::new(HttpProvider::gemini(http.clone(), &format!("http://{addr}/gemini"), "k", "m"))
                as Arc<dyn Provider>,
            Arc::new(HttpProvider::openai_compatible("groq", http.clone(), &base, "k", "m")),
        ],
        crate::llm::router::RouterConfig { bulkhead: 4096, ..Default::default() },
        Arc::new(SystemClock),
    );
    down.spawn_prober();
    let _ = http
        .put(format!("http://{addr}/_sim/faults/gemini"))
        .json(&serde_json::json!({"error_rate": 1.0, "error_status": 503}))
        .send()
        .await;
    for _ in 0..50 {
        down.complete(&Purpose::Generic, &prompt, Duration::from_secs(8)).await;
    }
    let stats = |http: reqwest::Client| async move {
        let v: serde_json::Value = match http.get(format!("http://{addr}/_sim/stats")).send().await {
            Ok(r) => r.json().await.unwrap_or_default(),
            Err(_) => serde_json::Value::Null,
        };
        v["requests"]["gemini"].as_u64().unwrap_or(0)
    };
    let primary_before = stats(http.clone()).await;
    let failover = {
        let (router, prompt) = (down.clone(), prompt.clone());
        run(rate, secs, move || {
            let (router, prompt) = (router.clone(), prompt.clone());
            async move { router.complete(&Purpose::Generic, &prompt, Duration::from_secs(8)).await.tier == "groq" }
        })
        .await
    };
    let primary_calls = stats(http.clone()).await - primary_before;

    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("LLM engine overhead: open loop at {rate} req/s for {secs} s per path, simulator on 127.0.0.1, {cpus} cores shared by load, engine and simulator");
    println!("  direct reqwest: n={} p50 {:.3} ms  p99 {:.3} ms", direct.len(), pct(&direct, 0.5), pct(&direct, 0.99));
    println!("  via the engine: n={} p50 {:.3} ms  p99 {:.3} ms", routed.len(), pct(&routed, 0.5), pct(&routed, 0.99));
    println!(
        "  overhead:       p50 {:+.3} ms  p99 {:+.3} ms",
        pct(&routed, 0.5) - pct(&direct, 0.5),
        pct(&routed, 0.99) - pct(&direct, 0.99)
    );
    println!(
        "  primary down:   n={} p50 {:.3} ms  p99 {:.3} ms  (p99 {:+.3} ms over the healthy tier alone; the primary saw {} requests, background probes only)",
        failover.len(),
        pct(&failover, 0.5),
        pct(&failover, 0.99),
        pct(&failover, 0.99) - pct(&routed, 0.99),
        primary_calls
    );
    Ok(())
}
