-- Users. Email and username are unique regardless of case; the unique indexes (not a
-- SELECT before INSERT) decide conflicts, so racing sign-ups cannot both win.
CREATE TABLE users (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text        NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    username      text        NOT NULL CHECK (username ~ '^[A-Za-z0-9_.-]{3,50}$'),
    full_name     text        CHECK (char_length(full_name) <= 255),
    password_hash text        NOT NULL,
    is_active     boolean     NOT NULL DEFAULT true,
    is_verified   boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
-- Serves the newest-first listing with its tie-breaker.
CREATE INDEX users_created_at_id_idx ON users (created_at DESC, id DESC);
