//! Test databases: a temporary SQLite file, or a fresh schema on the
//! PostgreSQL server named by TEST_DATABASE_URL (so tests run in parallel).

#![allow(dead_code, unused_macros)]

pub mod env;

use std::{str::FromStr, sync::Arc};

use meetmind::store::{PgStore, SqliteStore, Store};
use sqlx::{postgres::PgConnectOptions, Connection, Executor, PgConnection};

pub struct TestDb {
    pub store: Arc<dyn Store>,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(tempfile::TempDir),
    Postgres { admin: PgConnectOptions, schema: String },
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::connect(&sqlite_url(&dir), 5).await.expect("open sqlite");
        TestDb { store: Arc::new(store), cleanup: Cleanup::Sqlite(dir) }
    }

    /// None when no PostgreSQL server is configured. Under CI that is a
    /// failure, never a silent skip.
    pub async fn postgres() -> Option<TestDb> {
        Self::postgres_with_connections(5).await
    }

    /// As `postgres`, with a pool of `connections` (one, to see what a
    /// statement leaves behind on its connection).
    pub async fn postgres_with_connections(connections: u32) -> Option<TestDb> {
        let url = env::test_database_url()?;
        let admin = PgConnectOptions::from_str(&url).expect("TEST_DATABASE_URL parses");
        let schema = format!("mmtest_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect_with(&admin).await.expect("connect to TEST_DATABASE_URL");
        conn.execute(format!("CREATE SCHEMA {schema}").as_str()).await.expect("create schema");
        conn.close().await.ok();
        let store = PgStore::connect_with(in_schema(&admin, &schema), connections).await.expect("open postgres");
        Some(TestDb { store: Arc::new(store), cleanup: Cleanup::Postgres { admin, schema } })
    }

    pub async fn migrated(self) -> TestDb {
        self.store.migrate().await.expect("migrate");
        self
    }

    /// Runs SQL on the test database directly, for rows the API does not
    /// write as they are (states set by hand, rows an older version left).
    pub async fn execute(&self, sql: &str) {
        match &self.cleanup {
            Cleanup::Sqlite(dir) => {
                let mut conn = sqlx::SqliteConnection::connect(&sqlite_url(dir)).await.expect("open sqlite");
                conn.execute(sql).await.expect("raw SQL on sqlite");
            }
            Cleanup::Postgres { admin, schema } => {
                let mut conn =
                    PgConnection::connect_with(&in_schema(admin, schema)).await.expect("connect to postgres");
                conn.execute(sql).await.expect("raw SQL on postgres");
            }
        }
    }

    /// A trigger named `name` failing every `event` (INSERT, UPDATE) on
    /// `table`, or only those whose rows match `when` (`NEW.state = 'x'`):
    /// a real database error, for paths that must survive one, until `allow`.
    pub async fn refuse(&self, name: &str, event: &str, table: &str, when: Option<&str>) {
        let message = "refused by the test";
        match &self.cleanup {
            Cleanup::Sqlite(_) => {
                let when = when.map(|w| format!("WHEN {w}")).unwrap_or_default();
                self.execute(&format!(
                    "CREATE TRIGGER {name} BEFORE {event} ON {table} {when} BEGIN SELECT RAISE(ABORT, '{message}'); END"
                ))
                .await
            }
            Cleanup::Postgres { .. } => {
                self.execute(&format!(
                    "CREATE OR REPLACE FUNCTION refuse_write() RETURNS trigger LANGUAGE plpgsql \
                     AS $$ BEGIN RAISE EXCEPTION '{message}'; END $$"
                ))
                .await;
                let when = when.map(|w| format!("WHEN ({w})")).unwrap_or_default();
                self.execute(&format!(
                    "CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW {when} EXECUTE FUNCTION refuse_write()"
                ))
                .await
            }
        }
    }

    pub async fn allow(&self, name: &str, table: &str) {
        match &self.cleanup {
            Cleanup::Sqlite(_) => self.execute(&format!("DROP TRIGGER {name}")).await,
            Cleanup::Postgres { .. } => self.execute(&format!("DROP TRIGGER {name} ON {table}")).await,
        }
    }

    pub async fn finish(self) {
        self.store.close().await;
        if let Cleanup::Postgres { admin, schema } = &self.cleanup {
            if let Ok(mut conn) = PgConnection::connect_with(admin).await {
                let _ = conn.execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str()).await;
            }
        }
    }
}

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("test.db").display())
}

