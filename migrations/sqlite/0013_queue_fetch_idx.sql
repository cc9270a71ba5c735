-- A queue's own most urgent available jobs, for claims that name the queue
-- (a queue with a concurrency limit): without it they walk `jobs_fetch_idx`
-- past every other queue's backlog. SQLite's claim across queues still walks
-- `jobs_fetch_idx`; PostgreSQL's reads each queue through this index.
CREATE INDEX jobs_queue_fetch_idx ON jobs (queue, priority, run_at, id) WHERE state = 'available';
