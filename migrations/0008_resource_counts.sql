-- Each tenant's number of users and groups, kept by triggers: an unfiltered
-- list's totalResults (every page of an Okta-style walk) is then one row
-- read instead of counting the tenant's index (2-3 ms at 100,000 users).
ALTER TABLE tenants ADD COLUMN user_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN group_count INTEGER NOT NULL DEFAULT 0;
UPDATE tenants SET
    user_count = (SELECT COUNT(*) FROM users u WHERE u.tenant_id = tenants.id),
    group_count = (SELECT COUNT(*) FROM groups g WHERE g.tenant_id = tenants.id);

CREATE TRIGGER users_counted AFTER INSERT ON users BEGIN
    UPDATE tenants SET user_count = user_count + 1 WHERE id = NEW.tenant_id;
END;
CREATE TRIGGER users_uncounted AFTER DELETE ON users BEGIN
    UPDATE tenants SET user_count = user_count - 1 WHERE id = OLD.tenant_id;
END;
CREATE TRIGGER groups_counted AFTER INSERT ON groups BEGIN
    UPDATE tenants SET group_count = group_count + 1 WHERE id = NEW.tenant_id;
END;
CREATE TRIGGER groups_uncounted AFTER DELETE ON groups BEGIN
    UPDATE tenants SET group_count = group_count - 1 WHERE id = OLD.tenant_id;
END;
