-- Workflows: DAGs of jobs submitted together.
CREATE TABLE workflows (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    -- running until every job has ended; then succeeded, failed or cancelled.
    state            TEXT NOT NULL,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    total            INTEGER NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    finished_at      BIGINT
);
CREATE INDEX workflows_created_idx ON workflows (created_at);

-- The job's key within its workflow (the node name in the DAG).
ALTER TABLE jobs ADD COLUMN workflow_key TEXT;

-- Edges: the child waits on the parent; `policy` says what the child does
-- when the parent ends dead or cancelled: fail (the default) or continue.
CREATE TABLE job_deps (
    child_id  BIGINT NOT NULL,
    parent_id BIGINT NOT NULL,
    policy    TEXT NOT NULL CHECK (policy IN ('fail', 'continue')),
    PRIMARY KEY (child_id, parent_id)
);
CREATE INDEX job_deps_parent_idx ON job_deps (parent_id);
