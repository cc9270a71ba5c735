-- A job's successful run is kept on the job row, as Oban keeps attempted_at
-- and attempted_by: `succeeded` is final, so the row never changes again,
-- and completing a job is one row update instead of an update plus an
-- insert into job_attempts (plus its index). job_attempts keeps the runs
-- that failed, timed out or were lost, and successes recorded before this
-- migration; `job_runs` reads both as one list.
ALTER TABLE jobs ADD COLUMN attempted_by TEXT;
ALTER TABLE jobs ADD COLUMN attempted_at BIGINT;

CREATE VIEW job_runs AS
    SELECT job_id, id AS seq, attempt, node, started_at, finished_at, outcome, error FROM job_attempts
    UNION ALL
    SELECT id, 9223372036854775807, attempt, attempted_by, attempted_at, COALESCE(finished_at, updated_at),
           'succeeded', CAST(NULL AS TEXT)
    FROM jobs WHERE state = 'succeeded' AND attempted_by IS NOT NULL;
