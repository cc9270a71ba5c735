//! Server-only: the services the server functions call. The `server` crate
//! implements them over its store and provides them as Leptos context, so
//! server functions here and REST routes there share one implementation.

use std::sync::Arc;

use leptos::prelude::*;

use crate::auth::{AppError, AuditEntry, CreatedToken, Me, NewUser, Principal, TokenView, UserRole, UserView};
use crate::interviews::{
    AskAnswer, CandidateLink, CreatedInterview, InterviewDetail, InterviewView, LiveDetail, NewInterview, NewSegment,
    Recommendation, RoomView, RubricTemplate, SearchHit, Segment, Suggestion,
};

/// Facts about the request the auth middleware established.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub client_ip: String,
    /// Served over TLS (directly or behind a proxy that says so).
    pub https: bool,
    /// Hash of the session secret, when the request carried a valid session.
    pub session_hash: Option<String>,
}

/// The CSP nonce the middleware put in the response header.
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

/// A new session: the secret travels only in this `Set-Cookie` value.
pub struct NewSession {
    pub set_cookie: String,
}

#[async_trait::async_trait]
pub trait AuthService: Send + Sync + 'static {
    async fn login(&self, email: &str, password: &str, meta: &RequestMeta) -> Result<NewSession, AppError>;
    /// Ends the session; returns the `Set-Cookie` value that clears the cookie.
    async fn logout(&self, meta: &RequestMeta) -> Result<String, AppError>;
    async fn setup_token_valid(&self, token: &str) -> Result<bool, AppError>;
    async fn complete_setup(&self, token: &str, user: NewUser, meta: &RequestMeta) -> Result<NewSession, AppError>;

    async fn list_users(&self, who: &Principal) -> Result<Vec<UserView>, AppError>;
    async fn create_user(&self, who: &Principal, user: NewUser) -> Result<UserView, AppError>;
    async fn set_user_role(&self, who: &Principal, id: &str, role: UserRole) -> Result<(), AppError>;
    async fn set_user_disabled(&self, who: &Principal, id: &str, disabled: bool) -> Result<(), AppError>;

    async fn list_tokens(&self, who: &Principal) -> Result<Vec<TokenView>, AppError>;
    async fn create_token(&self, who: &Principal, name: &str, scopes: &str) -> Result<CreatedToken, AppError>;
    async fn revoke_token(&self, who: &Principal, id: &str) -> Result<(), AppError>;

    async fn audit_log(&self, who: &Principal, limit: u32) -> Result<Vec<AuditEntry>, AppError>;

    /// Records an admin action taken elsewhere (for example a forced breaker).
    async fn note_admin_action(&self, who: &Principal, action: &str, target: &str, detail: &str);
}

/// The LLM engine's health and overrides, for the Providers page.
pub trait LlmService: Send + Sync + 'static {
    fn health(&self) -> Vec<crate::providers::ProviderHealth>;
    /// Some(true) forces open, Some(false) closed, None automatic; false when unknown.
    fn force(&self, provider: &str, open: Option<bool>) -> bool;
}

