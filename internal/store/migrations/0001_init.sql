-- Objects: every API object (projects, users, profiles, clusters, ...) as a JSON document with the
-- columns that lists and searches filter and sort on.
CREATE TABLE objects (
    kind             TEXT   NOT NULL,
    uid              TEXT   NOT NULL PRIMARY KEY,
    alt_uid          TEXT   NOT NULL DEFAULT '',
    tenant_uid       TEXT   NOT NULL,
    project_uid      TEXT   NOT NULL DEFAULT '',
    name             TEXT   NOT NULL,
    version          TEXT   NOT NULL DEFAULT '',
    state            TEXT   NOT NULL DEFAULT '',
    category         TEXT   NOT NULL DEFAULT '',
    doc              TEXT   NOT NULL,
    generation       BIGINT NOT NULL,
    resource_version BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE UNIQUE INDEX objects_name ON objects (kind, tenant_uid, project_uid, name, version);
CREATE INDEX objects_project ON objects (kind, tenant_uid, project_uid, name);
CREATE INDEX objects_alt_uid ON objects (alt_uid);

-- Events: the newest 1000 per object are kept.
CREATE TABLE events (
    id          {{autoid}},
    uid         TEXT   NOT NULL,
    tenant_uid  TEXT   NOT NULL,
    project_uid TEXT   NOT NULL DEFAULT '',
    object_kind TEXT   NOT NULL,
    object_uid  TEXT   NOT NULL,
    object_name TEXT   NOT NULL DEFAULT '',
    reason      TEXT   NOT NULL,
    message     TEXT   NOT NULL,
    severity    TEXT   NOT NULL,
    component   TEXT   NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);
CREATE INDEX events_object ON events (object_uid, id);

-- Audits: one entry per write, kept.
CREATE TABLE audits (
    id            {{autoid}},
    uid           TEXT   NOT NULL UNIQUE,
    tenant_uid    TEXT   NOT NULL,
    project_uid   TEXT   NOT NULL DEFAULT '',
    actor_type    TEXT   NOT NULL,
    actor_uid     TEXT   NOT NULL DEFAULT '',
    actor_name    TEXT   NOT NULL DEFAULT '',
    action        TEXT   NOT NULL,
    resource_kind TEXT   NOT NULL,
    resource_uid  TEXT   NOT NULL,
    resource_name TEXT   NOT NULL DEFAULT '',
    message       TEXT   NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX audits_tenant ON audits (tenant_uid, id);

-- Credentials: API keys, login sessions and agent tokens; only a hash of the secret is stored.
CREATE TABLE credentials (
    uid        TEXT   NOT NULL PRIMARY KEY,
    kind       TEXT   NOT NULL,
    tenant_uid TEXT   NOT NULL,
    user_uid   TEXT   NOT NULL,
    name       TEXT   NOT NULL DEFAULT '',
    hash       TEXT   NOT NULL UNIQUE,
    expires_at BIGINT NOT NULL,
    active     BOOLEAN NOT NULL,
    annotations TEXT  NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL
);
CREATE INDEX credentials_user ON credentials (tenant_uid, kind, user_uid);

-- Settings: hub-wide key/value pairs (bootstrap state).
CREATE TABLE settings (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);
