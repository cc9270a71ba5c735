//! Records of LLM calls, same SQL on both drivers.

use async_trait::async_trait;

use super::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct LlmCallRow {
    pub id: i64,
    pub at: i64,
    pub purpose: String,
    pub tier: String,
    pub degraded: bool,
    pub latency_ms: i64,
    pub tokens_out: Option<i64>,
    /// JSON array of {tier, error, latency_ms}.
    pub attempts: String,
}

#[async_trait]
pub trait LlmCallStore: Send + Sync {
    async fn insert_llm_calls(&self, rows: &[LlmCallRow]) -> Result<(), StoreError>;
    /// Newest first.
    async fn list_llm_calls(&self, limit: i64) -> Result<Vec<LlmCallRow>, StoreError>;
}

macro_rules! impl_llm_call_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::llm_calls::LlmCallStore for $store {
            async fn insert_llm_calls(&self, rows: &[$crate::store::llm_calls::LlmCallRow]) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await?;
                for r in rows {
                    sqlx::query(
                        "INSERT INTO llm_calls (at, purpose, tier, degraded, latency_ms, tokens_out, attempts)
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(r.at)
                    .bind(&r.purpose)
                    .bind(&r.tier)
                    .bind(r.degraded)
                    .bind(r.latency_ms)
                    .bind(r.tokens_out)
                    .bind(&r.attempts)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn list_llm_calls(
                &self,
                limit: i64,
            ) -> Result<Vec<$crate::store::llm_calls::LlmCallRow>, StoreError> {
                Ok(sqlx::query_as(
                    "SELECT id, at, purpose, tier, degraded, latency_ms, tokens_out, attempts
                     FROM llm_calls ORDER BY id DESC LIMIT $1",
                )
                .bind(limit.clamp(1, 1000))
                .fetch_all(&self.pool)
                .await?)
            }
        }
    };
}

pub(crate) use impl_llm_call_store;
