//! `meetmind user create` and `meetmind token create`: bootstrap and
//! automation without a browser.

use std::io::{BufRead, IsTerminal};

use app::auth::{AppError, NewUser, UserRole};

use crate::{auth::Auth, config::Config, store};

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("{0}")]
    App(#[from] AppError),
    #[error("cannot read the password: {0}")]
    Io(#[from] std::io::Error),
    #[error("the passwords do not match")]
    Mismatch,
}

async fn open(config: &Config) -> Result<std::sync::Arc<Auth>, CliError> {
    let store = store::connect(config).await?;
    store.migrate().await?;
    // Expiry times by the database's clock, as the serving nodes judge them
    // (one reading: the command is short).
    let (_, once) = tokio::sync::watch::channel(false);
    let clock = crate::clock_sync::database_clock(store.clone(), once).await;
    Ok(Auth::new(store, clock, config.secure_cookies))
}

fn read_password() -> Result<String, CliError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let first = rpassword::prompt_password("Password (at least 10 characters): ")?;
        let again = rpassword::prompt_password("Again: ")?;
        if first != again {
            return Err(CliError::Mismatch);
        }
        Ok(first)
    } else {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}

/// Returns a one-line confirmation for stderr.
pub async fn create_user(config: &Config, email: &str, name: Option<String>, admin: bool) -> Result<String, CliError> {
    app::auth::check_email(email)?;
    let password = read_password()?;
    let auth = open(config).await?;
    let name = name.unwrap_or_else(|| email.split('@').next().unwrap_or(email).to_string());
    let role = if admin { UserRole::Admin } else { UserRole::Interviewer };
    let user = auth.add_user("cli", NewUser { email: email.to_string(), name, role, password }).await?;
    auth.store.close().await;
    Ok(format!("created {} ({})", user.email, user.role.as_str()))
}

/// Returns the token's secret, for stdout.
pub async fn create_token(config: &Config, name: &str, scopes: &str, admin: bool) -> Result<String, CliError> {
    let scopes = match (admin, scopes.trim().is_empty()) {
        (true, true) => "admin".to_string(),
        (true, false) => format!("admin,{scopes}"),
        (false, _) => scopes.to_string(),
    };
    let auth = open(config).await?;
    let created = auth.add_token("cli", name, &scopes).await?;
    auth.store.close().await;
    Ok(created.secret)
}
