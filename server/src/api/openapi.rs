//! The OpenAPI 3.1 document for `/api/v1`, served at `/api/v1/openapi.json`.
//! A test checks that it lists exactly the REST routes of the access table.

use serde_json::{json, Map, Value};

struct Op {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    body: Option<&'static str>,
    ok: (&'static str, &'static str),
}

const fn op(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    body: Option<&'static str>,
    ok: (&'static str, &'static str),
) -> Op {
    Op { method, path, summary, body, ok }
}

const OPS: &[Op] = &[
    op("GET", "/api/v1/openapi.json", "This document", None, ("200", "")),
    op("GET", "/api/v1/me", "The caller: a user or a token with its scopes", None, ("200", "")),
    op("GET", "/api/v1/users", "List accounts", None, ("200", "")),
    op("POST", "/api/v1/users", "Create an account", Some("NewUser"), ("201", "")),
    op("PATCH", "/api/v1/users/{id}", "Change an account's role or disable it", Some("UserPatch"), ("204", "")),
    op("GET", "/api/v1/tokens", "List API tokens (never their secrets)", None, ("200", "")),
    op("POST", "/api/v1/tokens", "Create an API token; the secret is in this reply only", Some("NewToken"), ("201", "")),
    op("DELETE", "/api/v1/tokens/{id}", "Revoke a token", None, ("204", "")),
    op("GET", "/api/v1/audit", "The audit log of admin actions", None, ("200", "")),
    op("GET", "/api/v1/jobs", "List jobs: filters state, queue, kind, q (text); cursor pagination", None, ("200", "JobPage")),
    op("POST", "/api/v1/jobs", "Enqueue one job (object) or up to 10,000 (array)", Some("NewJobOrBatch"), ("201", "Enqueued")),
    op("GET", "/api/v1/jobs/{id}", "A job with its attempts", None, ("200", "JobDetail")),
    op("POST", "/api/v1/jobs/{id}/cancel", "Cancel a job that has not ended", None, ("200", "Job")),
    op("POST", "/api/v1/jobs/{id}/retry", "Run a dead, cancelled or retrying job again now", None, ("200", "Job")),
    op("GET", "/api/v1/dlq", "The dead-letter queue: filters queue, kind, q; cursor pagination", None, ("200", "JobPage")),
    op("POST", "/api/v1/dlq/requeue", "Requeue every dead job matching a filter", Some("DlqFilter"), ("200", "")),
    op("POST", "/api/v1/dlq/purge", "Delete every dead job matching a filter", Some("DlqFilter"), ("200", "")),
    op("DELETE", "/api/v1/dlq/{id}", "Delete one dead job", None, ("204", "")),
    op("POST", "/api/v1/dlq/{id}/requeue", "Requeue one dead job", None, ("200", "Job")),
    op("GET", "/api/v1/workflows", "Workflows, newest first, with job counts per state; cursor pagination", None, ("200", "")),
    op("POST", "/api/v1/workflows", "Submit a DAG of jobs in one transaction; 422 names a cycle's path, an unknown or duplicate key; 413 over 10,000 jobs", Some("WorkflowSpec"), ("201", "")),
    op("GET", "/api/v1/workflows/{id}", "A workflow's nodes (with states and inherited priorities) and edges", None, ("200", "")),
    op("POST", "/api/v1/workflows/{id}/cancel", "Cancel every job that has not ended", None, ("200", "")),
    op("POST", "/api/v1/workflows/{id}/retry", "Re-run what failed and re-arm what sits below it", None, ("200", "")),
    op("GET", "/api/v1/schedules", "Cron schedules", None, ("200", "")),
    op("GET", "/api/v1/schedules/preview", "The next 5 fire times of cron (and timezone, default UTC); 422 names the bad field", None, ("200", "")),
    op("GET", "/api/v1/workflow-templates", "Saved workflow templates, by name", None, ("200", "")),
    op("POST", "/api/v1/workflow-templates", "Save {name, spec} after every workflow check; the same name replaces it", Some("NewTemplate"), ("201", "")),
    op("DELETE", "/api/v1/workflow-templates/{id}", "Delete a template", None, ("204", "")),
    op("POST", "/api/v1/workflow-templates/{id}/run", "Run a template as a new workflow", None, ("201", "")),
    op("POST", "/api/v1/schedules", "Create a schedule: {name, cron (5 or 6 fields), timezone (IANA), job}; 422 quotes the parser", Some("NewSchedule"), ("201", "")),
    op("DELETE", "/api/v1/schedules/{id}", "Delete a schedule", None, ("204", "")),
    op("POST", "/api/v1/schedules/{id}/pause", "Pause a schedule", None, ("200", "")),
    op("POST", "/api/v1/schedules/{id}/resume", "Resume a schedule from now", None, ("200", "")),
    op("GET", "/api/v1/starvation", "Recent starvation events: queue, job, wait, cause (saturated, inversion, no_worker) and the aging applied", None, ("200", "")),
    op("GET", "/api/v1/providers", "Each LLM provider: breaker state, error rate, p50/p95 latency, last error", None, ("200", "")),
    op("GET", "/api/v1/providers/calls", "Recent LLM calls: purpose, tier, attempts with errors, latency, tokens, degraded", None, ("200", "")),
    op("POST", "/api/v1/providers/{name}/breaker", "Force a provider's breaker: {state: open|closed|auto}", Some("BreakerForce"), ("200", "")),
    op("GET", "/api/v1/queues", "Queues with their settings and counts per state", None, ("200", "")),
    op("PATCH", "/api/v1/queues/{name}", "Change a queue's concurrency, pause, retry policy or starvation_after_ms", Some("QueuePatch"), ("200", "Queue")),
    op("POST", "/api/v1/queues/{name}/pause", "Pause a queue", None, ("200", "Queue")),
    op("POST", "/api/v1/queues/{name}/resume", "Resume a queue", None, ("200", "Queue")),
    op("GET", "/api/v1/events", "Server-Sent Events for the dashboard: job (filters queue, kind, workflow; types=stats for aggregates only) and stats once a second; Last-Event-ID resumes", None, ("200", "")),
    op("GET", "/api/v1/rubric-templates", "Built-in rubric templates with question plans, to copy into interviews", None, ("200", "")),
    op("GET", "/api/v1/interviews", "Interviews the caller may see, newest first; q matches title, role or candidate", None, ("200", "")),
    op("POST", "/api/v1/interviews", "Create an interview (from a template or a rubric); the candidate's room link is in this reply only", Some("NewInterview"), ("201", "")),
    op("GET", "/api/v1/interviews/{id}", "State, summary, scorecard, insights (when ready) and the workflow's progress", None, ("200", "")),
    op("DELETE", "/api/v1/interviews/{id}", "Delete the candidate's data: transcript, results, suggestions; job payloads scrubbed", None, ("204", "")),
    op("GET", "/api/v1/interviews/{id}/export", "Everything held about the candidate of this interview, as JSON", None, ("200", "")),
    op("GET", "/api/v1/interviews/{id}/segments", "The transcript, ordered by offset", None, ("200", "")),
    op("POST", "/api/v1/interviews/{id}/segments", "Append up to 500 segments; idempotent by client_id; 422 over 10,000 characters or when not live", Some("Segments"), ("200", "")),
    op("GET", "/api/v1/interviews/{id}/suggestions", "Live suggestions, newest first, each with its tier and degraded flag", None, ("200", "")),
    op("GET", "/api/v1/interviews/{id}/events", "Server-Sent Events: segment, suggestion_token, suggestion, state, workflow", None, ("200", "")),
    op("POST", "/api/v1/interviews/{id}/start", "Start a scheduled interview (an AI-led one opens with its first question)", None, ("200", "")),
    op("POST", "/api/v1/interviews/{id}/end", "End the interview and start the post-interview workflow", None, ("200", "")),
    op("POST", "/api/v1/interviews/{id}/cancel", "Cancel a scheduled or live interview", None, ("200", "")),
    op("POST", "/api/v1/interviews/{id}/decision", "Record the interviewer's hiring decision, separate from the AI's recommendation", Some("Decision"), ("204", "")),
    op("POST", "/api/v1/interviews/{id}/link", "A new candidate room link (the old one stops working)", None, ("200", "")),
    op("DELETE", "/api/v1/interviews/{id}/link", "End the candidate's room link now; the room then refuses it as expired", None, ("204", "")),
    op("POST", "/api/v1/interviews/{id}/pause", "Pause a live interview: no suggestions or AI turns until it resumes", None, ("200", "")),
    op("POST", "/api/v1/interviews/{id}/resume", "Resume a paused interview; answers given meanwhile get their turn", None, ("200", "")),
    op("GET", "/api/v1/interviews/{id}/search", "Moments matching q (BM25, stemming, typo tolerance) with context", None, ("200", "")),
    op("POST", "/api/v1/interviews/{id}/ask", "A question answered from the transcript only, with citations", Some("Ask"), ("200", "")),
    op("GET", "/api/v1/interviews/{id}/report", "The report: format=html (default) or md", None, ("200", "")),
    op("GET", "/api/v1/search", "Moments matching q across every interview the caller may see", None, ("200", "")),
    op("GET", "/api/v1/room/{token}", "The candidate's room (no credentials but its token)", None, ("200", "")),
    op("POST", "/api/v1/room/{token}/consent", "The candidate accepts the consent notice (an AI-led interview starts)", None, ("200", "")),
    op("POST", "/api/v1/room/{token}/segments", "The candidate's answers; idempotent by client_id", Some("Segments"), ("200", "")),
    op("GET", "/api/v1/room/{token}/events", "Server-Sent Events for the candidate: the AI's questions and their own segments", None, ("200", "")),
];

