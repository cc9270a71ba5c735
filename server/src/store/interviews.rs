//! Interviews, their transcripts, live suggestions and post-interview
//! results. The SQL is the same on both drivers, so one macro implements it.

use async_trait::async_trait;

use super::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InterviewRow {
    pub id: String,
    pub title: String,
    pub role: String,
    pub candidate_name: String,
    pub candidate_email: String,
    pub owner_id: String,
    pub mode: String,
    pub state: String,
    pub rubric: String,
    pub plan: String,
    pub duration_min: i32,
    pub consent_notice: String,
    pub consent_accepted_at: Option<i64>,
    pub token_hash: String,
    pub token_expires_at: i64,
    pub scheduled_at: i64,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub workflow_id: Option<String>,
    pub decision: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Set while a live interview is paused.
    pub paused_at: Option<i64>,
    /// Time spent paused before the current pause.
    pub paused_ms: i64,
}

pub(crate) const INTERVIEW_COLUMNS: &str = "id, title, role, candidate_name, candidate_email, owner_id, mode, state, \
     rubric, plan, duration_min, consent_notice, consent_accepted_at, token_hash, token_expires_at, scheduled_at, \
     started_at, ended_at, workflow_id, decision, created_at, updated_at, paused_at, paused_ms";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SegmentRow {
    pub id: i64,
    pub client_id: String,
    pub speaker: String,
    pub text: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SuggestionRow {
    pub id: i64,
    pub interview_id: String,
    pub after_segment_id: i64,
    /// JSON: follow-ups, coverage and red flags.
    pub body: String,
    pub tier: String,
    pub degraded: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ResultRow {
    pub interview_id: String,
    /// finalize, summary, scorecard, insights, report_md, report_html.
    pub kind: String,
    pub body: String,
    pub prompt: Option<String>,
    pub tier: String,
    pub degraded: bool,
    pub created_at: i64,
}

#[async_trait]
pub trait InterviewStore: Send + Sync {
    /// Writes the interview and its shares in one transaction.
    async fn insert_interview(&self, row: &InterviewRow, shares: &[String]) -> Result<(), StoreError>;
    async fn get_interview(&self, id: &str) -> Result<Option<InterviewRow>, StoreError>;
    async fn interview_by_token(&self, token_hash: &str) -> Result<Option<InterviewRow>, StoreError>;
    async fn interview_shares(&self, id: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.shares_of(&[id.to_string()]).await?.remove(id).unwrap_or_default())
    }
    /// Every listed interview's shares in one query (a list page would
    /// otherwise make one per row); interviews without shares are absent.
    async fn shares_of(&self, ids: &[String]) -> Result<std::collections::HashMap<String, Vec<String>>, StoreError>;
    /// Newest first. `viewer` limits to interviews owned by or shared with
    /// that user (None: all); `text` matches title, role or candidate name.
    async fn list_interviews(
        &self,
        viewer: Option<&str>,
        text: Option<&str>,
        limit: i64,
    ) -> Result<Vec<InterviewRow>, StoreError>;
    /// Moves the interview to `to` if it is in one of `from`; stamps
    /// started_at (live) or ended_at (completed, cancelled). False otherwise.
    async fn transition_interview(&self, id: &str, from: &[&str], to: &str, at: i64) -> Result<bool, StoreError>;
    /// Sets the workflow id only if it is still `expected` (None: unset);
    /// an empty `workflow_id` clears it. False when someone else changed it.
    async fn claim_interview_workflow(
        &self,
        id: &str,
        expected: Option<&str>,
        workflow_id: &str,
        at: i64,
    ) -> Result<bool, StoreError>;
    /// Records the candidate's consent once; false if already recorded.
    async fn accept_consent(&self, id: &str, at: i64) -> Result<bool, StoreError>;
    async fn set_decision(&self, id: &str, decision: &str, at: i64) -> Result<bool, StoreError>;
    async fn set_candidate_token(
        &self,
        id: &str,
        token_hash: &str,
        expires_at: i64,
        at: i64,
    ) -> Result<bool, StoreError>;
    /// Pauses (or resumes) a live interview; false when it is not live or
    /// already in that state. Resuming adds the pause to `paused_ms`.
    async fn set_interview_paused(&self, id: &str, paused: bool, at: i64) -> Result<bool, StoreError>;
    /// Ends the candidate's current link now, whatever it is (a link issued
    /// at the same moment is not replaced).
    async fn expire_candidate_token(&self, id: &str, at: i64) -> Result<bool, StoreError>;

    /// Appends, skipping client ids already stored; returns every requested
    /// segment (new or existing) with whether it is new, in request order.
    async fn insert_segments(
        &self,
        interview_id: &str,
        segments: &[SegmentRow],
        at: i64,
    ) -> Result<Vec<(SegmentRow, bool)>, StoreError>;
    /// The stored segments among these client ids.
    async fn segments_by_client_ids(
        &self,
        interview_id: &str,
        client_ids: &[String],
    ) -> Result<Vec<SegmentRow>, StoreError>;
    /// In transcript order: by start offset, then arrival.
    async fn list_segments(&self, interview_id: &str) -> Result<Vec<SegmentRow>, StoreError>;

    async fn insert_suggestion(&self, row: &SuggestionRow) -> Result<i64, StoreError>;
    /// Newest first.
    async fn list_suggestions(&self, interview_id: &str, limit: i64) -> Result<Vec<SuggestionRow>, StoreError>;

    /// Inserts or replaces one result (a rerun job overwrites its own).
    async fn put_result(&self, row: &ResultRow) -> Result<(), StoreError>;
    async fn get_results(&self, interview_id: &str) -> Result<Vec<ResultRow>, StoreError>;
    /// The kinds of result the interview has, without their bodies.
    async fn result_kinds(&self, interview_id: &str) -> Result<Vec<String>, StoreError>;

    /// Deletes the interview with its transcript, suggestions and results,
    /// and scrubs the payloads of its workflow's jobs, in one transaction.
    async fn delete_interview(&self, id: &str) -> Result<bool, StoreError>;
    /// Ended before `before` (for the retention purge), oldest first.
    async fn interviews_ended_before(&self, before: i64, limit: i64) -> Result<Vec<String>, StoreError>;
}

/// `state IN (...)` from our own fixed state names (never user input).
pub(crate) fn state_list(states: &[&str]) -> String {
    states
        .iter()
        .filter(|s| s.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

macro_rules! impl_interview_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::interviews::InterviewStore for $store {
            async fn insert_interview(
                &self,
                r: &$crate::store::interviews::InterviewRow,
                shares: &[String],
            ) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await?;
                sqlx::query(
                    "INSERT INTO interviews (id, title, role, candidate_name, candidate_email, owner_id, mode, state,
                       rubric, plan, duration_min, consent_notice, consent_accepted_at, token_hash, token_expires_at,
                       scheduled_at, started_at, ended_at, workflow_id, decision, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
                       $21, $22)",
                )
                .bind(&r.id).bind(&r.title).bind(&r.role).bind(&r.candidate_name).bind(&r.candidate_email)
                .bind(&r.owner_id).bind(&r.mode).bind(&r.state).bind(&r.rubric).bind(&r.plan).bind(r.duration_min)
                .bind(&r.consent_notice).bind(r.consent_accepted_at).bind(&r.token_hash).bind(r.token_expires_at)
                .bind(r.scheduled_at).bind(r.started_at).bind(r.ended_at).bind(&r.workflow_id).bind(&r.decision)
                .bind(r.created_at).bind(r.updated_at)
                .execute(&mut *tx)
                .await?;
                for user in shares {
                    sqlx::query("INSERT INTO interview_shares (interview_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(&r.id).bind(user)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn get_interview(&self, id: &str) -> Result<Option<$crate::store::interviews::InterviewRow>, StoreError> {
                let sql = format!("SELECT {} FROM interviews WHERE id = $1", $crate::store::interviews::INTERVIEW_COLUMNS);
                Ok(sqlx::query_as(&sql).bind(id).fetch_optional(&self.pool).await?)
            }

            async fn interview_by_token(
                &self,
                token_hash: &str,
            ) -> Result<Option<$crate::store::interviews::InterviewRow>, StoreError> {
                let sql =
                    format!("SELECT {} FROM interviews WHERE token_hash = $1", $crate::store::interviews::INTERVIEW_COLUMNS);
                Ok(sqlx::query_as(&sql).bind(token_hash).fetch_optional(&self.pool).await?)
            }

            async fn shares_of(&self, ids: &[String]) -> Result<std::collections::HashMap<String, Vec<String>>, StoreError> {
                let mut out: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
                // Both drivers take a few thousand binds; lists stop at 200.
                for part in ids.chunks(500) {
                    let marks = (1..=part.len()).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ");
                    let sql = format!(
                        "SELECT interview_id, user_id FROM interview_shares WHERE interview_id IN ({marks}) ORDER BY user_id"
                    );
                    let mut q = sqlx::query_as::<_, (String, String)>(&sql);
                    for id in part {
                        q = q.bind(id);
                    }
                    for (interview, user) in q.fetch_all(&self.pool).await? {
                        out.entry(interview).or_default().push(user);
                    }
                }
                Ok(out)
            }

            async fn list_interviews(
                &self,
                viewer: Option<&str>,
                text: Option<&str>,
                limit: i64,
            ) -> Result<Vec<$crate::store::interviews::InterviewRow>, StoreError> {
                let tm = <$store>::TEXT_MATCH;
                let pattern = text.map(|t| tm.pattern(t));
                let sql = format!(
                    "SELECT {} FROM interviews
                     WHERE ($1 IS NULL OR owner_id = $1
                            OR id IN (SELECT interview_id FROM interview_shares WHERE user_id = $1))
                       AND ($2 IS NULL OR {} OR {} OR {})
                     ORDER BY created_at DESC, id LIMIT $3",
                    $crate::store::interviews::INTERVIEW_COLUMNS,
                    tm.clause("title", 2),
                    tm.clause("role", 2),
                    tm.clause("candidate_name", 2),
                );
                Ok(sqlx::query_as(&sql)
                    .bind(viewer)
                    .bind(pattern)
                    .bind(limit.clamp(1, 1000))
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn transition_interview(&self, id: &str, from: &[&str], to: &str, at: i64) -> Result<bool, StoreError> {
                let stamp = match to {
                    "live" => ", started_at = COALESCE(started_at, $2)",
                    "completed" | "cancelled" => ", ended_at = COALESCE(ended_at, $2)",
                    _ => "",
                };
                let sql = format!(
                    "UPDATE interviews SET state = $1, updated_at = $2{stamp} WHERE id = $3 AND state IN ({})",
                    $crate::store::interviews::state_list(from)
                );
                let done = sqlx::query(&sql).bind(to).bind(at).bind(id).execute(&self.pool).await?;
                Ok(done.rows_affected() == 1)
            }

            async fn expire_candidate_token(&self, id: &str, at: i64) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE interviews SET updated_at = $1,
                        token_expires_at = CASE WHEN token_expires_at > $1 THEN $1 ELSE token_expires_at END
                     WHERE id = $2",
                )
                .bind(at).bind(id)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn set_interview_paused(&self, id: &str, paused: bool, at: i64) -> Result<bool, StoreError> {
                let sql = if paused {
                    "UPDATE interviews SET paused_at = $1, updated_at = $1
                     WHERE id = $2 AND state = 'live' AND paused_at IS NULL"
                } else {
                    "UPDATE interviews SET paused_ms = paused_ms + ($1 - paused_at), paused_at = NULL, updated_at = $1
                     WHERE id = $2 AND state = 'live' AND paused_at IS NOT NULL"
                };
                let done = sqlx::query(sql).bind(at).bind(id).execute(&self.pool).await?;
                Ok(done.rows_affected() == 1)
            }

            async fn claim_interview_workflow(
                &self,
                id: &str,
                expected: Option<&str>,
                workflow_id: &str,
                at: i64,
            ) -> Result<bool, StoreError> {
                let new = (!workflow_id.is_empty()).then_some(workflow_id);
                let done = sqlx::query(
                    "UPDATE interviews SET workflow_id = $1, updated_at = $2
                     WHERE id = $3 AND (($4 IS NULL AND workflow_id IS NULL) OR workflow_id = $4)",
                )
                .bind(new).bind(at).bind(id).bind(expected)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn accept_consent(&self, id: &str, at: i64) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE interviews SET consent_accepted_at = $1, updated_at = $1 WHERE id = $2 AND consent_accepted_at IS NULL",
                )
                .bind(at).bind(id)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn set_decision(&self, id: &str, decision: &str, at: i64) -> Result<bool, StoreError> {
                let done = sqlx::query("UPDATE interviews SET decision = $1, updated_at = $2 WHERE id = $3")
                    .bind(decision).bind(at).bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn set_candidate_token(&self, id: &str, token_hash: &str, expires_at: i64, at: i64) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE interviews SET token_hash = $1, token_expires_at = $2, updated_at = $3 WHERE id = $4",
                )
                .bind(token_hash).bind(expires_at).bind(at).bind(id)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn insert_segments(
                &self,
                interview_id: &str,
                segments: &[$crate::store::interviews::SegmentRow],
                at: i64,
            ) -> Result<Vec<($crate::store::interviews::SegmentRow, bool)>, StoreError> {
                let mut tx = self.pool.begin().await?;
                let mut out = Vec::with_capacity(segments.len());
                for s in segments {
                    let inserted: Option<i64> = sqlx::query_scalar(
                        "INSERT INTO segments (interview_id, client_id, speaker, text, start_ms, end_ms, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7)
                         ON CONFLICT (interview_id, client_id) DO NOTHING RETURNING id",
                    )
                    .bind(interview_id).bind(&s.client_id).bind(&s.speaker).bind(&s.text).bind(s.start_ms).bind(s.end_ms)
                    .bind(at)
                    .fetch_optional(&mut *tx)
                    .await?;
                    match inserted {
                        Some(id) => out.push(($crate::store::interviews::SegmentRow { id, ..s.clone() }, true)),
                        None => {
                            let existing: $crate::store::interviews::SegmentRow = sqlx::query_as(
                                "SELECT id, client_id, speaker, text, start_ms, end_ms FROM segments
                                 WHERE interview_id = $1 AND client_id = $2",
                            )
                            .bind(interview_id).bind(&s.client_id)
                            .fetch_one(&mut *tx)
                            .await?;
                            out.push((existing, false));
                        }
                    }
                }
                tx.commit().await?;
                Ok(out)
            }

            async fn segments_by_client_ids(
                &self,
                interview_id: &str,
                client_ids: &[String],
            ) -> Result<Vec<$crate::store::interviews::SegmentRow>, StoreError> {
                let mut out = Vec::new();
                for c in client_ids {
                    let row: Option<$crate::store::interviews::SegmentRow> = sqlx::query_as(
                        "SELECT id, client_id, speaker, text, start_ms, end_ms FROM segments
                         WHERE interview_id = $1 AND client_id = $2",
                    )
                    .bind(interview_id).bind(c)
                    .fetch_optional(&self.pool)
                    .await?;
                    out.extend(row);
                }
                Ok(out)
            }

            async fn list_segments(&self, interview_id: &str) -> Result<Vec<$crate::store::interviews::SegmentRow>, StoreError> {
                Ok(sqlx::query_as(
                    "SELECT id, client_id, speaker, text, start_ms, end_ms FROM segments
                     WHERE interview_id = $1 ORDER BY start_ms, id",
                )
                .bind(interview_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn insert_suggestion(&self, r: &$crate::store::interviews::SuggestionRow) -> Result<i64, StoreError> {
                Ok(sqlx::query_scalar(
                    "INSERT INTO suggestions (interview_id, after_segment_id, body, tier, degraded, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(&r.interview_id).bind(r.after_segment_id).bind(&r.body).bind(&r.tier).bind(r.degraded)
                .bind(r.created_at)
                .fetch_one(&self.pool)
                .await?)
            }

            async fn list_suggestions(
                &self,
                interview_id: &str,
                limit: i64,
            ) -> Result<Vec<$crate::store::interviews::SuggestionRow>, StoreError> {
                Ok(sqlx::query_as(
                    "SELECT id, interview_id, after_segment_id, body, tier, degraded, created_at FROM suggestions
                     WHERE interview_id = $1 ORDER BY id DESC LIMIT $2",
                )
                .bind(interview_id).bind(limit.clamp(1, 1000))
                .fetch_all(&self.pool)
                .await?)
            }

            async fn put_result(&self, r: &$crate::store::interviews::ResultRow) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO interview_results (interview_id, kind, body, prompt, tier, degraded, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (interview_id, kind) DO UPDATE SET body = excluded.body, prompt = excluded.prompt,
                       tier = excluded.tier, degraded = excluded.degraded, created_at = excluded.created_at",
                )
                .bind(&r.interview_id).bind(&r.kind).bind(&r.body).bind(&r.prompt).bind(&r.tier).bind(r.degraded)
                .bind(r.created_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn get_results(&self, interview_id: &str) -> Result<Vec<$crate::store::interviews::ResultRow>, StoreError> {
                Ok(sqlx::query_as(
                    "SELECT interview_id, kind, body, prompt, tier, degraded, created_at FROM interview_results
                     WHERE interview_id = $1 ORDER BY kind",
                )
                .bind(interview_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn result_kinds(&self, interview_id: &str) -> Result<Vec<String>, StoreError> {
                Ok(sqlx::query_scalar("SELECT kind FROM interview_results WHERE interview_id = $1 ORDER BY kind")
                    .bind(interview_id)
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn delete_interview(&self, id: &str) -> Result<bool, StoreError> {
                // Writes first, so SQLite takes the write lock at once instead
                // of failing to upgrade a read transaction under contention.
                let mut tx = self.pool.begin().await?;
                // The interview's workflow jobs, and single jobs that name it in
                // their payload, in one statement; on PostgreSQL its rows are
                // locked in id order, the order every multi-job transaction takes.
                let lock = <$store>::LOCK_IN_ID_ORDER.unwrap_or("");
                sqlx::query(&format!(
                    "UPDATE jobs SET payload = '{{\"scrubbed\":true}}',
                            last_error = CASE WHEN workflow_id = (SELECT workflow_id FROM interviews WHERE id = $1)
                                THEN NULL ELSE last_error END
                     WHERE id IN (SELECT id FROM jobs
                                  WHERE workflow_id = (SELECT workflow_id FROM interviews WHERE id = $1) OR payload LIKE $2
                                  ORDER BY id {lock})"
                ))
                .bind(id)
                .bind(format!("%\"interview_id\":\"{id}\"%"))
                .execute(&mut *tx)
                .await?;
                for table in ["segments", "suggestions", "interview_results", "interview_shares"] {
                    sqlx::query(&format!("DELETE FROM {table} WHERE interview_id = $1")).bind(id).execute(&mut *tx).await?;
                }
                let done = sqlx::query("DELETE FROM interviews WHERE id = $1").bind(id).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(done.rows_affected() == 1)
            }

            async fn interviews_ended_before(&self, before: i64, limit: i64) -> Result<Vec<String>, StoreError> {
                Ok(sqlx::query_scalar(
                    "SELECT id FROM interviews WHERE ended_at IS NOT NULL AND ended_at < $1 ORDER BY ended_at LIMIT $2",
                )
                .bind(before).bind(limit.clamp(1, 10_000))
                .fetch_all(&self.pool)
                .await?)
            }
        }
    };
}

pub(crate) use impl_interview_store;
