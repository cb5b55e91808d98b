-- How many users and groups each tenant has ever deleted, kept by the same
-- triggers as the counts. New rows always take the highest id, so only a
-- delete moves an existing row to an earlier position in id order: the
-- remembered positions of deep pages (domain::paging) are valid for as long
-- as this number has not changed.
ALTER TABLE tenants ADD COLUMN user_deletions INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN group_deletions INTEGER NOT NULL DEFAULT 0;

DROP TRIGGER users_uncounted;
CREATE TRIGGER users_uncounted AFTER DELETE ON users BEGIN
    UPDATE tenants SET user_count = user_count - 1, user_deletions = user_deletions + 1 WHERE id = OLD.tenant_id;
END;
DROP TRIGGER groups_uncounted;
CREATE TRIGGER groups_uncounted AFTER DELETE ON groups BEGIN
    UPDATE tenants SET group_count = group_count - 1, group_deletions = group_deletions + 1 WHERE id = OLD.tenant_id;
END;