fn schemas() -> Value {
    let job_state = json!({"type": "string", "enum": ["scheduled", "blocked", "available", "running", "retrying", "succeeded", "dead", "cancelled", "upstream_failed"]});
    json!({
        "NewInterview": {"type": "object", "required": ["title", "role", "candidate_name", "candidate_email"], "additionalProperties": false, "properties": {
            "title": {"type": "string"}, "role": {"type": "string"}, "candidate_name": {"type": "string"},
            "candidate_email": {"type": "string"}, "mode": {"type": "string", "enum": ["assist", "ai_led"], "default": "assist"},
            "template": {"type": "string", "description": "backend_engineer, product_manager or customer_support"},
            "rubric": {"type": "object", "description": "{competencies: [{key, name, description, levels: [4 strings]}]}"},
            "plan": {"type": "array", "items": {"type": "object", "properties": {"text": {"type": "string"}, "competency": {"type": "string"}}}},
            "scheduled_at": {"type": "integer"}, "duration_min": {"type": "integer", "default": 45},
            "shared_with": {"type": "array", "items": {"type": "string"}}, "consent_notice": {"type": "string"},
            "owner_email": {"type": "string", "description": "required from API tokens"}}},
        "Segments": {"type": "object", "required": ["segments"], "properties": {"segments": {"type": "array", "maxItems": 500, "items": {
            "type": "object", "required": ["client_id", "speaker", "text", "start_ms", "end_ms"], "properties": {
            "client_id": {"type": "string"}, "speaker": {"type": "string", "enum": ["interviewer", "candidate", "ai"]},
            "text": {"type": "string", "maxLength": 10000}, "start_ms": {"type": "integer"}, "end_ms": {"type": "integer"}}}}}},
        "Decision": {"type": "object", "required": ["decision"], "properties": {
            "decision": {"type": "string", "enum": ["strong_no", "no", "yes", "strong_yes"]}, "note": {"type": "string"}}},
        "Ask": {"type": "object", "required": ["question"], "properties": {"question": {"type": "string"}}},
        "Error": {"type": "object", "required": ["error"], "properties": {
            "error": {"type": "string"}, "field": {"type": "string", "description": "the field at fault"},
            "retry_after_secs": {"type": "integer"}}},
        "NewJob": {"type": "object", "required": ["kind"], "additionalProperties": false, "properties": {
            "kind": {"type": "string", "description": "a registered handler: noop, sleep, fail, http.request"},
            "payload": {"description": "JSON, 256 KiB at most"},
            "queue": {"type": "string", "default": "default"},
            "priority": {"type": "integer", "minimum": 0, "maximum": 9, "default": 5, "description": "0 runs first"},
            "run_at": {"type": "integer", "description": "Unix ms; absent means now"},
            "max_attempts": {"type": "integer", "minimum": 1, "maximum": 100, "default": 4},
            "timeout_ms": {"type": "integer", "minimum": 1},
            "retry_delays_ms": {"type": "array", "items": {"type": "integer"}, "description": "this job's retry delays, overriding its queue's (default 1000, 5000, 25000, each ×[0.8, 1.2])"},
            "idempotency_key": {"type": "string", "description": "a second submission returns the first job"}}},
        "NewJobOrBatch": {"oneOf": [{"$ref": "#/components/schemas/NewJob"},
            {"type": "array", "maxItems": 10000, "items": {"$ref": "#/components/schemas/NewJob"}}]},
        "Enqueued": {"description": "an object {id, state, existing} for one job, or {jobs: [...]} for a batch, in input order"},
        "JobState": job_state,
        "Job": {"type": "object", "properties": {
            "id": {"type": "integer"}, "queue": {"type": "string"}, "kind": {"type": "string"}, "payload": {},
            "priority": {"type": "integer"}, "state": {"$ref": "#/components/schemas/JobState"},
            "run_at_ms": {"type": "integer"}, "attempt": {"type": "integer"}, "max_attempts": {"type": "integer"},
            "last_error": {"type": ["string", "null"]}, "lease_owner": {"type": ["string", "null"]},
            "workflow_id": {"type": ["string", "null"]}, "idempotency_key": {"type": ["string", "null"]},
            "created_at_ms": {"type": "integer"}, "finished_at_ms": {"type": ["integer", "null"]}}},
        "JobDetail": {"allOf": [{"$ref": "#/components/schemas/Job"}, {"type": "object", "properties": {
            "attempts": {"type": "array", "items": {"type": "object", "properties": {
                "attempt": {"type": "integer"}, "node": {"type": "string"}, "started_at_ms": {"type": "integer"},
                "finished_at_ms": {"type": "integer"}, "outcome": {"type": "string", "enum": ["succeeded", "failed", "timeout", "lost"]},
                "error": {"type": ["string", "null"]}}}}}}]},
        "JobPage": {"type": "object", "properties": {
            "jobs": {"type": "array", "items": {"$ref": "#/components/schemas/Job"}},
            "next_cursor": {"type": ["integer", "null"], "description": "pass as cursor for the next page"}}},
        "DlqFilter": {"type": "object", "additionalProperties": false, "properties": {
            "queue": {"type": "string"}, "kind": {"type": "string"}, "q": {"type": "string"},
            "ids": {"type": "array", "maxItems": 10000, "items": {"type": "integer"}}}},
        "Queue": {"type": "object", "properties": {
            "name": {"type": "string"}, "concurrency": {"type": "integer", "description": "0 = no limit"},
            "paused": {"type": "boolean"}, "max_attempts": {"type": ["integer", "null"]},
            "retry_delays_ms": {"type": ["array", "null"], "items": {"type": "integer"}},
            "starvation_after_ms": {"type": ["integer", "null"]}}},
        "QueuePatch": {"type": "object", "additionalProperties": false, "description": "absent fields stay; null resets to the default",
            "properties": {"concurrency": {"type": "integer"}, "paused": {"type": "boolean"},
            "max_attempts": {"type": ["integer", "null"]}, "retry_delays_ms": {"type": ["array", "null"]},
            "starvation_after_ms": {"type": ["integer", "null"]}}},
        "WorkflowSpec": {"type": "object", "required": ["name", "jobs"], "properties": {
            "name": {"type": "string"},
            "jobs": {"type": "array", "maxItems": 10000, "items": {"type": "object", "required": ["key", "kind"], "properties": {
                "key": {"type": "string"}, "kind": {"type": "string"}, "payload": {}, "queue": {"type": "string"},
                "priority": {"type": "integer", "minimum": 0, "maximum": 9},
                "depends_on": {"type": "array", "items": {"type": "string"}},
                "on_parent_failure": {"type": "string", "enum": ["fail", "continue"], "default": "fail"}}}}}},
        "NewTemplate": {"type": "object", "required": ["name", "spec"], "additionalProperties": false, "properties": {
            "name": {"type": "string", "maxLength": 100}, "spec": {"$ref": "#/components/schemas/WorkflowSpec"}}},
        "NewSchedule": {"type": "object", "required": ["name", "cron", "job"], "properties": {
            "name": {"type": "string"}, "cron": {"type": "string", "examples": ["0 9 * * 1-5"]},
            "timezone": {"type": "string", "default": "UTC"}, "job": {"$ref": "#/components/schemas/NewJob"}}},
        "BreakerForce": {"type": "object", "required": ["state"], "properties": {"state": {"type": "string", "enum": ["open", "closed", "auto"]}}},
        "NewUser": {"type": "object", "required": ["email", "name", "role", "password"], "properties": {
            "email": {"type": "string"}, "name": {"type": "string"},
            "role": {"type": "string", "enum": ["admin", "interviewer"]}, "password": {"type": "string", "minLength": 10}}},
        "UserPatch": {"type": "object", "properties": {"role": {"type": "string"}, "disabled": {"type": "boolean"}}},
        "NewToken": {"type": "object", "required": ["name", "scopes"], "properties": {
            "name": {"type": "string"}, "scopes": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}}},
    })
}

