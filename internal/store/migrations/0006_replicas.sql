-- Hub replicas on one PostgreSQL (docs/design/007-replicas.md). A session is one running replica;
-- it stays alive while it renews expires_at, and an expired one is never revived. SQLite has the
-- tables too but never uses them: one SQLite file serves one hub.
CREATE TABLE hub_sessions (
    session_id  TEXT        NOT NULL PRIMARY KEY,
    replica     TEXT        NOT NULL,
    host_id     TEXT        NOT NULL,
    url         TEXT        NOT NULL DEFAULT '',
    fingerprint TEXT        NOT NULL DEFAULT '',
    started_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);

-- A lease per cluster: the replica whose live session holds it reconciles the cluster, and every
-- write of that reconcile checks the epoch (the fencing token, one more on every claim). A local
-- cluster is pinned to the host that runs its processes (host_id, set by its first claim).
CREATE TABLE cluster_leases (
    cluster_uid TEXT        NOT NULL PRIMARY KEY,
    cloud_type  TEXT        NOT NULL,
    host_id     TEXT        NOT NULL DEFAULT '',
    holder      TEXT        NOT NULL DEFAULT '',
    epoch       BIGINT      NOT NULL DEFAULT 0,
    claimed_at  TIMESTAMPTZ,
    written_at  TIMESTAMPTZ
);
CREATE INDEX cluster_leases_holder ON cluster_leases (holder);
