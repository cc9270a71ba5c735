-- Cron schedules: the leader enqueues each fire once; the job's idempotency
-- key "schedule:<id>:<fire ms>" makes that exactly once across failovers.
CREATE TABLE schedules (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL UNIQUE,
    cron        TEXT NOT NULL,
    timezone    TEXT NOT NULL,
    template    TEXT NOT NULL,
    paused      BOOLEAN NOT NULL DEFAULT FALSE,
    next_run_at BIGINT NOT NULL,
    last_run_at BIGINT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- Starvation: jobs that waited past their queue's starvation_after, why,
-- and the aging applied.
CREATE TABLE starvation_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at              BIGINT NOT NULL,
    queue           TEXT NOT NULL,
    job_id          BIGINT NOT NULL,
    waited_ms       BIGINT NOT NULL,
    cause           TEXT NOT NULL CHECK (cause IN ('saturated', 'inversion', 'no_worker')),
    priority_before INTEGER NOT NULL,
    priority_after  INTEGER NOT NULL
);
CREATE INDEX starvation_events_at_idx ON starvation_events (at);
