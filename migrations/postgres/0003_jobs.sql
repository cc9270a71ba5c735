-- Durable jobs. Times are Unix milliseconds (BIGINT), as in the auth tables.
CREATE TABLE queues (
    name                TEXT PRIMARY KEY,
    -- Jobs of this queue running at once across all nodes; 0 = no limit.
    concurrency         INTEGER NOT NULL DEFAULT 0,
    paused              BOOLEAN NOT NULL DEFAULT FALSE,
    -- Retry policy overrides; NULL = the default (4 runs, 1 s / 5 s / 25 s).
    max_attempts        INTEGER,
    retry_delays_ms     TEXT,
    starvation_after_ms BIGINT,
    updated_at          BIGINT NOT NULL
);

CREATE TABLE jobs (
    id               BIGSERIAL PRIMARY KEY,
    queue            TEXT NOT NULL,
    kind             TEXT NOT NULL,
    payload          TEXT NOT NULL,
    priority         INTEGER NOT NULL,
    run_at           BIGINT NOT NULL,
    state            TEXT NOT NULL,
    attempt          INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    retry_delays_ms  TEXT,
    timeout_ms       BIGINT,
    lease_owner      TEXT,
    lease_expires_at BIGINT,
    -- Bumped on every claim; a completion must present the current value.
    fence            BIGINT NOT NULL DEFAULT 0,
    last_error       TEXT,
    workflow_id      TEXT,
    idempotency_key  TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    finished_at      BIGINT
);

-- The fetch: most urgent available job first. Partial, so it stays small
-- however many finished jobs the table holds.
CREATE INDEX jobs_fetch_idx ON jobs (priority, run_at, id) WHERE state = 'available';
-- Timers: future runs and retries.
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE state IN ('scheduled', 'retrying');
-- Lease rescue.
CREATE INDEX jobs_lease_idx ON jobs (lease_expires_at) WHERE state = 'running';
-- The dead-letter queue. (No general index on state: every state change
-- would have to update it; other state listings walk the primary key or
-- the partial indexes above.)
CREATE INDEX jobs_dead_idx ON jobs (queue, id) WHERE state = 'dead';
CREATE INDEX jobs_workflow_idx ON jobs (workflow_id) WHERE workflow_id IS NOT NULL;
CREATE UNIQUE INDEX jobs_idempotency_idx ON jobs (idempotency_key) WHERE idempotency_key IS NOT NULL;

-- One row per run. No primary key index: rows are only ever read by job.
CREATE TABLE job_attempts (
    id          BIGINT GENERATED ALWAYS AS IDENTITY,
    -- No foreign key: its check would cost a lookup per run on the hot
    -- path; deleting a job deletes its attempts in the same transaction.
    job_id      BIGINT NOT NULL,
    attempt     INTEGER NOT NULL,
    node        TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    outcome     TEXT NOT NULL,
    error       TEXT
);
CREATE INDEX job_attempts_job_idx ON job_attempts (job_id);

-- Leadership for maintenance services: a lease any node may take when it
-- has expired. Portable, so SQLite and PostgreSQL share the logic.
CREATE TABLE leaders (
    name       TEXT PRIMARY KEY,
    node       TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
