-- Banking: accounts, the double-entry ledger, idempotency keys and the outbox.
--
-- Money is a bigint count of the currency's minor unit (cents for EUR), never a float.
-- Every movement debits one account and credits another by the same amount, and writes
-- one entry for each side, so the entries of a movement always sum to zero. Deposits
-- and withdrawals move money between a customer's account and the bank's own account
-- for that currency (kind 'external'), which stands for money outside the system: the
-- customers' balances together always equal minus its entries' sum.
SET LOCAL lock_timeout = '5s';

CREATE TABLE accounts (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    -- NULL only for the bank's external account of a currency. A user with accounts
    -- cannot be deleted: the ledger keeps who held the money.
    owner_id   uuid        REFERENCES users (id) ON DELETE RESTRICT,
    kind       text        NOT NULL DEFAULT 'customer' CHECK (kind IN ('customer', 'external')),
    name       text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    currency   text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- Kept for customer accounts, under the movements' row locks. The external account's
    -- balance is its entries' sum, never stored: every deposit would otherwise wait on
    -- that one row.
    balance    bigint      NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    closed_at  timestamptz,
    CONSTRAINT accounts_owner_matches_kind CHECK ((kind = 'customer') = (owner_id IS NOT NULL)),
    CONSTRAINT accounts_balance_not_negative CHECK (balance >= 0),
    CONSTRAINT accounts_closed_at_zero CHECK (closed_at IS NULL OR balance = 0)
);

-- One external account per currency, made on the first deposit in it.
CREATE UNIQUE INDEX accounts_external_currency_key ON accounts (currency) WHERE kind = 'external';
-- A user's accounts, oldest first; and everyone's, for administrators.
CREATE INDEX accounts_owner_created_idx ON accounts (owner_id, created_at, id);
CREATE INDEX accounts_created_idx ON accounts (created_at, id);

CREATE TABLE movements (
    id                uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    kind              text        NOT NULL CHECK (kind IN ('deposit', 'withdrawal', 'transfer')),
    debit_account_id  uuid        NOT NULL REFERENCES accounts (id),
    credit_account_id uuid        NOT NULL REFERENCES accounts (id),
    amount            bigint      NOT NULL CHECK (amount > 0),
    currency          text        NOT NULL,
    description       text        CHECK (char_length(description) <= 140),
    -- Who asked for it (no foreign key: the record outlives a deleted administrator).
    initiated_by      uuid        NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT movements_two_accounts CHECK (debit_account_id <> credit_account_id)
);

CREATE TABLE entries (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    movement_id   uuid        NOT NULL REFERENCES movements (id),
    account_id    uuid        NOT NULL REFERENCES accounts (id),
    -- Positive credits the account, negative debits it.
    amount        bigint      NOT NULL CHECK (amount <> 0),
    -- The account's balance right after this entry; NULL on the external account.
    balance_after bigint,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- A statement: an account's entries, newest first, continued by entry id.
CREATE INDEX entries_account_id_idx ON entries (account_id, id DESC);
CREATE INDEX entries_movement_idx ON entries (movement_id);

-- A movement's entries must balance, checked when its transaction commits (whatever
-- code wrote them).
CREATE FUNCTION entries_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT coalesce(sum(amount), 0) FROM entries WHERE movement_id = NEW.movement_id) <> 0 THEN
        RAISE EXCEPTION 'the entries of movement % do not balance', NEW.movement_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER entries_balance AFTER INSERT ON entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION entries_balance();

-- The ledger is append-only.
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are never changed or removed', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER movements_append_only BEFORE UPDATE OR DELETE ON movements
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

-- Idempotency keys (the Idempotency-Key header), per user: the first request's result,
-- returned again for a retry with the same key and body. An expired key may be used
-- again; `api worker` deletes expired ones.
CREATE TABLE idempotency_keys (
    user_id     uuid        NOT NULL,
    key         text        NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    -- SHA-256 of the request (method, route and parsed body).
    fingerprint bytea       NOT NULL,
    status      smallint,
    response    jsonb,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);

-- The transactional outbox: events written in the transaction of the change they
-- describe, relayed to RabbitMQ by `api worker`, marked published on the broker's
-- confirm.
CREATE TABLE outbox (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     uuid        NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    routing_key  text        NOT NULL,
    payload      jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    published_at timestamptz
);

CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
