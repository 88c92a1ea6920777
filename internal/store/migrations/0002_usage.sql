-- Usage series: one row per series, resolution and time bucket, holding the mean of the samples
-- that fell in it. Series are a cluster's workers, its control plane, and each node.
CREATE TABLE usage_points (
    cluster_uid    TEXT             NOT NULL,
    series         TEXT             NOT NULL,
    step           BIGINT           NOT NULL,
    ts             BIGINT           NOT NULL,
    samples        BIGINT           NOT NULL,
    cpu_usage      DOUBLE PRECISION NOT NULL,
    cpu_request    DOUBLE PRECISION NOT NULL,
    cpu_total      DOUBLE PRECISION NOT NULL,
    memory_usage   DOUBLE PRECISION NOT NULL,
    memory_request DOUBLE PRECISION NOT NULL,
    memory_total   DOUBLE PRECISION NOT NULL,
    disk_usage     DOUBLE PRECISION NOT NULL,
    disk_total     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (cluster_uid, series, step, ts)
);
