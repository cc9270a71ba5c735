//! Storage: one `Store` trait, one driver per database (River's layout).
//! Everything above this module talks to `dyn Store` only.

pub mod auth;
mod claim_plan;
mod id_list;
pub mod interviews;
pub mod jobs;
pub mod llm_calls;
mod postgres;
mod postgres_jobs;
mod sqlite;
mod sqlite_jobs;
pub mod templates;
mod text_match;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use thiserror::Error;

pub use auth::{AuditRow, AuthStore, SessionRow, TokenRow, UserRow};
pub use interviews::{InterviewRow, InterviewStore, ResultRow, SegmentRow, SuggestionRow};
pub use jobs::{JobQueries, JobRow, JobStore};
pub use llm_calls::{LlmCallRow, LlmCallStore};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use templates::{TemplateRow, TemplateStore};

use crate::config::{Backend, Config};

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot prepare the database location: {0}")]
    Io(#[from] std::io::Error),
}

/// A node of the cluster as the store records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecord {
    pub id: String,
    pub hostname: String,
    pub roles: Vec<String>,
    pub version: String,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
}

/// What `/readyz` needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// Versions of embedded migrations the database has not applied.
    pub pending_migrations: Vec<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
}

#[async_trait]
pub trait Store:
    AuthStore + JobStore + JobQueries + LlmCallStore + InterviewStore + TemplateStore + Send + Sync + 'static
{
    fn backend(&self) -> Backend;

    /// Applies the embedded migrations for this backend. Safe to run from
    /// several nodes at once (PostgreSQL takes an advisory lock).
    async fn migrate(&self) -> Result<(), StoreError>;

    /// Fails when the database is unreachable; otherwise lists what is pending.
    async fn readiness(&self) -> Result<Readiness, StoreError>;

    fn pool_stats(&self) -> PoolStats;

    /// Inserts or replaces a node's registration.
    async fn register_node(&self, node: &NodeRecord) -> Result<(), StoreError>;

    /// Records a heartbeat; false when the node is not registered (it was
    /// pruned as dead and must register again).
    async fn heartbeat_node(&self, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError>;

    async fn list_nodes(&self) -> Result<Vec<NodeRecord>, StoreError>;

    async fn remove_node(&self, id: &str) -> Result<(), StoreError>;

    /// Removes nodes whose last heartbeat is older than `before`; returns how many.
    async fn prune_nodes(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    async fn close(&self);

    /// Sends a notification to other nodes (PostgreSQL NOTIFY). A single-node
    /// backend has no one to tell.
    async fn notify(&self, _channel: &str, _payload: &str) -> Result<(), StoreError> {
        Ok(())
    }

    /// The pool to LISTEN on, when the backend has cross-node notifications.
    fn listen_pool(&self) -> Option<sqlx::PgPool> {
        None
    }

    /// The NOTIFY channel `name` stands for in this installation: `notify`
    /// sends on it and listeners LISTEN on it.
    fn channel(&self, name: &str) -> String {
        name.to_string()
    }

    /// The database's clock in Unix milliseconds, when nodes share a database
    /// server whose clock may differ from theirs (None: the database runs in
    /// this process, on this node's clock).
    async fn database_now_ms(&self) -> Result<Option<i64>, StoreError> {
        Ok(None)
    }

    /// Takes or renews the lease on a named leadership; true while this node holds it.
    async fn try_lead(&self, name: &str, node: &str, now: i64, ttl_ms: i64) -> Result<bool, StoreError>;
}

/// Opens the store the configuration names.
pub async fn connect(config: &Config) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match config.backend {
        Backend::Sqlite => Arc::new(SqliteStore::connect(&config.database_url, config.db_max_connections).await?),
        Backend::Postgres => Arc::new(PgStore::connect(&config.database_url, config.db_max_connections).await?),
    })
}

/// Versions in `embedded` that are not in `applied`.
fn pending(embedded: &sqlx::migrate::Migrator, applied: &[i64]) -> Vec<i64> {
    embedded
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| m.version)
        .filter(|v| !applied.contains(v))
        .collect()
}

fn roles_to_text(roles: &[String]) -> String {
    roles.join(",")
}

fn roles_from_text(text: &str) -> Vec<String> {
    text.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect()
}