fn in_schema(admin: &PgConnectOptions, schema: &str) -> PgConnectOptions {
    admin.clone().options([("search_path", schema)])
}

/// Serves a router on a free loopback port (with the peer address the auth
/// layer reads) until the test process ends; returns its base URL.
pub async fn listen(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await.unwrap()
    });
    base
}

/// The provider simulator on a free loopback port; returns its base URL.
pub async fn provider_sim() -> String {
    listen(meetmind::llm::sim::router()).await
}

/// The full HTTP app over a store, with the auth state it uses.
pub fn app_with_auth(
    store: Arc<dyn Store>,
    clock: meetmind::clock::SharedClock,
) -> (axum::Router, Arc<meetmind::auth::Auth>) {
    use meetmind::{
        config::{Config, Layers},
        http::{self, AppState},
        metrics::Metrics,
    };
    let config = Config::load(&Layers::default()).unwrap();
    let auth = meetmind::auth::Auth::new(store.clone(), clock.clone(), false);
    let llm =
        meetmind::llm::router::Router::new(Vec::new(), Default::default(), Arc::new(meetmind::clock::SystemClock));
    let (mm, engine) = interviews(store.clone(), clock, llm.clone(), std::env::temp_dir().join("meetmind-test-outbox"));
    let engine_for_hub = engine.clone();
    let router = http::router(AppState {
        leptos_options: http::leptos_options(&config),
        store,
        metrics: Arc::new(Metrics::default()),
        node_id: "test-node".into(),
        auth: auth.clone(),
        engine,
        llm,
        meetmind: mm,
        dashboard: {
            // Never stopped: the test process ends first.
            let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
            std::mem::forget(stop_tx);
            let hub = meetmind::sse::DashboardHub::new(stop_rx);
            tokio::spawn(hub.clone().run(engine_for_hub));
            hub
        },
    });
    (router, auth)
}

/// The demo interview's transcript as segments to append (client ids d0, d1, …).
pub fn demo_segments() -> Vec<app::interviews::NewSegment> {
    meetmind::meetmind::demo_script::transcript()
        .into_iter()
        .enumerate()
        .map(|(n, (speaker, text, start_ms, end_ms))| app::interviews::NewSegment {
            client_id: format!("d{n}"),
            speaker,
            text: text.into(),
            start_ms,
            end_ms,
        })
        .collect()
}

/// MeetMind over a store, with its job kinds registered on a fresh engine
/// and email going to `outbox`. Suggestions settle after 100 ms of quiet.
pub fn interviews(
    store: Arc<dyn Store>,
    clock: meetmind::clock::SharedClock,
    llm: Arc<meetmind::llm::router::Router>,
    outbox: std::path::PathBuf,
) -> (Arc<meetmind::meetmind::MeetMind>, Arc<meetmind::scheduler::engine::Engine>) {
    interviews_on(store, clock, llm, outbox, "test-node")
}

/// The same, as the named node.
pub fn interviews_on(
    store: Arc<dyn Store>,
    clock: meetmind::clock::SharedClock,
    llm: Arc<meetmind::llm::router::Router>,
    outbox: std::path::PathBuf,
    node: &str,
) -> (Arc<meetmind::meetmind::MeetMind>, Arc<meetmind::scheduler::engine::Engine>) {
    interviews_with_quiet(store, clock, llm, outbox, node, std::time::Duration::from_millis(100))
}