pub fn document() -> Value {
    let mut paths = Map::new();
    for o in OPS {
        let entry = paths.entry(o.path.to_string()).or_insert_with(|| json!({}));
        let rule = crate::auth::rules::exact(o.method, o.path);
        let access = match rule.map(|r| r.need) {
            Some(crate::auth::rules::Need::Admin) => "admin (user or token with the admin scope)".to_string(),
            Some(crate::auth::rules::Need::Scope(s)) => format!("scope {s} (admins hold every scope)"),
            Some(crate::auth::rules::Need::Authenticated) => "any signed-in user or token".to_string(),
            _ => "see the access table".to_string(),
        };
        let mut operation = json!({
            "summary": o.summary,
            "description": format!("Access: {access}."),
            "responses": {
                o.ok.0: if o.ok.1.is_empty() { json!({"description": "OK"}) } else {
                    json!({"description": "OK", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{}", o.ok.1)}}}})
                },
                "401": {"$ref": "#/components/responses/Error"},
                "403": {"$ref": "#/components/responses/Error"},
                "422": {"$ref": "#/components/responses/Error"}
            }
        });
        if let Some(body) = o.body {
            operation["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{body}")}}}});
        }
        let params: Vec<Value> = ["id", "name", "token"]
            .iter()
            .filter(|p| o.path.contains(&format!("{{{p}}}")))
            .map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if !params.is_empty() {
            operation["parameters"] = Value::Array(params);
        }
        entry[o.method.to_ascii_lowercase()] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "MeetMind API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Send an API token as Authorization: Bearer mm_… . Errors are JSON: {error, field?}."},
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "responses": {"Error": {"description": "An error naming the field at fault",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}
        },
        "security": [{"bearer": []}]
    })
}

pub async fn serve() -> axum::Json<Value> {
    axum::Json(document())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_lists_exactly_the_rest_routes() {
        let doc = document();
        let rest: Vec<(&str, &str)> = crate::auth::rules::RULES
            .iter()
            .filter(|r| r.path.starts_with("/api/v1/"))
            .map(|r| (r.method, r.path))
            .collect();
        for (method, path) in &rest {
            assert!(doc["paths"][path][method.to_ascii_lowercase()].is_object(), "{method} {path} is not documented");
        }
        let documented: usize = doc["paths"].as_object().unwrap().values().map(|p| p.as_object().unwrap().len()).sum();
        assert_eq!(documented, rest.len(), "the document lists a route the access table does not");
    }
}
