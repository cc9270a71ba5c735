-- MeetMind interviews. JSON documents (rubric, plan, results) are TEXT so
-- both databases store them the same way.
CREATE TABLE interviews (
    id                  TEXT PRIMARY KEY,
    title               TEXT NOT NULL,
    role                TEXT NOT NULL,
    candidate_name      TEXT NOT NULL,
    candidate_email     TEXT NOT NULL,
    owner_id            TEXT NOT NULL REFERENCES users (id),
    mode                TEXT NOT NULL CHECK (mode IN ('ai_led', 'assist')),
    state               TEXT NOT NULL CHECK (state IN ('scheduled', 'live', 'completed', 'cancelled')),
    rubric              TEXT NOT NULL,
    plan                TEXT NOT NULL,
    duration_min        INTEGER NOT NULL,
    consent_notice      TEXT NOT NULL,
    consent_accepted_at BIGINT,
    -- Only the hash of the candidate's room token is kept.
    token_hash          TEXT NOT NULL UNIQUE,
    token_expires_at    BIGINT NOT NULL,
    scheduled_at        BIGINT NOT NULL,
    started_at          BIGINT,
    ended_at            BIGINT,
    workflow_id         TEXT,
    decision            TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX interviews_owner_idx ON interviews (owner_id, created_at);
CREATE INDEX interviews_ended_idx ON interviews (ended_at);

CREATE TABLE interview_shares (
    interview_id TEXT NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (interview_id, user_id)
);
CREATE INDEX interview_shares_user_idx ON interview_shares (user_id);

-- The transcript. (interview_id, client_id) makes a retried append a no-op.
CREATE TABLE segments (
    id           BIGSERIAL PRIMARY KEY,
    interview_id TEXT NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
    client_id    TEXT NOT NULL,
    speaker      TEXT NOT NULL CHECK (speaker IN ('interviewer', 'candidate', 'ai')),
    text         TEXT NOT NULL,
    start_ms     BIGINT NOT NULL,
    end_ms       BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (interview_id, client_id)
);
CREATE INDEX segments_order_idx ON segments (interview_id, start_ms, id);

-- Live suggestions (follow-ups, coverage, red flags) with their tier.
CREATE TABLE suggestions (
    id               BIGSERIAL PRIMARY KEY,
    interview_id     TEXT NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
    after_segment_id BIGINT NOT NULL,
    body             TEXT NOT NULL,
    tier             TEXT NOT NULL,
    degraded         BOOLEAN NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX suggestions_interview_idx ON suggestions (interview_id, id);

-- Post-interview results (finalize, summary, scorecard, insights, report),
-- each with the prompt and the tier that produced it.
CREATE TABLE interview_results (
    interview_id TEXT NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    body         TEXT NOT NULL,
    prompt       TEXT,
    tier         TEXT NOT NULL,
    degraded     BOOLEAN NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (interview_id, kind)
);
