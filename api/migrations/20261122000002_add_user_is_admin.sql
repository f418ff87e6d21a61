-- Administrators may update and delete other users.
ALTER TABLE users ADD COLUMN is_admin boolean NOT NULL DEFAULT false;
