-- The double-entry ledger, the rails' customers, payments, refunds, disbursements,
-- idempotency records and the notification outbox. Portable SQL (SQLite and PostgreSQL).

-- balance = posted credits - posted debits. An account with no_negative = 1 may never have
-- balance - pending_debits < 0; the check is part of the UPDATE that moves the money.
CREATE TABLE accounts (
    id              TEXT PRIMARY KEY,
    code            TEXT NOT NULL,
    owner_id        TEXT,
    no_negative     BIGINT NOT NULL,
    balance         BIGINT NOT NULL DEFAULT 0,
    pending_debits  BIGINT NOT NULL DEFAULT 0 CHECK (pending_debits >= 0),
    pending_credits BIGINT NOT NULL DEFAULT 0 CHECK (pending_credits >= 0),
    created_at      BIGINT NOT NULL
);

INSERT INTO accounts (id, code, owner_id, no_negative, created_at) VALUES
    ('acc_world', 'world', NULL, 0, 0),
    ('acc_gateway_fees', 'gateway_fees', NULL, 1, 0);

INSERT INTO accounts (id, code, owner_id, no_negative, created_at)
    SELECT 'acc_' || id || '_available', 'merchant_available', id, 1, created_at FROM merchants;
INSERT INTO accounts (id, code, owner_id, no_negative, created_at)
    SELECT 'acc_' || id || '_deposit', 'merchant_deposit', id, 1, created_at FROM merchants;

-- Transfers are immutable. A pending transfer (a hold) is resolved by a later post_pending or
-- void_pending transfer naming it; the unique pending_id allows one resolution only.
CREATE TABLE transfers (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    pending_id  TEXT UNIQUE REFERENCES transfers (id),
    fingerprint TEXT NOT NULL,
    memo        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE transfer_legs (
    transfer_id    TEXT NOT NULL REFERENCES transfers (id),
    leg            BIGINT NOT NULL,
    debit_account  TEXT NOT NULL REFERENCES accounts (id),
    credit_account TEXT NOT NULL REFERENCES accounts (id),
    amount         BIGINT NOT NULL CHECK (amount > 0),
    PRIMARY KEY (transfer_id, leg)
);

-- Posted movements only: an account's balance is the sum of its entries.
CREATE TABLE entries (
    transfer_id TEXT NOT NULL REFERENCES transfers (id),
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    amount      BIGINT NOT NULL,
    PRIMARY KEY (transfer_id, account_id)
);
CREATE INDEX entries_by_account ON entries (account_id);

CREATE TABLE customers (
    id             TEXT PRIMARY KEY,
    rail           TEXT NOT NULL,
    phone          TEXT NOT NULL,
    account_number TEXT UNIQUE,
    pin_hash       TEXT NOT NULL,
    status         TEXT NOT NULL,
    account_id     TEXT NOT NULL REFERENCES accounts (id),
    created_at     BIGINT NOT NULL,
    UNIQUE (rail, phone)
);

CREATE TABLE payments (
    id                   TEXT PRIMARY KEY,
    merchant_id          TEXT NOT NULL REFERENCES merchants (id),
    partner_reference_no TEXT NOT NULL,
    external_id          TEXT NOT NULL,
    channel              TEXT NOT NULL,
    face                 TEXT NOT NULL,
    amount               BIGINT NOT NULL CHECK (amount > 0),
    fee                  BIGINT NOT NULL DEFAULT 0,
    refunded             BIGINT NOT NULL DEFAULT 0,
    refund_count         BIGINT NOT NULL DEFAULT 0,
    status               TEXT NOT NULL,
    customer_id          TEXT REFERENCES customers (id),
    title                TEXT,
    return_url           TEXT,
    notify_url           TEXT,
    pin_failures         BIGINT NOT NULL DEFAULT 0,
    valid_until          BIGINT,
    failure              TEXT,
    fingerprint          TEXT NOT NULL,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    paid_at              BIGINT,
    UNIQUE (merchant_id, partner_reference_no),
    CHECK (refunded <= amount)
);
CREATE INDEX payments_open_by_deadline ON payments (valid_until)
    WHERE status IN ('created', 'paying');

CREATE TABLE refunds (
    id               TEXT PRIMARY KEY,
    payment_id       TEXT NOT NULL REFERENCES payments (id),
    merchant_id      TEXT NOT NULL REFERENCES merchants (id),
    partner_refund_no TEXT NOT NULL,
    amount           BIGINT NOT NULL CHECK (amount > 0),
    reason           TEXT,
    fingerprint      TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    UNIQUE (merchant_id, partner_refund_no)
);

CREATE TABLE disbursements (
    id                   TEXT PRIMARY KEY,
    merchant_id          TEXT NOT NULL REFERENCES merchants (id),
    partner_reference_no TEXT NOT NULL,
    customer_id          TEXT REFERENCES customers (id),
    amount               BIGINT NOT NULL CHECK (amount > 0),
    fee                  BIGINT NOT NULL,
    status               TEXT NOT NULL,
    failure              TEXT,
    fingerprint          TEXT NOT NULL,
    created_at           BIGINT NOT NULL,
    UNIQUE (merchant_id, partner_reference_no)
);

-- Replay records (Stripe-style Idempotency-Key and the like): the response is stored in the
-- same transaction as the change it describes.
CREATE TABLE idempotency (
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    scope       TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      BIGINT NOT NULL,
    body        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, scope, key)
);

-- The outbox: one row per event, written with the state change it reports.
CREATE TABLE events (
    id              TEXT PRIMARY KEY,
    merchant_id     TEXT NOT NULL REFERENCES merchants (id),
    kind            TEXT NOT NULL,
    subject_id      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    delivered_at    BIGINT,
    given_up_at     BIGINT,
    locked_by       TEXT,
    locked_until    BIGINT
);
CREATE INDEX events_due ON events (next_attempt_at)
    WHERE delivered_at IS NULL AND given_up_at IS NULL;

CREATE TABLE event_attempts (
    event_id         TEXT NOT NULL REFERENCES events (id),
    attempt          BIGINT NOT NULL,
    started_at       BIGINT NOT NULL,
    latency_ms       BIGINT NOT NULL,
    http_status      BIGINT,
    error            TEXT,
    response_snippet TEXT,
    PRIMARY KEY (event_id, attempt)
);
