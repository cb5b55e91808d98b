-- The provisioning log, filtered by outcome and by resource type, newest first
-- and paged in SQL: each filter reads one index in id order, with no sort.

-- A failure is any response of 400 and above; computed, never written.
ALTER TABLE provisioning_log ADD COLUMN failed INTEGER GENERATED ALWAYS AS (status >= 400) VIRTUAL;

CREATE INDEX provisioning_log_outcome         ON provisioning_log(tenant_id, failed, id);
CREATE INDEX provisioning_log_resource        ON provisioning_log(tenant_id, resource_type, id);
CREATE INDEX provisioning_log_resource_outcome ON provisioning_log(tenant_id, resource_type, failed, id);

-- The Roles page lists predefined roles first, then by name.
CREATE INDEX roles_listing ON roles(tenant_id, predefined DESC, name_key);
