-- Sign-in with the tenant's OpenID Connect provider (Microsoft Entra ID):
-- its configuration, the sessions of provisioned users who signed in with it,
-- and every sign-in attempt, SSO or password.

-- One provider per tenant. The client secret is stored only encrypted
-- (AES-256-GCM under a key derived from the server's secret_key, nonce first).
CREATE TABLE sso_configs (
    tenant_id         INTEGER PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    enabled           INTEGER NOT NULL DEFAULT 0,
    issuer            TEXT NOT NULL,
    client_id         TEXT NOT NULL,
    client_secret_enc BLOB,
    claim             TEXT NOT NULL DEFAULT 'preferred_username'
                      CHECK (claim IN ('preferred_username', 'email', 'oid')),
    updated           TEXT NOT NULL
);

-- Like `sessions`, found by the SHA-256 of the cookie secret. A user deleted
-- over SCIM takes their sessions with them.
CREATE TABLE user_sessions (
    id          INTEGER PRIMARY KEY,
    token_hash  BLOB NOT NULL UNIQUE,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token  TEXT NOT NULL,
    created     TEXT NOT NULL,
    expires     TEXT NOT NULL
);
CREATE INDEX user_sessions_user ON user_sessions(user_id);

-- Sign-in attempts, newest first per tenant. Never a password or a token.
CREATE TABLE sign_in_events (
    id        INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    at        TEXT NOT NULL,
    method    TEXT NOT NULL CHECK (method IN ('sso', 'password')),
    identity  TEXT NOT NULL,
    outcome   TEXT NOT NULL CHECK (outcome IN ('signed_in', 'refused')),
    reason    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sign_in_events_tenant ON sign_in_events(tenant_id, id);
