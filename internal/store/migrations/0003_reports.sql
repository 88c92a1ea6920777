-- Paged agent reports. A report too large for one message arrives in pages; each page waits here
-- until all of its report's pages have arrived, then they are applied together and removed.
CREATE TABLE report_pages (
    cluster_uid TEXT    NOT NULL,
    report      TEXT    NOT NULL,
    report_id   TEXT    NOT NULL,
    page        INTEGER NOT NULL,
    pages       INTEGER NOT NULL,
    body        TEXT    NOT NULL,
    received_at BIGINT  NOT NULL,
    PRIMARY KEY (cluster_uid, report, report_id, page)
);

-- The reports applied lately (the newest few per cluster and report), so that a late or repeated
-- page of one is acknowledged and ignored instead of being held as a new report.
CREATE TABLE reports_applied (
    cluster_uid TEXT   NOT NULL,
    report      TEXT   NOT NULL,
    report_id   TEXT   NOT NULL,
    applied_at  BIGINT NOT NULL,
    PRIMARY KEY (cluster_uid, report, report_id)
);

-- Workloads: one row per namespace, pod, deployment, ... of a cluster, as its agent reported it
-- (doc is the agent's item), so the dashboard pages and filters them without decoding them all.
CREATE TABLE workloads (
    cluster_uid TEXT NOT NULL,
    kind        TEXT NOT NULL,
    namespace   TEXT NOT NULL,
    name        TEXT NOT NULL,
    doc         TEXT NOT NULL,
    PRIMARY KEY (cluster_uid, kind, namespace, name)
);

-- The state of each cluster's workload report: the report the rows reflect (the base of the next
-- delta), when it arrived, and whether the agent turned the report off.
CREATE TABLE workload_reports (
    cluster_uid TEXT    NOT NULL PRIMARY KEY,
    report_id   TEXT    NOT NULL,
    disabled    BOOLEAN NOT NULL,
    reported_at BIGINT  NOT NULL
);
