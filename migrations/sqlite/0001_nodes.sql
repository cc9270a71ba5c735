-- Nodes of the cluster: every `meetmind serve` registers itself and heartbeats.
-- Times are Unix milliseconds (UTC).
CREATE TABLE nodes (
    id           TEXT PRIMARY KEY NOT NULL,
    hostname     TEXT NOT NULL,
    roles        TEXT NOT NULL,
    version      TEXT NOT NULL,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
);

CREATE INDEX nodes_heartbeat_at_idx ON nodes (heartbeat_at);
