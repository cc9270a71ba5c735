//! REST routes for workflow templates: workflows saved from the DAG editor
//! (or a script) under a name, to run again. A template passes every check a
//! submitted workflow passes before it is saved.

use app::{
    auth::AppError,
    dag::{WorkflowSpec, WorkflowTemplate},
};
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;

use super::{workflows, ApiJson, ApiPath, ApiState, Caller};
use crate::{error::ApiError, store::TemplateRow};

fn view(r: &TemplateRow) -> Result<WorkflowTemplate, ApiError> {
    let spec: WorkflowSpec =
        serde_json::from_str(&r.spec).map_err(|e| ApiError::Unavailable(format!("stored template: {e}")))?;
    Ok(WorkflowTemplate {
        id: r.id.clone(),
        name: r.name.clone(),
        spec,
        created_by: r.created_by.clone(),
        created_at_ms: r.created_at,
        updated_at_ms: r.updated_at,
    })
}

pub async fn list(State(s): State<ApiState>) -> Result<Response, ApiError> {
    let rows = s.engine.store.list_templates().await?;
    // One unreadable row (written by another version) must not hide the
    // rest; it is logged so an operator can find it by id.
    let views = rows
        .iter()
        .filter_map(|r| {
            view(r).inspect_err(|e| tracing::warn!(template = %r.id, error = %e, "skipping a stored template")).ok()
        })
        .collect::<Vec<_>>();
    Ok(Json(views).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTemplate {
    name: String,
    spec: WorkflowSpec,
}

/// Saves by name: saving the same name again replaces the spec.
pub async fn save(
    State(s): State<ApiState>,
    Caller(who): Caller,
    ApiJson(body): ApiJson<NewTemplate>,
) -> Result<Response, ApiError> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::invalid("name", "a template needs a name of 1 to 100 characters").into());
    }
    s.engine.refuse_internal_kinds(crate::scheduler::engine::Engine::workflow_kinds(&body.spec))?;
    s.engine.check_workflow(&body.spec).map_err(|e| workflows::workflow_error(e, &body.spec))?;
    let now = s.engine.now();
    let row = TemplateRow {
        id: uuid::Uuid::new_v4().simple().to_string()[..12].to_string(),
        name: name.to_string(),
        spec: serde_json::to_string(&body.spec).unwrap_or_default(),
        created_by: who.actor(),
        created_at: now,
        updated_at: now,
    };
    let saved = s.engine.store.save_template(&row).await?;
    let status = if saved.id == row.id { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(view(&saved)?)).into_response())
}

pub async fn delete(State(s): State<ApiState>, ApiPath(id): ApiPath<String>) -> Result<Response, ApiError> {
    if s.engine.store.delete_template(&id).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::NotFound)
    }
}

/// Runs a template as a new workflow.
pub async fn run(State(s): State<ApiState>, ApiPath(id): ApiPath<String>) -> Result<Response, ApiError> {
    let row = s.engine.store.get_template(&id).await?.ok_or(ApiError::NotFound)?;
    let spec = view(&row)?.spec;
    Ok(workflows::submit_spec(&s, &spec).await?.into_response())
}
