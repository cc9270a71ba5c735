-- Every LLM call: what it was for, the tier that answered, each attempt with
-- its error, latency, tokens, and whether the answer is degraded (offline).
CREATE TABLE llm_calls (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         BIGINT NOT NULL,
    purpose    TEXT NOT NULL,
    tier       TEXT NOT NULL,
    degraded   BOOLEAN NOT NULL,
    latency_ms BIGINT NOT NULL,
    tokens_out BIGINT,
    attempts   TEXT NOT NULL
);
CREATE INDEX llm_calls_at_idx ON llm_calls (at);
