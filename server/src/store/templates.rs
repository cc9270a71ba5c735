//! Workflow templates saved from the DAG editor; same SQL on both drivers.

use async_trait::async_trait;

use super::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TemplateRow {
    pub id: String,
    pub name: String,
    /// The workflow spec as JSON, validated before it was saved.
    pub spec: String,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[async_trait]
pub trait TemplateStore: Send + Sync {
    /// Saves by name: a template with the same name is replaced (its id kept).
    async fn save_template(&self, row: &TemplateRow) -> Result<TemplateRow, StoreError>;
    /// By name.
    async fn list_templates(&self) -> Result<Vec<TemplateRow>, StoreError>;
    async fn get_template(&self, id: &str) -> Result<Option<TemplateRow>, StoreError>;
    async fn delete_template(&self, id: &str) -> Result<bool, StoreError>;
}

macro_rules! impl_template_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::templates::TemplateStore for $store {
            async fn save_template(
                &self,
                r: &$crate::store::templates::TemplateRow,
            ) -> Result<$crate::store::templates::TemplateRow, StoreError> {
                Ok(sqlx::query_as(
                    "INSERT INTO workflow_templates (id, name, spec, created_by, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $5)
                     ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at
                     RETURNING id, name, spec, created_by, created_at, updated_at",
                )
                .bind(&r.id).bind(&r.name).bind(&r.spec).bind(&r.created_by).bind(r.created_at)
                .fetch_one(&self.pool)
                .await?)
            }

            async fn list_templates(&self) -> Result<Vec<$crate::store::templates::TemplateRow>, StoreError> {
                Ok(sqlx::query_as(
                    "SELECT id, name, spec, created_by, created_at, updated_at FROM workflow_templates ORDER BY name LIMIT 500",
                )
                .fetch_all(&self.pool)
                .await?)
            }

            async fn get_template(&self, id: &str) -> Result<Option<$crate::store::templates::TemplateRow>, StoreError> {
                Ok(sqlx::query_as(
                    "SELECT id, name, spec, created_by, created_at, updated_at FROM workflow_templates WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn delete_template(&self, id: &str) -> Result<bool, StoreError> {
                let done = sqlx::query("DELETE FROM workflow_templates WHERE id = $1").bind(id).execute(&self.pool).await?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}
pub(crate) use impl_template_store;
