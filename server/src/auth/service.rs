//! The account service behind both the server functions and the REST routes.

use app::{
    auth::{
        check_email, check_name, check_password, parse_scopes, AppError, AuditEntry, CreatedToken, NewUser, Principal,
        TokenView, UserRole, UserView,
    },
    services::{AuthService, NewSession, RequestMeta},
};

use super::{
    password::{dummy_hash, hash_password, verify_password},
    secret::{hash_secret, new_api_token, random_secret},
    session::SessionPolicy,
    Auth,
};
use crate::{
    error::internal,
    store::{SessionRow, StoreError, TokenRow, UserRow},
};

/// Setup links expire after a day.
pub const SETUP_LINK_TTL_MS: i64 = 24 * 3_600_000;

pub fn user_view(u: &UserRow) -> UserView {
    UserView {
        id: u.id.clone(),
        email: u.email.clone(),
        name: u.name.clone(),
        role: UserRole::parse(&u.role).unwrap_or(UserRole::Interviewer),
        disabled: u.disabled,
        created_at_ms: u.created_at,
    }
}

pub fn token_view(t: &TokenRow) -> TokenView {
    TokenView {
        id: t.id.clone(),
        name: t.name.clone(),
        scopes: t.scopes.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect(),
        created_by: t.created_by.clone(),
        created_at_ms: t.created_at,
        last_used_at_ms: t.last_used_at,
        revoked_at_ms: t.revoked_at,
    }
}

fn admin_only(who: &Principal) -> Result<(), AppError> {
    if who.is_admin() {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

impl Auth {
    async fn audit(&self, actor: &str, action: &str, target: &str, detail: &str) {
        if let Err(e) = self.store.append_audit(self.clock.now_ms(), actor, action, target, detail).await {
            tracing::error!(error = %e, action, "could not write the audit log");
        }
    }

    /// Validates and hashes a new account; the caller inserts it.
    pub async fn prepare_user(&self, user: &NewUser) -> Result<UserRow, AppError> {
        check_email(&user.email)?;
        check_name(&user.name)?;
        check_password(&user.password)?;
        let password = user.password.clone();
        let hash = self
            .argon2(move || hash_password(&password).map_err(|e| e.to_string()))
            .await?
            .map_err(|e| AppError::Server(format!("hashing failed: {e}")))?;
        let now = self.clock.now_ms();
        Ok(UserRow {
            id: uuid::Uuid::new_v4().to_string(),
            email: user.email.trim().to_lowercase(),
            name: user.name.trim().to_string(),
            role: user.role.as_str().to_string(),
            password_hash: hash,
            disabled: false,
            created_at: now,
            updated_at: now,
        })
    }

    /// Runs Argon2 work (hash or verify) on the blocking pool, at most
    /// `ARGON2_SLOTS` at once, so password checks never block an async
    /// worker and a flood of them queues here instead of starving the runtime.
    async fn argon2<T, F>(&self, work: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let permit = self
            .argon2_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| AppError::Server("password hashing is unavailable".into()))?;
        tokio::task::spawn_blocking(move || {
            // Held until the work is done, even if the caller gave up waiting.
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing task failed");
            AppError::Server("internal error; see the server log".into())
        })
    }

    /// Creates an account (admin UI, REST and the CLI).
    pub async fn add_user(&self, actor: &str, user: NewUser) -> Result<UserView, AppError> {
        let row = self.prepare_user(&user).await?;
        if !self.store.insert_user(&row).await.map_err(internal)? {
            return Err(AppError::invalid("email", format!("{} already has an account", row.email)));
        }
        self.audit(actor, "user.create", &row.email, &format!("role={}", row.role)).await;
        Ok(user_view(&row))
    }

    /// Creates an API token; the secret is returned once and never stored.
    pub async fn add_token(&self, actor: &str, name: &str, scopes: &str) -> Result<CreatedToken, AppError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(AppError::invalid("name", "enter a token name of 1 to 80 characters"));
        }
        let scopes = parse_scopes(scopes).map_err(|m| AppError::invalid("scopes", m))?;
        let secret = new_api_token();
        let row = TokenRow {
            id: uuid::Uuid::new_v4().simple().to_string()[..12].to_string(),
            name: name.to_string(),
            token_hash: hash_secret(&secret),
            scopes: scopes.join(","),
            created_by: Some(actor.to_string()),
            created_at: self.clock.now_ms(),
            last_used_at: None,
            revoked_at: None,
        };
        self.store.insert_token(&row).await.map_err(internal)?;
        self.audit(actor, "token.create", &format!("{} ({})", row.name, row.id), &row.scopes).await;
        Ok(CreatedToken { token: token_view(&row), secret })
    }

    /// A one-time link for creating the first admin, when there is no account.
    pub async fn issue_setup_link(&self) -> Result<Option<String>, StoreError> {
        if self.store.count_users().await? > 0 {
            return Ok(None);
        }
        let secret = random_secret();
        let now = self.clock.now_ms();
        self.store.insert_setup_token(&hash_secret(&secret), now, now + SETUP_LINK_TTL_MS).await?;
        Ok(Some(secret))
    }

    async fn start_session(&self, user_id: &str, meta: &RequestMeta) -> Result<NewSession, AppError> {
        let secret = random_secret();
        let now = self.clock.now_ms();
        let row = SessionRow {
            id_hash: hash_secret(&secret),
            user_id: user_id.to_string(),
            csrf_token: random_secret(),
            created_at: now,
            last_seen_at: now,
        };
        self.store.insert_session(&row).await.map_err(internal)?;
        Ok(NewSession { set_cookie: self.policy.set_cookie(&secret, meta.https) })
    }

    /// The account these credentials sign in to: `None` for a wrong email
    /// or password or a disabled account, alike.
    async fn verify_credentials(&self, email: &str, password: &str) -> Result<Option<UserRow>, AppError> {
        if password.len() > app::auth::MAX_PASSWORD_BYTES {
            return Err(AppError::invalid("password", "that password is too long"));
        }
        let user = self.store.user_by_email(email).await.map_err(internal)?;
        // Verify against a dummy hash when there is no account, so timing
        // does not reveal which emails exist.
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        let attempt = password.to_string();
        let verified = self
            .argon2(move || match stored {
                Some(hash) => verify_password(&attempt, &hash),
                None => {
                    verify_password(&attempt, dummy_hash());
                    false
                }
            })
            .await?;
        Ok(user.filter(|u| verified && !u.disabled))
    }

    fn lock_limiter(&self) -> std::sync::MutexGuard<'_, super::limiter::LoginLimiter> {
        self.limiter.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait::async_trait]
