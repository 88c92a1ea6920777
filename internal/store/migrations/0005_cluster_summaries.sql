-- Cluster summaries: what the lists of clusters show of each (clusters.Summary, as JSON) with the
-- columns lists filter and sort on, in narrow rows beside the wide documents. Every write of a
-- cluster's document writes its summary in the same transaction. The existing clusters' rows are
-- filled in by the migration's Go step (the summary is derived from the document by Go code).
CREATE TABLE cluster_summaries (
    uid              TEXT   NOT NULL PRIMARY KEY,
    alt_uid          TEXT   NOT NULL DEFAULT '',
    tenant_uid       TEXT   NOT NULL,
    project_uid      TEXT   NOT NULL DEFAULT '',
    name             TEXT   NOT NULL,
    version          TEXT   NOT NULL DEFAULT '',
    state            TEXT   NOT NULL DEFAULT '',
    category         TEXT   NOT NULL DEFAULT '',
    summary          TEXT   NOT NULL,
    generation       BIGINT NOT NULL,
    resource_version BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
-- A page sorted by name (the default of the search and the grid) walks one of these in order and
-- stops after the page: in one project, or across a tenant's projects.
CREATE INDEX cluster_summaries_project ON cluster_summaries (tenant_uid, project_uid, name, uid);
CREATE INDEX cluster_summaries_tenant ON cluster_summaries (tenant_uid, name, uid);

-- The number of clusters of each project, kept on create and delete so that an unfiltered list's
-- total is a sum of a few rows instead of a count over every cluster of the project. A project's
-- count is spread over shards (the cluster's uid picks one) so that concurrent creates in one
-- project do not queue on one row's lock until they commit; only the sum of a project's shards
-- means anything (the clusters counted here, before the shards existed, are all in shard 0).
CREATE TABLE cluster_counts (
    tenant_uid  TEXT    NOT NULL,
    project_uid TEXT    NOT NULL,
    shard       INTEGER NOT NULL,
    clusters    BIGINT  NOT NULL,
    PRIMARY KEY (tenant_uid, project_uid, shard)
);
INSERT INTO cluster_counts (tenant_uid, project_uid, shard, clusters)
    SELECT tenant_uid, project_uid, 0, COUNT(*) FROM objects WHERE kind = 'spectrocluster' GROUP BY tenant_uid, project_uid;
