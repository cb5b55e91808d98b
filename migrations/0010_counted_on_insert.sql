-- A new user or group is counted by the statement that creates it (domain
-- users::create, groups::create), not by a trigger. An AFTER INSERT trigger
-- made each create's INSERT a multi-statement write that SQLite must be able
-- to undo on its own, so it copied every page the INSERT touched (the table
-- and its four indexes) into a statement journal first: 5 % of a create.
-- Deletions stay counted by their triggers: a delete can remove many rows
-- (ON DELETE CASCADE) and is rare.
DROP TRIGGER users_counted;
DROP TRIGGER groups_counted;
