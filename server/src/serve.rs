//! `meetmind serve`: one node of the cluster.

use std::{future::Future, sync::Arc};

use chrono::{DateTime, Utc};
use tokio::{net::TcpListener, sync::watch};
use tracing::{info, warn};

use crate::{
    auth::Auth,
    clock::{Clock, SharedClock},
    config::{Config, Role},
    http::{self, AppState},
    metrics::Metrics,
    scheduler::{
        engine::{Engine, EngineConfig},
        events::EventHub,
        handlers::Registry,
        runtime::{self, RuntimeConfig},
    },
    store::{self, NodeRecord, Store},
};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("{0}")]
    Setup(String),
    #[error("cannot listen on {addr}: {source} (is another process on that port? choose another with --addr or MEETMIND_ADDR; `make run ADDR=127.0.0.1:3001`)")]
    Bind { addr: std::net::SocketAddr, source: std::io::Error },
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}

fn node_id() -> String {
    let host = hostname();
    let short = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}", &short[..8])
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "node".into())
}

/// Runs a node until `shutdown` resolves, then drains within the grace period.
pub async fn run(config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ServeError> {
    let store = store::connect(&config).await?;
    store.migrate().await?;
    info!(backend = ?config.backend, "database ready, migrations applied");
    // Bound before the node registers, prints its setup link or starts the
    // scheduler: a taken port fails the start with nothing half-done.
    let listener = if config.has_role(Role::Web) {
        Some(TcpListener::bind(config.addr).await.map_err(|source| ServeError::Bind { addr: config.addr, source })?)
    } else {
        None
    };

    // The database's time, not this machine's: other nodes judge the leases,
    // leadership and heartbeats this node writes (clock_sync).
    let (stop_tx, stop_rx) = watch::channel(false);
    let clock = crate::clock_sync::database_clock(store.clone(), stop_rx.clone()).await;

    let id: Arc<str> = config.node_id.clone().unwrap_or_else(node_id).into();
    let now = at(&*clock);
    let record = NodeRecord {
        id: id.to_string(),
        hostname: hostname(),
        roles: config.roles.iter().map(|r| r.as_str().to_string()).collect(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: now,
        heartbeat_at: now,
    };
    store.register_node(&record).await?;
    info!(node = %id, roles = ?record.roles, "node registered");

    let heartbeat = tokio::spawn(heartbeat_loop(store.clone(), clock.clone(), record, config.clone(), stop_rx.clone()));

    let auth = Auth::new(store.clone(), clock.clone(), config.secure_cookies);
    auth.set_sse_recheck(config.stream_recheck);
    let Parts { engine, llm, meetmind } = assemble(&config, store.clone(), clock, &id)?;
    crate::llm::spawn_call_recorder(&llm, store.clone());
    if config.has_role(Role::Maintenance) {
        ensure_retention_schedule(&engine).await;
    }
    let scheduler = if config.has_role(Role::Worker) || config.has_role(Role::Maintenance) {
        let runtime = RuntimeConfig {
            queue_kind: config.scheduler,
            maintenance: config.has_role(Role::Maintenance),
            grace: config.shutdown_grace,
            node_dead_after_ms: (config.node_heartbeat.as_millis() as i64) * 6,
            ..RuntimeConfig::default()
        };
        info!(scheduler = ?config.scheduler, concurrency = engine.config.concurrency, "scheduler starting");
        Some(tokio::spawn(runtime::run(engine.clone(), runtime, stop_rx.clone())))
    } else {
        // No scheduler here, but the dashboard still follows every node's jobs.
        let wake = Arc::new(tokio::sync::Notify::new());
        tokio::spawn(runtime::listen_remote(engine.clone(), wake, stop_rx.clone()));
        None
    };
    let web = if let Some(listener) = listener {
        let options = http::leptos_options(&config);
        http::check_site(&options);
        // No account yet: print a one-time link that creates the first admin.
        // It goes to stdout, not the log, which must never hold secrets.
        if let Some(secret) = auth.issue_setup_link().await? {
            let host =
                if config.addr.ip().is_unspecified() { "127.0.0.1".to_string() } else { config.addr.ip().to_string() };
            println!();
            println!("  No accounts yet. Create the first admin (one use, valid 24 h):");
            println!("    http://{host}:{}/setup?token={secret}", config.addr.port());
            println!("  or run: meetmind user create --admin --email you@example.com");
            println!();
        }
        if store.list_interviews(None, None, 1).await.map(|v| v.is_empty()).unwrap_or(false) {
            println!("  No interviews yet. Load a realistic sample interview, run end to end offline:");
            println!("    make demo   (or: meetmind demo)");
            println!();
        }
        // The dashboard feed: one hub per node, aggregates once a second.
        let dashboard = crate::sse::DashboardHub::new(stop_rx.clone());
        tokio::spawn(dashboard.clone().run(engine.clone()));
        let state = AppState {
            leptos_options: options,
            store: store.clone(),
            metrics: Arc::new(Metrics::default()),
            node_id: id.clone(),
            auth: auth.clone(),
            engine: engine.clone(),
            llm: llm.clone(),
            meetmind: meetmind.clone(),
            dashboard: dashboard.clone(),
        };
        // Other nodes' interview events reach this node's live streams.
        let hub = meetmind.hub.clone();
        let relay_stop = stop_rx.clone();
        tokio::spawn(async move { hub.relay_remote(relay_stop).await });
        info!("listening on http://{}", config.addr);
        let mut rx = stop_rx.clone();
        let app = http::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
        let server = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = rx.wait_for(|stop| *stop).await;
        });
        Some(tokio::spawn(async move { server.await }))
    } else {
        None
    };

    shutdown.await;
    info!(grace = ?config.shutdown_grace, "shutting down: no new connections; draining in-flight requests");
    let _ = stop_tx.send(true);

    if let Some(web) = web {
        match tokio::time::timeout(config.shutdown_grace, web).await {
            Ok(Ok(Ok(()))) => info!("in-flight requests drained"),
            Ok(Ok(Err(e))) => warn!(error = %e, "server ended with an error"),
            Ok(Err(e)) => warn!(error = %e, "server task failed"),
            Err(_) => warn!("grace period over; dropping the connections still open"),
        }
    }
    if let Some(scheduler) = scheduler {
        // The runtime has its own grace period for in-flight jobs.
        let _ = tokio::time::timeout(config.shutdown_grace + std::time::Duration::from_secs(5), scheduler).await;
    }
    let _ = heartbeat.await;
    if let Err(e) = store.remove_node(&id).await {
        warn!(error = %e, "could not deregister node");
    }
    store.close().await;
    info!("stopped");
    Ok(())
}