/// The same, with suggestions settling after `quiet` without a new answer.
pub fn interviews_with_quiet(
    store: Arc<dyn Store>,
    clock: meetmind::clock::SharedClock,
    llm: Arc<meetmind::llm::router::Router>,
    outbox: std::path::PathBuf,
    node: &str,
    quiet: std::time::Duration,
) -> (Arc<meetmind::meetmind::MeetMind>, Arc<meetmind::scheduler::engine::Engine>) {
    use meetmind::{
        meetmind::{jobs, MeetMind, MeetMindConfig},
        scheduler::{
            engine::{Engine, EngineConfig},
            events::EventHub,
            handlers::{email_send, Registry},
        },
    };
    let email = email_send::EmailConfig {
        smtp_url: None,
        outbox,
        from: "MeetMind <meetmind@localhost>".into(),
        failure_rate: 0.0,
    };
    let mut registry = Registry::with_email(&email).expect("email config");
    let config =
        MeetMindConfig { public_url: "http://meetmind.test".into(), debounce: quiet, ..MeetMindConfig::default() };
    jobs::register(
        &mut registry,
        Arc::new(jobs::Analyst {
            store: store.clone(),
            llm: llm.clone(),
            clock: clock.clone(),
            config: config.clone(),
            email: Some(Arc::new(email_send::EmailSend::new(&email).expect("outbox"))),
        }),
    );
    let engine =
        Engine::new(store.clone(), clock.clone(), node, registry, EventHub::new(1024), EngineConfig::default());
    (MeetMind::new(store, engine.clone(), llm, clock, config), engine)
}

/// A scheduler engine over a store, on the given clock.
pub fn engine(store: Arc<dyn Store>, clock: meetmind::clock::SharedClock) -> Arc<meetmind::scheduler::engine::Engine> {
    use meetmind::scheduler::{
        engine::{Engine, EngineConfig},
        events::EventHub,
        handlers::Registry,
    };
    Engine::new(store, clock, "test-node", Registry::standard(), EventHub::new(1024), EngineConfig::default())
}

/// Creates an account and a session for it; returns the `Cookie` header value.
pub async fn signed_in(auth: &meetmind::auth::Auth, email: &str, role: app::auth::UserRole) -> String {
    use meetmind::{auth::secret, store::SessionRow};
    let user = auth
        .add_user(
            "test",
            app::auth::NewUser {
                email: email.into(),
                name: email.into(),
                role,
                password: "correct horse battery".into(),
            },
        )
        .await
        .expect("create user");
    let secret = secret::random_secret();
    let now = auth.clock.now_ms();
    auth.store
        .insert_session(&SessionRow {
            id_hash: secret::hash_secret(&secret),
            user_id: user.id,
            csrf_token: "csrf-test".into(),
            created_at: now,
            last_seen_at: now,
        })
        .await
        .expect("insert session");
    format!("mm_session={secret}")
}

/// Instantiates each `async fn(TestDb) -> TestDb` once per backend on a
/// migrated database: in `mod sqlite` always, in `mod postgres` when
/// TEST_DATABASE_URL is set (and under CI=true it must be). Use
/// `both_backends!(multi_thread; a, b)` for tests that need worker threads.
macro_rules! both_backends {
    (@tests $attr:meta; $($name:ident),*) => {
        mod sqlite {
            $(
                #[$attr]
                async fn $name() {
                    let db = super::TestDb::sqlite().await.migrated().await;
                    super::$name(db).await.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[$attr]
                async fn $name() {
                    let Some(db) = super::TestDb::postgres().await else { return };
                    super::$name(db.migrated().await).await.finish().await;
                }
            )*
        }
    };
    (multi_thread; $($name:ident),* $(,)?) => {
        both_backends!(@tests tokio::test(flavor = "multi_thread", worker_threads = 2); $($name),*);
    };
    ($($name:ident),* $(,)?) => {
        both_backends!(@tests tokio::test; $($name),*);
    };
}
