//! SQLite driver: the embedded, single-node default. WAL mode lets readers
//! run beside the single writer.

use std::{path::Path, str::FromStr, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use sqlx::{
    migrate::Migrator,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    Row, SqlitePool,
};

use super::auth::{impl_auth_store, AuditRow, SessionRow, TokenRow, UserRow};
use super::{pending, roles_from_text, roles_to_text, NodeRecord, PoolStats, Readiness, Store, StoreError};
use crate::config::Backend;

impl_auth_store!(SqliteStore);
super::llm_calls::impl_llm_call_store!(SqliteStore);
super::interviews::impl_interview_store!(SqliteStore);
super::templates::impl_template_store!(SqliteStore);

pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations/sqlite");

#[derive(Clone)]
pub struct SqliteStore {
    pub(super) pool: SqlitePool,
}

fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

impl SqliteStore {
    /// No row locks: SQLite has one writer at a time, and a leading read would
    /// make the transaction's later upgrade to a write lock fail under load.
    pub(super) const LOCK_IN_ID_ORDER: Option<&'static str> = None;
    /// SQLite's `lower()` folds ASCII only: searches go through `REGEXP`.
    pub(super) const TEXT_MATCH: super::text_match::TextMatch = super::text_match::TextMatch::Regexp;
    /// Batches of ids bind as one JSON array (SQLite has no arrays).
    pub(super) const ID_LIST: super::id_list::IdList = super::id_list::IdList::JsonEach;

    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?;
        // Create the folder of the database file (./data on a fresh clone).
        let file = options.get_filename();
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            if file != Path::new(":memory:") {
                std::fs::create_dir_all(dir)?;
            }
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            .with_regexp();
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        Ok(SqliteStore { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

fn node_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<NodeRecord, sqlx::Error> {
    Ok(NodeRecord {
        id: row.try_get("id")?,
        hostname: row.try_get("hostname")?,
        roles: roles_from_text(row.try_get::<&str, _>("roles")?),
        version: row.try_get("version")?,
        started_at: from_ms(row.try_get("started_at")?),
        heartbeat_at: from_ms(row.try_get("heartbeat_at")?),
    })
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn readiness(&self) -> Result<Readiness, StoreError> {
        let exists: i64 =
            sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'")
                .fetch_one(&self.pool)
                .await?;
        let applied: Vec<i64> = if exists > 0 {
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = 1").fetch_all(&self.pool).await?
        } else {
            Vec::new()
        };
        Ok(Readiness { pending_migrations: pending(&MIGRATOR, &applied) })
    }

    fn pool_stats(&self) -> PoolStats {
        PoolStats { size: self.pool.size(), idle: self.pool.num_idle() as u32 }
    }

    async fn register_node(&self, node: &NodeRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO nodes (id, hostname, roles, version, started_at, heartbeat_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (id) DO UPDATE SET hostname = excluded.hostname, roles = excluded.roles,
                 version = excluded.version, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at",
        )
        .bind(&node.id)
        .bind(&node.hostname)
        .bind(roles_to_text(&node.roles))
        .bind(&node.version)
        .bind(to_ms(node.started_at))
        .bind(to_ms(node.heartbeat_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn heartbeat_node(&self, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE nodes SET heartbeat_at = ?2 WHERE id = ?1")
            .bind(id)
            .bind(to_ms(at))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_nodes(&self) -> Result<Vec<NodeRecord>, StoreError> {
        let rows = sqlx::query("SELECT id, hostname, roles, version, started_at, heartbeat_at FROM nodes ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(node_from_row).collect::<Result<_, _>>()?)
    }

    async fn remove_node(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM nodes WHERE id = ?1").bind(id).execute(&self.pool).await?;
        Ok(())
    }

    async fn prune_nodes(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done =
            sqlx::query("DELETE FROM nodes WHERE heartbeat_at < ?1").bind(to_ms(before)).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn try_lead(&self, name: &str, node: &str, now: i64, ttl_ms: i64) -> Result<bool, StoreError> {
        // Insert, or take over when we hold it already or it expired.
        let done = sqlx::query(
            "INSERT INTO leaders (name, node, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET node = excluded.node, expires_at = excluded.expires_at
             WHERE leaders.node = excluded.node OR leaders.expires_at < $4",
        )
        .bind(name)
        .bind(node)
        .bind(now + ttl_ms)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
