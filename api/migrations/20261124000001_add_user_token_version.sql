-- Tokens carry the version they were issued under; bumping it (password change,
-- deactivation, sign-out) ends every token issued before.
SET LOCAL lock_timeout = '5s';
ALTER TABLE users ADD COLUMN token_version integer NOT NULL DEFAULT 0;
