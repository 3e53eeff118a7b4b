-- Portable SQL: runs unchanged on SQLite and PostgreSQL. Times are Unix milliseconds (BIGINT),
-- money is integer minor units (BIGINT), ids are prefixed text.

CREATE TABLE gateway_keys (
    id              TEXT PRIMARY KEY,
    private_key_pem TEXT NOT NULL,
    token_key       TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);

CREATE TABLE merchants (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    client_id      TEXT NOT NULL UNIQUE,
    client_secret  TEXT NOT NULL,
    public_key_pem TEXT NOT NULL,
    notify_url     TEXT,
    created_at     BIGINT NOT NULL
);

-- SNAP X-EXTERNAL-ID: unique per merchant per Jakarta calendar day.
CREATE TABLE external_ids (
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    day         TEXT NOT NULL,
    external_id TEXT NOT NULL,
    path        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, day, external_id)
);
