//! Accounts, sessions, API tokens, the setup link and the audit log.
//! The SQL is identical on both databases (times are Unix ms, `$n`
//! placeholders appear in order), so one macro implements it for each driver.

use async_trait::async_trait;

use super::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRow {
    pub id_hash: String,
    pub user_id: String,
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub token_hash: String,
    pub scopes: String,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

#[async_trait]
pub trait AuthStore: Send + Sync {
    async fn count_users(&self) -> Result<i64, StoreError>;
    /// False when the email is taken.
    async fn insert_user(&self, user: &UserRow) -> Result<bool, StoreError>;
    async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, StoreError>;
    async fn user_by_id(&self, id: &str) -> Result<Option<UserRow>, StoreError>;
    async fn list_users(&self) -> Result<Vec<UserRow>, StoreError>;
    async fn set_user_role(&self, id: &str, role: &str, at: i64) -> Result<bool, StoreError>;
    /// Disabling also ends the user's sessions.
    async fn set_user_disabled(&self, id: &str, disabled: bool, at: i64) -> Result<bool, StoreError>;

    async fn insert_session(&self, session: &SessionRow) -> Result<(), StoreError>;
    async fn session_with_user(&self, id_hash: &str) -> Result<Option<(SessionRow, UserRow)>, StoreError>;
    async fn touch_session(&self, id_hash: &str, at: i64) -> Result<(), StoreError>;
    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError>;
    /// Removes sessions idle since `idle_before` or created before `created_before`.
    async fn prune_sessions(&self, idle_before: i64, created_before: i64) -> Result<u64, StoreError>;

    async fn insert_token(&self, token: &TokenRow) -> Result<(), StoreError>;
    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRow>, StoreError>;
    async fn touch_token(&self, id: &str, at: i64) -> Result<(), StoreError>;
    async fn list_tokens(&self) -> Result<Vec<TokenRow>, StoreError>;
    /// False when no such unrevoked token exists.
    async fn revoke_token(&self, id: &str, at: i64) -> Result<bool, StoreError>;

    /// Stores a new setup link and retires any unused older one.
    async fn insert_setup_token(&self, token_hash: &str, created_at: i64, expires_at: i64) -> Result<(), StoreError>;
    async fn setup_token_usable(&self, token_hash: &str, now: i64) -> Result<bool, StoreError>;
    /// In one transaction: consumes the setup token and creates the first
    /// admin. False when the token is not usable or an account exists.
    async fn complete_setup(&self, token_hash: &str, now: i64, admin: &UserRow) -> Result<bool, StoreError>;

    async fn append_audit(
        &self,
        at: i64,
        actor: &str,
        action: &str,
        target: &str,
        detail: &str,
    ) -> Result<(), StoreError>;
    async fn list_audit(&self, limit: i64) -> Result<Vec<AuditRow>, StoreError>;
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

pub(crate) const USER_COLUMNS: &str = "id, email, name, role, password_hash, disabled, created_at, updated_at";
pub(crate) const TOKEN_COLUMNS: &str = "id, name, token_hash, scopes, created_by, created_at, last_used_at, revoked_at";

macro_rules! impl_auth_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::auth::AuthStore for $store {
            async fn count_users(&self) -> Result<i64, StoreError> {
                Ok(sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&self.pool).await?)
            }

            async fn insert_user(&self, u: &UserRow) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "INSERT INTO users (id, email, name, role, password_hash, disabled, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&u.id).bind(&u.email).bind(&u.name).bind(&u.role).bind(&u.password_hash)
                .bind(u.disabled).bind(u.created_at).bind(u.updated_at)
                .execute(&self.pool)
                .await;
                match done {
                    Ok(_) => Ok(true),
                    Err(e) if $crate::store::auth::is_unique_violation(&e) => Ok(false),
                    Err(e) => Err(e.into()),
                }
            }

            async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, StoreError> {
                let sql = format!("SELECT {} FROM users WHERE email = $1", $crate::store::auth::USER_COLUMNS);
                Ok(sqlx::query_as(&sql).bind(email).fetch_optional(&self.pool).await?)
            }

            async fn user_by_id(&self, id: &str) -> Result<Option<UserRow>, StoreError> {
                let sql = format!("SELECT {} FROM users WHERE id = $1", $crate::store::auth::USER_COLUMNS);
                Ok(sqlx::query_as(&sql).bind(id).fetch_optional(&self.pool).await?)
            }

            async fn list_users(&self) -> Result<Vec<UserRow>, StoreError> {
                let sql = format!("SELECT {} FROM users ORDER BY email", $crate::store::auth::USER_COLUMNS);
                Ok(sqlx::query_as(&sql).fetch_all(&self.pool).await?)
            }

            async fn set_user_role(&self, id: &str, role: &str, at: i64) -> Result<bool, StoreError> {
                let done = sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE id = $3")
                    .bind(role).bind(at).bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn set_user_disabled(&self, id: &str, disabled: bool, at: i64) -> Result<bool, StoreError> {
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query("UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3")
                    .bind(disabled).bind(at).bind(id)
                    .execute(&mut *tx)
                    .await?;
                if disabled {
                    sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(done.rows_affected() == 1)
            }

            async fn insert_session(&self, s: &SessionRow) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&s.id_hash).bind(&s.user_id).bind(&s.csrf_token).bind(s.created_at).bind(s.last_seen_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn session_with_user(&self, id_hash: &str) -> Result<Option<(SessionRow, UserRow)>, StoreError> {
                let Some(s): Option<SessionRow> = sqlx::query_as(
                    "SELECT id_hash, user_id, csrf_token, created_at, last_seen_at FROM sessions WHERE id_hash = $1",
                )
                .bind(id_hash)
                .fetch_optional(&self.pool)
                .await?
                else {
                    return Ok(None);
                };
                Ok(self.user_by_id(&s.user_id).await?.map(|u| (s, u)))
            }

            async fn touch_session(&self, id_hash: &str, at: i64) -> Result<(), StoreError> {
                sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
                    .bind(at).bind(id_hash)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash).execute(&self.pool).await?;
                Ok(())
            }

            async fn prune_sessions(&self, idle_before: i64, created_before: i64) -> Result<u64, StoreError> {
                let done = sqlx::query("DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2")
                    .bind(idle_before).bind(created_before)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn insert_token(&self, t: &TokenRow) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO api_tokens (id, name, token_hash, scopes, created_by, created_at, last_used_at, revoked_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&t.id).bind(&t.name).bind(&t.token_hash).bind(&t.scopes).bind(&t.created_by)
                .bind(t.created_at).bind(t.last_used_at).bind(t.revoked_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRow>, StoreError> {
                let sql = format!("SELECT {} FROM api_tokens WHERE token_hash = $1", $crate::store::auth::TOKEN_COLUMNS);
                Ok(sqlx::query_as(&sql).bind(token_hash).fetch_optional(&self.pool).await?)
            }

            async fn touch_token(&self, id: &str, at: i64) -> Result<(), StoreError> {
                sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                    .bind(at).bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn list_tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
                let sql = format!("SELECT {} FROM api_tokens ORDER BY created_at DESC, id", $crate::store::auth::TOKEN_COLUMNS);
                Ok(sqlx::query_as(&sql).fetch_all(&self.pool).await?)
            }

            async fn revoke_token(&self, id: &str, at: i64) -> Result<bool, StoreError> {
                let done = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                    .bind(at).bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn insert_setup_token(&self, token_hash: &str, created_at: i64, expires_at: i64) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await?;
                sqlx::query("DELETE FROM setup_tokens WHERE used_at IS NULL").execute(&mut *tx).await?;
                sqlx::query("INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3)")
                    .bind(token_hash).bind(created_at).bind(expires_at)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn setup_token_usable(&self, token_hash: &str, now: i64) -> Result<bool, StoreError> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM setup_tokens
                     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
                       AND NOT EXISTS (SELECT 1 FROM users)",
                )
                .bind(token_hash).bind(now)
                .fetch_one(&self.pool)
                .await?;
                Ok(n > 0)
            }

            async fn complete_setup(&self, token_hash: &str, now: i64, u: &UserRow) -> Result<bool, StoreError> {
                let mut tx = self.pool.begin().await?;
                let used = sqlx::query(
                    "UPDATE setup_tokens SET used_at = $1
                     WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1",
                )
                .bind(now).bind(token_hash)
                .execute(&mut *tx)
                .await?;
                let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&mut *tx).await?;
                if used.rows_affected() != 1 || users != 0 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                sqlx::query(
                    "INSERT INTO users (id, email, name, role, password_hash, disabled, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&u.id).bind(&u.email).bind(&u.name).bind(&u.role).bind(&u.password_hash)
                .bind(u.disabled).bind(u.created_at).bind(u.updated_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn append_audit(&self, at: i64, actor: &str, action: &str, target: &str, detail: &str)
                -> Result<(), StoreError> {
                sqlx::query("INSERT INTO audit_log (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)")
                    .bind(at).bind(actor).bind(action).bind(target).bind(detail)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn list_audit(&self, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
                Ok(sqlx::query_as(
                    "SELECT id, at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT $1",
                )
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }
        }
    };
}

pub(crate) use impl_auth_store;
