//! Accounts and access: the types both the browser and the server use, the
//! error every server function returns, and the rules that are pure logic.

use serde::{Deserialize, Serialize};

/// Roles a person signs in with. Candidates never sign in: they hold a room
/// link instead, and API clients hold tokens with scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    Admin,
    Interviewer,
}

impl UserRole {
    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::Admin => "admin",
            UserRole::Interviewer => "interviewer",
        }
    }

    pub fn parse(s: &str) -> Option<UserRole> {
        match s {
            "admin" => Some(UserRole::Admin),
            "interviewer" => Some(UserRole::Interviewer),
            _ => None,
        }
    }
}

/// The scopes an API token can carry. `admin` implies every other one.
pub const SCOPES: &[(&str, &str)] = &[
    ("admin", "everything an admin may do"),
    ("jobs:read", "read jobs, queues and the dead-letter queue"),
    ("jobs:write", "enqueue, cancel and retry jobs"),
    ("workflows:read", "read workflows and schedules"),
    ("workflows:write", "submit, cancel and retry workflows; manage schedules"),
    ("metrics:read", "scrape /metrics"),
    ("interviews:read", "read interviews, transcripts, results and search them"),
    ("interviews:write", "create interviews, append segments, end them"),
];

/// What an interviewer may do without being an admin, expressed as scopes so
/// one check covers people and tokens. Empty until interviews exist: then
/// interviewers get read access to their own interviews' jobs.
pub const INTERVIEWER_SCOPES: &[&str] = &["interviews:read", "interviews:write"];

/// Parses a comma- or space-separated scope list, rejecting unknown names.
pub fn parse_scopes(text: &str) -> Result<Vec<String>, String> {
    let mut scopes: Vec<String> = Vec::new();
    for s in text.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()) {
        if !SCOPES.iter().any(|(name, _)| *name == s) {
            let known: Vec<&str> = SCOPES.iter().map(|(n, _)| *n).collect();
            return Err(format!("unknown scope {s:?}; known scopes: {}", known.join(", ")));
        }
        if !scopes.iter().any(|x| x == s) {
            scopes.push(s.to_string());
        }
    }
    if scopes.is_empty() {
        return Err("at least one scope is required".into());
    }
    Ok(scopes)
}

/// The signed-in person, as pages show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: UserRole,
}

/// Who is making a request: a person with a session, or an API token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Principal {
    User(Me),
    Token { id: String, name: String, scopes: Vec<String> },
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        match self {
            Principal::User(me) => me.role == UserRole::Admin,
            Principal::Token { scopes, .. } => scopes.iter().any(|s| s == "admin"),
        }
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        if self.is_admin() {
            return true;
        }
        match self {
            Principal::User(_) => INTERVIEWER_SCOPES.contains(&scope),
            Principal::Token { scopes, .. } => scopes.iter().any(|s| s == scope),
        }
    }

    /// The name the audit log records.
    pub fn actor(&self) -> String {
        match self {
            Principal::User(me) => me.email.clone(),
            Principal::Token { name, id, .. } => format!("token:{name} ({id})"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: UserRole,
    pub disabled: bool,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: UserRole,
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_by: Option<String>,
    pub created_at_ms: i64,
    pub last_used_at_ms: Option<i64>,
    pub revoked_at_ms: Option<i64>,
}

/// A token as created: the secret is shown this once and never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub token: TokenView,
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

pub const MIN_PASSWORD_CHARS: usize = 10;
/// Argon2 on a huge input is a cheap way to burn our CPU: cap it.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Field checks shared by the forms and the server.
pub fn check_email(email: &str) -> Result<(), AppError> {
    let e = email.trim();
    let ok = e.len() <= 254
        && e.split_once('@').is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !b.starts_with('.'));
    if ok && !e.contains(char::is_whitespace) {
        Ok(())
    } else {
        Err(AppError::invalid("email", "enter an email address such as ada@example.com"))
    }
}

pub fn check_password(password: &str) -> Result<(), AppError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AppError::invalid("password", format!("use at least {MIN_PASSWORD_CHARS} characters")));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AppError::invalid("password", format!("use at most {MAX_PASSWORD_BYTES} bytes")));
    }
    Ok(())
}

pub fn check_name(name: &str) -> Result<(), AppError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 120 {
        return Err(AppError::invalid("name", "enter a name of 1 to 120 characters"));
    }
    Ok(())
}

