//! PostgreSQL driver: the multi-node backend.

use std::{str::FromStr, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
    PgPool, Row,
};

use super::auth::{impl_auth_store, AuditRow, SessionRow, TokenRow, UserRow};
use super::{pending, roles_from_text, roles_to_text, NodeRecord, PoolStats, Readiness, Store, StoreError};
use crate::config::Backend;

impl_auth_store!(PgStore);
super::llm_calls::impl_llm_call_store!(PgStore);
super::interviews::impl_interview_store!(PgStore);
super::templates::impl_template_store!(PgStore);

pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations/postgres");

#[derive(Clone)]
pub struct PgStore {
    pub(super) pool: PgPool,
    /// The schema this installation lives in, when it is not `public`.
    /// NOTIFY channels and advisory locks are database-wide, so two
    /// installations in one database (or the test suite's schemas) name
    /// theirs apart (`scoped`).
    scope: Option<String>,
}

impl PgStore {
    /// Transactions that update many job rows lock them first, in id order,
    /// so two of them touching the same jobs wait for each other instead of
    /// deadlocking (completions take a job, its children, then its workflow).
    pub(super) const LOCK_IN_ID_ORDER: Option<&'static str> = Some("FOR UPDATE");
    /// `lower()` folds every script here.
    pub(super) const TEXT_MATCH: super::text_match::TextMatch = super::text_match::TextMatch::LowerLike;
    /// Batches of ids bind as one array.
    pub(super) const ID_LIST: super::id_list::IdList = super::id_list::IdList::PgArray;

    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?.application_name("meetmind");
        Self::connect_with(options, max_connections).await
    }

    pub async fn connect_with(options: PgConnectOptions, max_connections: u32) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        let schema: Option<String> =
            sqlx::query_scalar("SELECT COALESCE(current_schema(), current_setting('search_path'))")
                .fetch_one(&pool)
                .await?;
        let scope = schema.filter(|s| s != "public");
        Ok(PgStore { pool, scope })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// `name` (a NOTIFY channel, an advisory lock's key) for this
    /// installation only.
    pub(super) fn scoped(&self, name: &str) -> String {
        scoped_name(name, self.scope.as_deref())
    }
}

fn node_from_row(row: &sqlx::postgres::PgRow) -> Result<NodeRecord, sqlx::Error> {
    Ok(NodeRecord {
        id: row.try_get("id")?,
        hostname: row.try_get("hostname")?,
        roles: roles_from_text(row.try_get::<&str, _>("roles")?),
        version: row.try_get("version")?,
        started_at: row.try_get("started_at")?,
        heartbeat_at: row.try_get("heartbeat_at")?,
    })
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn readiness(&self) -> Result<Readiness, StoreError> {
        let exists: bool =
            sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL").fetch_one(&self.pool).await?;
        let applied: Vec<i64> = if exists {
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success").fetch_all(&self.pool).await?
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
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (id) DO UPDATE SET hostname = EXCLUDED.hostname, roles = EXCLUDED.roles,
                 version = EXCLUDED.version, started_at = EXCLUDED.started_at, heartbeat_at = EXCLUDED.heartbeat_at",
        )
        .bind(&node.id)
        .bind(&node.hostname)
        .bind(roles_to_text(&node.roles))
        .bind(&node.version)
        .bind(node.started_at)
        .bind(node.heartbeat_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn heartbeat_node(&self, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE nodes SET heartbeat_at = $2 WHERE id = $1")
            .bind(id)
            .bind(at)
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
        sqlx::query("DELETE FROM nodes WHERE id = $1").bind(id).execute(&self.pool).await?;
        Ok(())
    }

    async fn prune_nodes(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM nodes WHERE heartbeat_at < $1").bind(before).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn notify(&self, channel: &str, payload: &str) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_notify($1, $2)").bind(self.channel(channel)).bind(payload).execute(&self.pool).await?;
        Ok(())
    }

    fn channel(&self, name: &str) -> String {
        self.scoped(name)
    }

    fn listen_pool(&self) -> Option<sqlx::PgPool> {
        Some(self.pool.clone())
    }

    async fn database_now_ms(&self) -> Result<Option<i64>, StoreError> {
        // clock_timestamp(), not now(): the time of the reading, not of a
        // transaction's start.
        Ok(Some(
            sqlx::query_scalar("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint")
                .fetch_one(&self.pool)
                .await?,
        ))
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

/// A name unique to the installation's schema. A channel name is an
/// identifier, which PostgreSQL truncates at 63 bytes, so a long schema name
/// is replaced by its FNV-1a hash (stable across builds, unlike std's hasher,
/// so mixed versions of nodes agree). The `public` schema keeps the bare
/// name, as before schemas were told apart.
fn scoped_name(name: &str, scope: Option<&str>) -> String {
    let Some(scope) = scope else { return name.to_string() };
    let full = format!("{name}:{scope}");
    if full.len() <= 63 {
        return full;
    }
    let hash =
        scope.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3));
    format!("{name}:{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::scoped_name;

    #[test]
    fn channels_are_named_per_schema_and_fit_an_identifier() {
        assert_eq!(scoped_name("meetmind_jobs", None), "meetmind_jobs");
        assert_eq!(scoped_name("meetmind_jobs", Some("tenant_a")), "meetmind_jobs:tenant_a");
        assert_ne!(scoped_name("meetmind_jobs", Some("tenant_a")), scoped_name("meetmind_jobs", Some("tenant_b")));
        let long = "s".repeat(80);
        let other = format!("{}t", "s".repeat(79));
        let (a, b) =
            (scoped_name("meetmind_interviews", Some(&long)), scoped_name("meetmind_interviews", Some(&other)));
        assert!(a.len() <= 63 && b.len() <= 63);
        assert_ne!(a, b);
        assert_eq!(a, scoped_name("meetmind_interviews", Some(&long)), "the same schema, the same channel");
    }
}
