-- scim-portal schema, version 1. Append-only: later changes go in new numbered files.

CREATE TABLE tenants (
    id      INTEGER PRIMARY KEY,
    slug    TEXT NOT NULL UNIQUE,
    name    TEXT NOT NULL,
    created TEXT NOT NULL
);

-- Bearer tokens for SCIM (and, later, the access API). Only a SHA-256 of the
-- secret is kept; `prefix` lets administrators recognise a key.
CREATE TABLE api_keys (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    label       TEXT NOT NULL,
    prefix      TEXT NOT NULL,
    secret_hash BLOB NOT NULL UNIQUE,
    created     TEXT NOT NULL,
    expires     TEXT,
    last_used   TEXT,
    revoked     TEXT
);
CREATE INDEX api_keys_tenant ON api_keys(tenant_id, id);

-- Users as provisioned. Columns hold what is looked up, ordered or kept unique;
-- `profile` holds the rest of the SCIM resource as JSON, verbatim.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    scim_id       TEXT NOT NULL,
    user_name     TEXT NOT NULL,
    user_name_key TEXT NOT NULL,            -- case-folded userName (caseExact=false)
    external_id   TEXT,
    display_name  TEXT,
    active        INTEGER,                  -- NULL: the client never said (counts as active)
    profile       TEXT NOT NULL,
    created       TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    version       INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_scim_id   ON users(tenant_id, scim_id);
CREATE UNIQUE INDEX users_user_name ON users(tenant_id, user_name_key);
CREATE INDEX users_external_id      ON users(tenant_id, external_id);

-- An index of users' e-mail addresses (the profile JSON stays the source of truth),
-- so that matching by work e-mail is an index lookup.
CREATE TABLE user_emails (
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    tenant_id  INTEGER NOT NULL,
    value      TEXT NOT NULL,
    value_key  TEXT NOT NULL,               -- case-folded value
    type       TEXT,
    is_primary INTEGER NOT NULL,
    display    TEXT,
    PRIMARY KEY (user_id, position)
) WITHOUT ROWID;
CREATE INDEX user_emails_value ON user_emails(tenant_id, value_key);

CREATE TABLE groups (
    id               INTEGER PRIMARY KEY,
    tenant_id        INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    scim_id          TEXT NOT NULL,
    display_name     TEXT NOT NULL,
    display_name_key TEXT NOT NULL,         -- case-folded displayName
    external_id      TEXT,
    created          TEXT NOT NULL,
    last_modified    TEXT NOT NULL,
    version          INTEGER NOT NULL
);
CREATE UNIQUE INDEX groups_scim_id      ON groups(tenant_id, scim_id);
CREATE UNIQUE INDEX groups_display_name ON groups(tenant_id, display_name_key);
CREATE INDEX groups_external_id         ON groups(tenant_id, external_id);

CREATE TABLE group_members (
    group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    added    TEXT NOT NULL,
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX group_members_user ON group_members(user_id, group_id);

-- Every SCIM request that changed data or failed. No secrets: the token's label only.
CREATE TABLE provisioning_log (
    id            INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    at            TEXT NOT NULL,
    token_label   TEXT,
    method        TEXT NOT NULL,
    path          TEXT NOT NULL,
    resource_type TEXT,
    resource_id   TEXT,
    status        INTEGER NOT NULL,
    outcome       TEXT NOT NULL
);
CREATE INDEX provisioning_log_tenant ON provisioning_log(tenant_id, id);

-- A fresh install needs no set-up step: the `default` tenant is there from the start.
INSERT INTO tenants (slug, name, created)
VALUES ('default', 'Default', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