/// MeetMind's interviews. Every method checks that the caller may reach the
/// interview (owner, shared with, admin, or a token with the scope); the
/// room methods check the candidate's token instead.
#[async_trait::async_trait]
pub trait InterviewService: Send + Sync + 'static {
    fn templates(&self) -> Vec<RubricTemplate>;
    async fn create(&self, who: &Principal, new: NewInterview) -> Result<CreatedInterview, AppError>;
    async fn list(&self, who: &Principal, text: Option<String>) -> Result<Vec<InterviewView>, AppError>;
    async fn detail(&self, who: &Principal, id: &str) -> Result<InterviewDetail, AppError>;
    /// The live screen's part of `detail`: no result is read, only whether
    /// the report exists.
    async fn live_detail(&self, who: &Principal, id: &str) -> Result<LiveDetail, AppError>;
    async fn transcript(&self, who: &Principal, id: &str) -> Result<Vec<Segment>, AppError>;
    async fn suggestions(&self, who: &Principal, id: &str) -> Result<Vec<Suggestion>, AppError>;
    async fn append(&self, who: &Principal, id: &str, segments: Vec<NewSegment>) -> Result<Vec<Segment>, AppError>;
    async fn start(&self, who: &Principal, id: &str) -> Result<InterviewView, AppError>;
    async fn end(&self, who: &Principal, id: &str) -> Result<InterviewView, AppError>;
    /// Pauses or resumes a live interview: no suggestions or AI turns while paused.
    async fn pause(&self, who: &Principal, id: &str, paused: bool) -> Result<InterviewView, AppError>;
    /// Ends the candidate's room link now (a new one can still be issued).
    async fn revoke_link(&self, who: &Principal, id: &str) -> Result<(), AppError>;
    async fn cancel(&self, who: &Principal, id: &str) -> Result<InterviewView, AppError>;
    async fn decide(&self, who: &Principal, id: &str, decision: Recommendation, note: String) -> Result<(), AppError>;
    async fn new_link(&self, who: &Principal, id: &str) -> Result<CandidateLink, AppError>;
    async fn search(&self, who: &Principal, id: Option<&str>, query: &str) -> Result<Vec<SearchHit>, AppError>;
    async fn ask(&self, who: &Principal, id: &str, question: &str) -> Result<AskAnswer, AppError>;
    /// The report as Markdown or HTML, once the workflow has written it.
    async fn report(&self, who: &Principal, id: &str, markdown: bool) -> Result<String, AppError>;
    /// Admin only: everything held about the candidate of this interview.
    async fn export(&self, who: &Principal, id: &str) -> Result<serde_json::Value, AppError>;
    /// Admin only: deletes the interview's data and scrubs its jobs' payloads.
    async fn delete(&self, who: &Principal, id: &str) -> Result<(), AppError>;

    async fn room(&self, token: &str) -> Result<RoomView, AppError>;
    async fn room_consent(&self, token: &str) -> Result<RoomView, AppError>;
    async fn room_append(&self, token: &str, segments: Vec<NewSegment>) -> Result<Vec<Segment>, AppError>;
}

pub fn interview_service() -> Result<Arc<dyn InterviewService>, AppError> {
    use_context::<Arc<dyn InterviewService>>().ok_or_else(|| AppError::Server("interview service missing".into()))
}

/// The caller, or 401.
pub fn require_principal() -> Result<Principal, AppError> {
    principal().ok_or(AppError::Unauthorized)
}

pub fn llm_service() -> Result<Arc<dyn LlmService>, AppError> {
    use_context::<Arc<dyn LlmService>>().ok_or_else(|| AppError::Server("LLM service missing".into()))
}

pub fn auth_service() -> Result<Arc<dyn AuthService>, AppError> {
    use_context::<Arc<dyn AuthService>>().ok_or_else(|| AppError::Server("auth service missing".into()))
}

fn parts() -> Result<http::request::Parts, AppError> {
    use_context::<http::request::Parts>().ok_or_else(|| AppError::Server("request context missing".into()))
}

pub fn request_meta() -> Result<RequestMeta, AppError> {
    Ok(parts()?.extensions.get::<RequestMeta>().cloned().unwrap_or_default())
}

/// The caller, as the middleware authenticated it.
pub fn principal() -> Option<Principal> {
    parts().ok()?.extensions.get::<Principal>().cloned()
}

/// The middleware already enforced the route table; this second check keeps
/// a server function safe even if it were mounted elsewhere.
pub fn require_admin() -> Result<Principal, AppError> {
    let p = principal().ok_or(AppError::Unauthorized)?;
    if p.is_admin() {
        Ok(p)
    } else {
        Err(AppError::Forbidden)
    }
}

pub fn require_user() -> Result<Me, AppError> {
    match principal() {
        Some(Principal::User(me)) => Ok(me),
        Some(_) => Err(AppError::Forbidden),
        None => Err(AppError::Unauthorized),
    }
}

/// Sets a response header from inside a server function.
pub fn set_cookie(value: &str) {
    if let (Some(resp), Ok(v)) = (use_context::<leptos_axum::ResponseOptions>(), http::HeaderValue::from_str(value)) {
        resp.append_header(http::header::SET_COOKIE, v);
    }
}
