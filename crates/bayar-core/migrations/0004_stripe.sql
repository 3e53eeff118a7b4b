-- The Stripe-style API (WooshPay): secret API keys and payment intents. Portable SQL.

-- Secret API keys (`sk_test_...`): only the lowercase hex SHA-256 of a key is kept, so a
-- leaked database does not leak working keys; the key itself is shown once at creation.
CREATE TABLE api_keys (
    key_hash    TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    created_at  BIGINT NOT NULL
);
CREATE INDEX api_keys_by_merchant ON api_keys (merchant_id);

-- Payment intents (`pi_...`): what a merchant means to collect. Until it is confirmed an
-- intent has no payment; confirming creates one (a new one after a failed attempt), whose
-- state then decides the intent's. Amounts are minor units like everywhere else.
CREATE TABLE payment_intents (
    id                   TEXT PRIMARY KEY,
    merchant_id          TEXT NOT NULL REFERENCES merchants (id),
    amount               BIGINT NOT NULL CHECK (amount > 0),
    currency             TEXT NOT NULL,
    status               TEXT NOT NULL,
    payment_method       TEXT,
    payment_id           TEXT UNIQUE REFERENCES payments (id),
    attempts             BIGINT NOT NULL DEFAULT 0,
    client_secret        TEXT NOT NULL,
    return_url           TEXT,
    description          TEXT,
    metadata             TEXT NOT NULL,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE INDEX payment_intents_by_merchant ON payment_intents (merchant_id, id);

-- Checkout sessions (`cs_...`): a hosted checkout page for line items, paid through its own
-- payment intent. `status` is `open` or `expired`; "complete" is read from the intent's payment.
-- Line items are kept as the JSON the session was created with (prices in minor units).
CREATE TABLE checkout_sessions (
    id           TEXT PRIMARY KEY,
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    intent_id    TEXT NOT NULL UNIQUE REFERENCES payment_intents (id),
    status       TEXT NOT NULL,
    success_url  TEXT NOT NULL,
    cancel_url   TEXT,
    line_items   TEXT NOT NULL,
    amount_total BIGINT NOT NULL CHECK (amount_total > 0),
    expires_at   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX checkout_sessions_by_merchant ON checkout_sessions (merchant_id, id);

-- Webhook endpoints (`we_...`): where the Stripe-style API's events go, signed with the
-- endpoint's secret (`whsec_...`). The secret is an HMAC key bayar must use to sign, so it is
-- kept as the SNAP client secret is; it is shown to the merchant once, at creation.
CREATE TABLE webhook_endpoints (
    id             TEXT PRIMARY KEY,
    merchant_id    TEXT NOT NULL REFERENCES merchants (id),
    url            TEXT NOT NULL,
    secret         TEXT NOT NULL,
    enabled_events TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    deleted_at     BIGINT
);
CREATE INDEX webhook_endpoints_by_merchant ON webhook_endpoints (merchant_id, id);
