-- Access owned by the portal: roles (with permissions), applications, and
-- what each provisioned group grants. Identity data stays in 0001's tables.

CREATE TABLE roles (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- Predefined roles are seeded per tenant and cannot be deleted.
    predefined  INTEGER NOT NULL DEFAULT 0,
    created     TEXT NOT NULL,
    updated     TEXT NOT NULL
);
CREATE UNIQUE INDEX roles_name ON roles(tenant_id, name_key);

CREATE TABLE role_permissions (
    role_id    INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    PRIMARY KEY (role_id, permission)
) WITHOUT ROWID;

CREATE TABLE applications (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    url         TEXT,
    description TEXT NOT NULL DEFAULT '',
    created     TEXT NOT NULL,
    updated     TEXT NOT NULL
);
CREATE UNIQUE INDEX applications_name ON applications(tenant_id, name_key);

-- At most one role per group. assigned_seq orders assignments within a
-- tenant without relying on clock resolution: the highest wins.
CREATE TABLE group_roles (
    group_id     INTEGER PRIMARY KEY REFERENCES groups(id) ON DELETE CASCADE,
    role_id      INTEGER NOT NULL REFERENCES roles(id) ON DELETE RESTRICT,
    assigned_seq INTEGER NOT NULL,
    assigned_at  TEXT NOT NULL
);
CREATE INDEX group_roles_role ON group_roles(role_id);

CREATE TABLE group_applications (
    group_id       INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    application_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    added          TEXT NOT NULL,
    PRIMARY KEY (group_id, application_id)
) WITHOUT ROWID;
CREATE INDEX group_applications_app ON group_applications(application_id, group_id);

-- The per-tenant counter behind group_roles.assigned_seq.
ALTER TABLE tenants ADD COLUMN role_seq INTEGER NOT NULL DEFAULT 0;
