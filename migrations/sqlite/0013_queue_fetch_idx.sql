-- Available jobs per queue, most urgent first. A claim that leaves out a
-- paused or limited queue holding jobs merges the other queues' runs of this
-- index, instead of walking jobs_fetch_idx past the left-out backlog; a
-- limited queue's claim reads its own run; the skip scan that finds the
-- queues with available jobs probes it once per queue. jobs_fetch_idx stays
-- for the plain claim (and for nodes of the previous release).
CREATE INDEX IF NOT EXISTS jobs_queue_fetch_idx ON jobs (queue, priority, run_at, id) WHERE state = 'available';
