//! REST routes for the caller, users, API tokens and the audit log.

use app::{
    auth::{NewUser, UserRole},
    services::AuthService,
};
use axum::{extract::State, http::StatusCode, response::IntoResponse, Json};
use serde::Deserialize;

use super::{ApiJson, ApiPath, ApiQuery, ApiState, Caller};
use crate::error::ApiError;

pub async fn me(Caller(who): Caller) -> impl IntoResponse {
    Json(who)
}

pub async fn list_users(State(s): State<ApiState>, Caller(who): Caller) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(s.auth.list_users(&who).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    email: String,
    name: String,
    role: UserRole,
    password: String,
}

pub async fn create_user(
    State(s): State<ApiState>,
    Caller(who): Caller,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<impl IntoResponse, ApiError> {
    let user = NewUser { email: body.email, name: body.name, role: body.role, password: body.password };
    Ok((StatusCode::CREATED, Json(s.auth.create_user(&who, user).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    role: Option<UserRole>,
    disabled: Option<bool>,
}

pub async fn update_user(
    State(s): State<ApiState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateUser>,
) -> Result<impl IntoResponse, ApiError> {
    if body.role.is_none() && body.disabled.is_none() {
        return Err(app::auth::AppError::invalid("role", "send role and/or disabled").into());
    }
    if let Some(role) = body.role {
        s.auth.set_user_role(&who, &id, role).await?;
    }
    if let Some(disabled) = body.disabled {
        s.auth.set_user_disabled(&who, &id, disabled).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_tokens(State(s): State<ApiState>, Caller(who): Caller) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(s.auth.list_tokens(&who).await?))
}

#[derive(Deserialize)]
#[serde(untagged)]
pub enum Scopes {
    List(Vec<String>),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    name: String,
    scopes: Scopes,
}

pub async fn create_token(
    State(s): State<ApiState>,
    Caller(who): Caller,
    ApiJson(body): ApiJson<CreateToken>,
) -> Result<impl IntoResponse, ApiError> {
    let scopes = match body.scopes {
        Scopes::List(v) => v.join(","),
        Scopes::Text(t) => t,
    };
    Ok((StatusCode::CREATED, Json(s.auth.create_token(&who, &body.name, &scopes).await?)))
}

pub async fn revoke_token(
    State(s): State<ApiState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    s.auth.revoke_token(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct AuditQuery {
    limit: Option<u32>,
}

pub async fn audit(
    State(s): State<ApiState>,
    Caller(who): Caller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(s.auth.audit_log(&who, q.limit.unwrap_or(100)).await?))
}
