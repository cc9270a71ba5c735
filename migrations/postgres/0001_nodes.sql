-- Nodes of the cluster: every `meetmind serve` registers itself and heartbeats.
-- Maintenance services use it to tell live workers from dead ones.
CREATE TABLE nodes (
    id           TEXT PRIMARY KEY,
    hostname     TEXT NOT NULL,
    roles        TEXT NOT NULL,
    version      TEXT NOT NULL,
    started_at   TIMESTAMPTZ NOT NULL,
    heartbeat_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX nodes_heartbeat_at_idx ON nodes (heartbeat_at);
