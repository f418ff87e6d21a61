-- The listing's `total` without counting the whole table on every page: an exact count
-- the database keeps, one row changed by a trigger in the same transaction as each
-- insert or delete. Sign-ups update that row one after another, which their password
-- hashing (tens per second at most) never notices.
SET LOCAL lock_timeout = '5s';
-- No insert or delete may slip between the count below and the trigger.
LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE user_count (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    n   bigint  NOT NULL CHECK (n >= 0)
);
INSERT INTO user_count (n) SELECT count(*) FROM users;

CREATE FUNCTION user_count_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE user_count SET n = n + 1;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE user_count SET n = n - 1;
    ELSE
        UPDATE user_count SET n = 0;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_count AFTER INSERT OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION user_count_follow();
CREATE TRIGGER users_count_truncate AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION user_count_follow();
