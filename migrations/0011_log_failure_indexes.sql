-- The log's outcome filters, indexed for the rare side only. Migration 0004
-- indexed every entry twice more, by (tenant, failed, id) and (tenant,
-- resource_type, failed, id): two more index pages written per batch of
-- creates, for filters whose common side ("succeeded") needs no index. Now:
-- - "failed" reads these partial indexes, which hold failures only;
-- - "succeeded" walks provisioning_log_tenant / provisioning_log_resource in
--   id order and skips the few failures, and is counted as all minus failed.
-- The queries spell the condition `status >= 400` (the definition of
-- `failed`) so that the planner can match the indexes' WHERE clause; they
-- carry `status` so that a count or a page never reads the rows to check it.
DROP INDEX provisioning_log_outcome;
DROP INDEX provisioning_log_resource_outcome;
CREATE INDEX provisioning_log_failures ON provisioning_log(tenant_id, id, status) WHERE status >= 400;
CREATE INDEX provisioning_log_resource_failures ON provisioning_log(tenant_id, resource_type, id, status) WHERE status >= 400;
-- Representative statistics (as in 0005): a tenant's log of 1,000,000
-- entries, 1 % of them failures, so that "failed" starts from its own index.
DELETE FROM sqlite_stat1 WHERE tbl = 'provisioning_log';
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('provisioning_log', 'provisioning_log_tenant', '1000000 1000000 1'),
    ('provisioning_log', 'provisioning_log_resource', '1000000 1000000 500000 1'),
    ('provisioning_log', 'provisioning_log_failures', '10000 10000 1 1'),
    ('provisioning_log', 'provisioning_log_resource_failures', '10000 10000 5000 1 1');
ANALYZE sqlite_schema;