/// Where to go after signing in: only a local path, so the login form can't be
/// turned into an open redirect.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') && !p.starts_with("/login") => {
            p.to_string()
        }
        _ => "/".to_string(),
    }
}

/// The error every server function returns, so the browser can show the
/// message and point at the field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("sign in first")]
    Unauthorized,
    #[error("your role does not allow this")]
    Forbidden,
    #[error("{message}")]
    Invalid { field: String, message: String },
    #[error("too many attempts; try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Server(String),
}

impl AppError {
    pub fn invalid(field: &str, message: impl Into<String>) -> AppError {
        AppError::Invalid { field: field.to_string(), message: message.into() }
    }

    /// The same error about `field`: a shared check names its own field, and
    /// the caller knows where the value came from (`jobs[2].queue`, the
    /// route's `name`, a query's `q`).
    pub fn at_field(self, field: impl Into<String>) -> AppError {
        match self {
            AppError::Invalid { message, .. } => AppError::Invalid { field: field.into(), message },
            other => other,
        }
    }

    /// PostgreSQL's text cannot hold a NUL character, so no stored or
    /// searched string may carry one: it is the field's error here, not a
    /// database failure later (SQLite would take it, so the drivers agree).
    pub fn refuse_nul(field: &str, value: &str) -> Result<(), AppError> {
        if value.contains('\0') {
            return Err(AppError::invalid(field, format!("{field} must not contain a NUL character")));
        }
        Ok(())
    }

    /// The HTTP status a REST route answers with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthorized => 401,
            AppError::Forbidden => 403,
            AppError::Invalid { .. } => 422,
            AppError::RateLimited { .. } => 429,
            AppError::NotFound => 404,
            AppError::Server(_) => 500,
        }
    }
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = crate::wire::TextJsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr as E;
        match value {
            // The request itself was malformed: the caller's fault, not ours.
            // Arguments in JSON name their field (`crate::wire`).
            E::Deserialization(m) => match serde_json::from_str::<AppError>(&m) {
                Ok(e @ AppError::Invalid { .. }) => e,
                _ => AppError::invalid("request", m),
            },
            E::Args(m) => AppError::invalid("request", m),
            E::MissingArg(m) => AppError::invalid(&m, format!("{m} is required")),
            other => AppError::Server(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: UserRole) -> Principal {
        Principal::User(Me { id: "u".into(), email: "a@b.co".into(), name: "A".into(), role })
    }

    #[test]
    fn scopes_parse_strictly() {
        assert_eq!(parse_scopes("jobs:read, jobs:write jobs:read").unwrap(), vec!["jobs:read", "jobs:write"]);
        assert!(parse_scopes("jobs:delete").unwrap_err().contains("jobs:delete"));
        assert!(parse_scopes(" , ").is_err());
    }

    #[test]
    fn admin_scope_implies_all_and_interviewers_only_read_jobs() {
        let admin_token = Principal::Token { id: "t".into(), name: "ci".into(), scopes: vec!["admin".into()] };
        let writer = Principal::Token { id: "t".into(), name: "svc".into(), scopes: vec!["jobs:write".into()] };
        assert!(admin_token.is_admin() && admin_token.has_scope("workflows:write"));
        assert!(writer.has_scope("jobs:write") && !writer.has_scope("jobs:read") && !writer.is_admin());
        assert!(user(UserRole::Admin).has_scope("metrics:read"));
        let interviewer = user(UserRole::Interviewer);
        assert!(!interviewer.has_scope("jobs:write") && !interviewer.has_scope("jobs:read") && !interviewer.is_admin());
        // Interviewers hold the interview scopes; which interviews they reach is checked per interview.
        assert!(interviewer.has_scope("interviews:read") && interviewer.has_scope("interviews:write"));
    }

    #[test]
    fn next_is_always_a_local_path() {
        assert_eq!(safe_next(Some("/jobs?state=dead")), "/jobs?state=dead");
        for bad in ["//evil.example", "https://evil.example", "/\\evil", "/login?next=/x", ""] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn field_checks_name_the_field() {
        assert!(check_email("ada@example.com").is_ok());
        for bad in ["ada", "@example.com", "ada@", "ada@localhost", "a da@example.com"] {
            assert!(matches!(check_email(bad), Err(AppError::Invalid { ref field, .. }) if field == "email"), "{bad}");
        }
        assert!(check_password("short").is_err());
        assert!(check_password(&"x".repeat(2000)).is_err());
        assert!(check_password("long enough pw").is_ok());
    }
}
