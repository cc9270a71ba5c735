-- The dashboard counts the waiting states every second. Each of them has a
-- partial index but `blocked` (workflow jobs waiting for their parents), so
-- that count would scan the whole table, finished jobs and all. Only blocked
-- rows enter this index.
CREATE INDEX jobs_blocked_idx ON jobs (queue) WHERE state = 'blocked';
