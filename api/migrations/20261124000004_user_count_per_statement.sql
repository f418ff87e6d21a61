-- The user count of `user_count` moves once per statement instead of once per row: a
-- row trigger updated the one counter row for every user a statement inserted or
-- deleted, each update walking the chain of that row's versions the same transaction
-- had made, so a bulk insert slowed down quadratically (100,000 users in one statement
-- took over a minute). Transition tables give each statement's rows at once.
SET LOCAL lock_timeout = '5s';
-- No insert or delete may slip between dropping the old triggers and creating the new.
LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE;

DROP TRIGGER users_count ON users;
DROP TRIGGER users_count_truncate ON users;
DROP FUNCTION user_count_follow();

CREATE FUNCTION user_count_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE user_count SET n = n + (SELECT count(*) FROM inserted);
    RETURN NULL;
END
$$;

CREATE FUNCTION user_count_subtract() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE user_count SET n = n - (SELECT count(*) FROM deleted);
    RETURN NULL;
END
$$;

CREATE FUNCTION user_count_reset() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE user_count SET n = 0;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_count_insert AFTER INSERT ON users
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION user_count_add();
CREATE TRIGGER users_count_delete AFTER DELETE ON users
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION user_count_subtract();
CREATE TRIGGER users_count_truncate AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION user_count_reset();
