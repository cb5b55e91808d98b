-- Paging walks a tenant's rows in id order: an index on tenant_id alone is
-- ordered by (tenant_id, rowid), so a deep OFFSET skips index entries of a
-- few bytes instead of whole rows.
CREATE INDEX users_tenant ON users(tenant_id);
CREATE INDEX groups_tenant ON groups(tenant_id);
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('users', 'users_tenant', '100000 100000'),
    ('groups', 'groups_tenant', '1000 1000');
ANALYZE sqlite_schema;