impl AuthService for Auth {
    async fn login(&self, email: &str, password: &str, meta: &RequestMeta) -> Result<NewSession, AppError> {
        let email = email.trim().to_lowercase();
        // No account has an email this check refuses, and an email of any
        // length would otherwise become a key of the login limiter.
        check_email(&email)?;
        let now = self.clock.now_ms();
        // Check and count the attempt under one lock: concurrent attempts
        // cannot all pass the check before any of them is counted. The
        // reservation stands as this attempt's failure unless undone below.
        if let Err(secs) = self.lock_limiter().reserve(&email, &meta.client_ip, now) {
            tracing::warn!(ip = %meta.client_ip, "login throttled");
            return Err(AppError::RateLimited { retry_after_secs: secs });
        }
        // The reservation stands as a failed attempt only when the password
        // was checked and was wrong; an attempt that never got that far (a
        // refused input, a database error) is given back, in one place.
        match self.verify_credentials(&email, password).await {
            Err(e) => {
                self.lock_limiter().release(&email, &meta.client_ip, now);
                Err(e)
            }
            Ok(Some(u)) => {
                self.lock_limiter().reserved_succeeded(&email, &meta.client_ip, now);
                tracing::info!(user = %u.email, "signed in");
                self.start_session(&u.id, meta).await
            }
            Ok(None) => {
                tracing::info!(ip = %meta.client_ip, "failed sign-in");
                Err(AppError::invalid("password", "wrong email or password, or the account is disabled"))
            }
        }
    }

    async fn logout(&self, meta: &RequestMeta) -> Result<String, AppError> {
        if let Some(hash) = &meta.session_hash {
            self.store.delete_session(hash).await.map_err(internal)?;
        }
        Ok(SessionPolicy::clear_cookie(meta.https))
    }

