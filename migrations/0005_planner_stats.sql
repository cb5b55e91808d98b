-- Representative planner statistics. Without them SQLite guesses that an
-- equality on tenant_id matches about ten rows, and so prefers walking a
-- tenant's users to using the e-mail index. These figures describe a
-- tenant of 100,000 users, 1,000 groups and 100,000 memberships: every
-- lookup then starts from its most selective index, whatever the real size.
-- A later ANALYZE (or PRAGMA optimize) replaces them with measured ones.
-- Analysing a small table creates sqlite_stat1 (it cannot be created directly).
ANALYZE tenants;
DELETE FROM sqlite_stat1 WHERE tbl IN ('users', 'user_emails', 'groups', 'group_members');
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('users', 'users_scim_id', '100000 100000 1'),
    ('users', 'users_user_name', '100000 100000 1'),
    ('users', 'users_external_id', '100000 100000 1'),
    ('user_emails', 'user_emails', '100000 1 1'),
    ('user_emails', 'user_emails_value', '100000 100000 1'),
    ('groups', 'groups_scim_id', '1000 1000 1'),
    ('groups', 'groups_display_name', '1000 1000 1'),
    ('groups', 'groups_external_id', '1000 1000 1'),
    ('group_members', 'group_members', '100000 100 1'),
    ('group_members', 'group_members_user', '100000 2 1');
-- Load them into this connection's planner now.
ANALYZE sqlite_schema;
