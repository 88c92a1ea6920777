-- Failed logins, counted per key (an account, a client address) within the login window by every
-- hub replica alike; rows older than the window are deleted as new failures arrive.
CREATE TABLE login_failures (
    key TEXT   NOT NULL,
    at  BIGINT NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, at);
CREATE INDEX login_failures_at ON login_failures (at);
