-- Portal administrators (local accounts, Argon2id) and their sessions.

CREATE TABLE admins (
    id             INTEGER PRIMARY KEY,
    tenant_id      INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    email          TEXT NOT NULL,
    email_key      TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created        TEXT NOT NULL,
    last_sign_in   TEXT
);
CREATE UNIQUE INDEX admins_email ON admins(tenant_id, email_key);

-- A session is found by the SHA-256 of its cookie secret; the secret itself is never stored.
CREATE TABLE sessions (
    id          INTEGER PRIMARY KEY,
    token_hash  BLOB NOT NULL UNIQUE,
    admin_id    INTEGER NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
    csrf_token  TEXT NOT NULL,
    created     TEXT NOT NULL,
    expires     TEXT NOT NULL
);
CREATE INDEX sessions_admin ON sessions(admin_id);

-- One-time links that create a tenant's first administrator.
CREATE TABLE setup_tokens (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    token_hash  BLOB NOT NULL UNIQUE,
    expires     TEXT NOT NULL
);
