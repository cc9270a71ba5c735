//! REST routes for workflows (DAGs of jobs).

use std::collections::{BTreeMap, HashMap};

use app::dag::{
    EdgePolicy, SubmittedWorkflow, WorkflowDetail, WorkflowEdge, WorkflowNode, WorkflowPage, WorkflowSpec,
    WorkflowSummary,
};
use axum::{extract::State, http::StatusCode, response::IntoResponse, Json};
use serde::Deserialize;

use super::{ApiJson, ApiPath, ApiQuery, ApiState};
use crate::{
    error::ApiError,
    scheduler::engine::{Engine, WorkflowError},
    store::jobs::WorkflowRow,
};

fn summary(w: &WorkflowRow, counts: BTreeMap<String, i64>) -> WorkflowSummary {
    WorkflowSummary {
        id: w.id.clone(),
        name: w.name.clone(),
        state: w.state.clone(),
        total: w.total,
        counts,
        created_at_ms: w.created_at,
        finished_at_ms: w.finished_at,
    }
}

pub async fn submit(
    State(s): State<ApiState>,
    ApiJson(spec): ApiJson<WorkflowSpec>,
) -> Result<impl IntoResponse, ApiError> {
    submit_spec(&s, &spec).await
}

/// Submits a workflow; graph errors become 4xx naming the field.
pub(super) async fn submit_spec(s: &ApiState, spec: &WorkflowSpec) -> Result<impl IntoResponse + use<>, ApiError> {
    s.engine.refuse_internal_kinds(Engine::workflow_kinds(spec))?;
    match s.engine.submit_workflow(spec).await {
        Ok((id, ids)) => {
            let jobs = spec.jobs.iter().map(|j| j.key.clone()).zip(ids).collect();
            Ok((StatusCode::CREATED, Json(SubmittedWorkflow { id, jobs })))
        }
        Err(e) => Err(workflow_error(e, spec)),
    }
}

pub(super) fn workflow_error(e: WorkflowError, spec: &WorkflowSpec) -> ApiError {
    match e {
        WorkflowError::Graph(e) => ApiError::Json {
            status: StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
            field: Some(e.field_in(spec)),
            message: e.to_string(),
        },
        WorkflowError::App(e) => e.into(),
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    /// `created_ms:id` of the last workflow of the previous page.
    cursor: Option<String>,
    limit: Option<i64>,
}

pub async fn list(State(s): State<ApiState>, ApiQuery(q): ApiQuery<ListQuery>) -> Result<impl IntoResponse, ApiError> {
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let before = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(
            c.split_once(':')
                .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id.to_string())))
                .ok_or_else(|| app::auth::AppError::invalid("cursor", "pass the next_cursor of the previous page"))?,
        ),
    };
    let rows = s.engine.store.list_workflows(before, limit).await?;
    let ids: Vec<String> = rows.iter().map(|w| w.id.clone()).collect();
    let mut counts: HashMap<String, BTreeMap<String, i64>> = HashMap::new();
    for (wf, state, n) in s.engine.store.workflow_counts(&ids).await? {
        counts.entry(wf).or_default().insert(state, n);
    }
    let next_cursor =
        (rows.len() as i64 == limit).then(|| rows.last().map(|w| format!("{}:{}", w.created_at, w.id))).flatten();
    let workflows = rows.iter().map(|w| summary(w, counts.remove(&w.id).unwrap_or_default())).collect();
    Ok(Json(WorkflowPage { workflows, next_cursor }))
}

pub async fn detail(State(s): State<ApiState>, ApiPath(id): ApiPath<String>) -> Result<impl IntoResponse, ApiError> {
    let wf = s.engine.store.get_workflow(&id).await?.ok_or(ApiError::NotFound)?;
    let jobs = s.engine.store.workflow_jobs(&id).await?;
    let edges = s.engine.store.workflow_edges(&id).await?;
    let key_of: HashMap<i64, String> =
        jobs.iter().map(|j| (j.id, j.workflow_key.clone().unwrap_or_default())).collect();
    let mut counts = BTreeMap::new();
    for j in &jobs {
        *counts.entry(j.state.clone()).or_insert(0) += 1;
    }
    Ok(Json(WorkflowDetail {
        summary: summary(&wf, counts),
        nodes: jobs
            .iter()
            .map(|j| WorkflowNode {
                job_id: j.id,
                key: j.workflow_key.clone().unwrap_or_default(),
                kind: j.kind.clone(),
                queue: j.queue.clone(),
                state: j.state.clone(),
                priority: j.priority,
            })
            .collect(),
        edges: edges
            .iter()
            .map(|e| WorkflowEdge {
                parent: key_of.get(&e.parent_id).cloned().unwrap_or_default(),
                child: key_of.get(&e.child_id).cloned().unwrap_or_default(),
                policy: if e.policy == "continue" { EdgePolicy::Continue } else { EdgePolicy::Fail },
            })
            .collect(),
    }))
}

pub async fn cancel(State(s): State<ApiState>, ApiPath(id): ApiPath<String>) -> Result<impl IntoResponse, ApiError> {
    if s.engine.store.cancel_workflow(&id, s.engine.now()).await? {
        let wf = s.engine.store.get_workflow(&id).await?.ok_or(ApiError::NotFound)?;
        Ok(Json(serde_json::json!({ "id": id, "state": wf.state })))
    } else {
        match s.engine.store.get_workflow(&id).await? {
            None => Err(ApiError::NotFound),
            Some(w) => Err(ApiError::Json {
                status: StatusCode::CONFLICT,
                field: Some("state".into()),
                message: format!("workflow {id} has already ended ({})", w.state),
            }),
        }
    }
}

pub async fn retry(State(s): State<ApiState>, ApiPath(id): ApiPath<String>) -> Result<impl IntoResponse, ApiError> {
    s.engine.store.get_workflow(&id).await?.ok_or(ApiError::NotFound)?;
    let rearmed = s.engine.store.retry_workflow(&id, s.engine.now()).await?;
    s.engine.wake().await;
    Ok(Json(serde_json::json!({ "id": id, "rearmed": rearmed })))
}
