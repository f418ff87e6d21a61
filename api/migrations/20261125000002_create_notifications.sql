-- Notifications: what `api worker` made of the ledger's events, per user. One per event
-- and user: a redelivered event (after a crash between writing and acknowledging it)
-- finds its notifications there and adds none.
SET LOCAL lock_timeout = '5s';

CREATE TABLE notifications (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    event_id   uuid        NOT NULL,
    kind       text        NOT NULL,
    message    text        NOT NULL,
    -- The event's facts for this user: movement, account, signed amount, currency.
    data       jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    read_at    timestamptz,
    CONSTRAINT notifications_event_user_key UNIQUE (event_id, user_id)
);

-- A user's notifications, newest first; and their unread count.
CREATE INDEX notifications_user_id_idx ON notifications (user_id, id DESC);
CREATE INDEX notifications_unread_idx ON notifications (user_id) WHERE read_at IS NULL;