    async fn setup_token_valid(&self, token: &str) -> Result<bool, AppError> {
        self.store.setup_token_usable(&hash_secret(token), self.clock.now_ms()).await.map_err(internal)
    }

    async fn complete_setup(&self, token: &str, user: NewUser, meta: &RequestMeta) -> Result<NewSession, AppError> {
        let row = self.prepare_user(&NewUser { role: UserRole::Admin, ..user }).await?;
        let done = self.store.complete_setup(&hash_secret(token), self.clock.now_ms(), &row).await.map_err(internal)?;
        if !done {
            return Err(AppError::invalid("token", "this setup link was used already, expired, or an admin exists"));
        }
        self.audit(&row.email, "setup.complete", &row.email, "first admin created from the setup link").await;
        self.start_session(&row.id, meta).await
    }

    async fn list_users(&self, who: &Principal) -> Result<Vec<UserView>, AppError> {
        admin_only(who)?;
        Ok(self.store.list_users().await.map_err(internal)?.iter().map(user_view).collect())
    }

    async fn create_user(&self, who: &Principal, user: NewUser) -> Result<UserView, AppError> {
        admin_only(who)?;
        self.add_user(&who.actor(), user).await
    }

    async fn set_user_role(&self, who: &Principal, id: &str, role: UserRole) -> Result<(), AppError> {
        admin_only(who)?;
        if matches!(who, Principal::User(me) if me.id == id) && role != UserRole::Admin {
            return Err(AppError::invalid("role", "you cannot remove your own admin role"));
        }
        let user = self.store.user_by_id(id).await.map_err(internal)?.ok_or(AppError::NotFound)?;
        self.store.set_user_role(id, role.as_str(), self.clock.now_ms()).await.map_err(internal)?;
        self.audit(&who.actor(), "user.role", &user.email, &format!("{} -> {}", user.role, role.as_str())).await;
        Ok(())
    }

    async fn set_user_disabled(&self, who: &Principal, id: &str, disabled: bool) -> Result<(), AppError> {
        admin_only(who)?;
        if matches!(who, Principal::User(me) if me.id == id) && disabled {
            return Err(AppError::invalid("disabled", "you cannot disable your own account"));
        }
        let user = self.store.user_by_id(id).await.map_err(internal)?.ok_or(AppError::NotFound)?;
        self.store.set_user_disabled(id, disabled, self.clock.now_ms()).await.map_err(internal)?;
        let action = if disabled { "user.disable" } else { "user.enable" };
        self.audit(&who.actor(), action, &user.email, "").await;
        Ok(())
    }

    async fn list_tokens(&self, who: &Principal) -> Result<Vec<TokenView>, AppError> {
        admin_only(who)?;
        Ok(self.store.list_tokens().await.map_err(internal)?.iter().map(token_view).collect())
    }

    async fn create_token(&self, who: &Principal, name: &str, scopes: &str) -> Result<CreatedToken, AppError> {
        admin_only(who)?;
        self.add_token(&who.actor(), name, scopes).await
    }

    async fn revoke_token(&self, who: &Principal, id: &str) -> Result<(), AppError> {
        admin_only(who)?;
        if !self.store.revoke_token(id, self.clock.now_ms()).await.map_err(internal)? {
            return Err(AppError::NotFound);
        }
        self.audit(&who.actor(), "token.revoke", id, "").await;
        Ok(())
    }

    async fn note_admin_action(&self, who: &Principal, action: &str, target: &str, detail: &str) {
        self.audit(&who.actor(), action, target, detail).await;
    }

    async fn audit_log(&self, who: &Principal, limit: u32) -> Result<Vec<AuditEntry>, AppError> {
        admin_only(who)?;
        let rows = self.store.list_audit(i64::from(limit.clamp(1, 1000))).await.map_err(internal)?;
        Ok(rows
            .into_iter()
            .map(|r| AuditEntry {
                id: r.id,
                at_ms: r.at,
                actor: r.actor,
                action: r.action,
                target: r.target,
                detail: r.detail,
            })
            .collect())
    }
}
