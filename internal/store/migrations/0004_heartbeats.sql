-- Heartbeats: the newest sign of life of each cluster's agent, in a row of its own, so that a
-- heartbeat (every 30 s from every agent) writes a few bytes instead of its cluster's document.
CREATE TABLE heartbeats (
    cluster_uid   TEXT   NOT NULL PRIMARY KEY,
    at            BIGINT NOT NULL,
    agent_version TEXT   NOT NULL
);
