-- Account bindings: a customer's bank account linked to a merchant after OTP and PIN.
CREATE TABLE bindings (
    id               TEXT PRIMARY KEY,
    merchant_id      TEXT NOT NULL REFERENCES merchants (id),
    customer_id      TEXT NOT NULL REFERENCES customers (id),
    cust_id_merchant TEXT NOT NULL,
    status           TEXT NOT NULL,
    otp              TEXT NOT NULL,
    otp_expires_at   BIGINT NOT NULL,
    failures         BIGINT NOT NULL DEFAULT 0,
    success_url      TEXT NOT NULL,
    failed_url       TEXT NOT NULL,
    auth_code_hash   TEXT UNIQUE,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
-- One bank account is bound at most once per merchant.
CREATE UNIQUE INDEX bindings_one_active ON bindings (merchant_id, customer_id)
    WHERE status = 'active';
CREATE INDEX bindings_by_customer ON bindings (customer_id);
