-- The current usage of each cluster (its agent's last sample and the resources over their
-- thresholds, usage.State) in a row of its own, so that a sample (every 60 s from every agent)
-- writes this row instead of its cluster's document. metrics is what lists show of it (the
-- workers' figures), received_at when the sample arrived (microseconds). Lists join it to
-- cluster_summaries: no column may share a name with one of that table's.
CREATE TABLE current_usage (
    cluster_uid TEXT   NOT NULL PRIMARY KEY,
    received_at BIGINT NOT NULL,
    usage_state TEXT   NOT NULL,
    metrics     TEXT   NOT NULL
);