/// The engine, the LLM router and MeetMind, wired together: MeetMind's job
/// kinds join the registry before the engine is built.
pub struct Parts {
    pub engine: Arc<Engine>,
    pub llm: Arc<crate::llm::router::Router>,
    pub meetmind: Arc<crate::meetmind::MeetMind>,
}

pub fn assemble(
    config: &Config,
    store: Arc<dyn Store>,
    clock: crate::clock::SharedClock,
    node_id: &str,
) -> Result<Parts, ServeError> {
    use crate::scheduler::handlers::email_send::EmailSend;
    let llm = crate::llm::build_router(&config.llm, clock.clone());
    let mut registry = Registry::with_email(&config.email).map_err(ServeError::Setup)?;
    let email = EmailSend::new(&config.email).map_err(ServeError::Setup)?;
    crate::meetmind::jobs::register(
        &mut registry,
        Arc::new(crate::meetmind::jobs::Analyst {
            store: store.clone(),
            llm: llm.clone(),
            clock: clock.clone(),
            config: config.meetmind.clone(),
            email: Some(Arc::new(email)),
        }),
    );
    let engine = Engine::new(
        store.clone(),
        clock.clone(),
        node_id.to_string(),
        registry,
        EventHub::new(65_536),
        EngineConfig {
            // A node without the worker role only enqueues.
            concurrency: if config.has_role(Role::Worker) { config.worker_concurrency as usize } else { 0 },
            lease_ms: config.job_lease.as_millis() as i64,
        },
    );
    let meetmind = crate::meetmind::MeetMind::new(store, engine.clone(), llm.clone(), clock, config.meetmind.clone());
    Ok(Parts { engine, llm, meetmind })
}

/// The retention purge runs hourly as a cron schedule on our own scheduler.
async fn ensure_retention_schedule(engine: &Engine) {
    let template = app::jobs::NewJob {
        queue: Some(crate::meetmind::QUEUE.to_string()),
        kind: "interview.purge".into(),
        payload: serde_json::json!({}),
        priority: None,
        run_at: None,
        max_attempts: None,
        retry_delays_ms: None,
        timeout_ms: None,
        idempotency_key: None,
    };
    match engine.create_schedule("interview-retention", "17 * * * *", "UTC", &template).await {
        Ok(_) => info!("interview retention purge scheduled hourly"),
        Err(app::auth::AppError::Invalid { field, .. }) if field == "name" => {}
        Err(e) => warn!(error = %e, "could not schedule the interview retention purge"),
    }
}

/// Keeps this node's registration fresh; maintenance nodes also prune nodes
/// that stopped heartbeating (crashed without deregistering).
/// The clock's time as a timestamp.
fn at(clock: &dyn Clock) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(clock.now_ms()).unwrap_or_default()
}

async fn heartbeat_loop(
    store: Arc<dyn Store>,
    clock: SharedClock,
    record: NodeRecord,
    config: Config,
    mut stop: watch::Receiver<bool>,
) {
    let every = config.node_heartbeat;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let now = at(&*clock);
        match store.heartbeat_node(&record.id, now).await {
            Ok(true) => {}
            Ok(false) => {
                warn!(node = %record.id, "registration was pruned; registering again");
                let again = NodeRecord { heartbeat_at: now, ..record.clone() };
                if let Err(e) = store.register_node(&again).await {
                    warn!(error = %e, "re-registration failed");
                }
            }
            Err(e) => warn!(error = %e, "heartbeat failed"),
        }
        // Pruning dead nodes and old sessions is the maintenance leader's job.
    }
}

/// Used by tests and embedders: a shutdown future driven by a watch channel.
pub fn shutdown_on(mut rx: watch::Receiver<bool>) -> impl Future<Output = ()> + Send + 'static {
    async move {
        let _ = rx.wait_for(|s| *s).await;
    }
}
