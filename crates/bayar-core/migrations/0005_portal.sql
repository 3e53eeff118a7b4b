-- The merchant portal: its users and their sessions, the grace period of rotated client
-- secrets, and indexes that keep the portal's payment and event lists fast at 100k rows.
-- Portable SQL (SQLite and PostgreSQL).

-- A portal user signs in with an email and a password (argon2id PHC string). An operator sees
-- every merchant; a merchant user exactly one. Failed logins are counted; the fifth in a row
-- locks the account until `locked_until` (Unix ms).
CREATE TABLE portal_users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('merchant', 'operator')),
    merchant_id   TEXT REFERENCES merchants (id),
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until  BIGINT,
    created_at    BIGINT NOT NULL,
    CHECK ((role = 'merchant' AND merchant_id IS NOT NULL)
        OR (role = 'operator' AND merchant_id IS NULL))
);
CREATE INDEX portal_users_by_merchant ON portal_users (merchant_id);

-- Only the SHA-256 of a session token is stored: a copy of this table opens no session.
CREATE TABLE portal_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES portal_users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX portal_sessions_by_user ON portal_sessions (user_id);

-- After a rotation the previous client secret keeps verifying signatures until `valid_until`,
-- so a merchant can roll its servers over without a failed request.
CREATE TABLE previous_client_secrets (
    merchant_id   TEXT PRIMARY KEY REFERENCES merchants (id),
    client_secret TEXT NOT NULL,
    valid_until   BIGINT NOT NULL
);

-- Payment ids are ULIDs: ordering by id is ordering by creation, so (merchant_id, id) serves
-- the portal's newest-first keyset pages, and (merchant_id, created_at) its date ranges.
CREATE INDEX payments_by_merchant ON payments (merchant_id, id);
CREATE INDEX payments_by_merchant_created ON payments (merchant_id, created_at);
-- A status filter that matches few payments (failed, expired) must not scan the others.
CREATE INDEX payments_by_merchant_status ON payments (merchant_id, status, id);
-- Reference search, for operators across every merchant too.
CREATE INDEX payments_by_reference ON payments (partner_reference_no);
-- A payment's notifications, for its detail page.
CREATE INDEX events_by_subject ON events (subject_id);

-- Every signed API call a merchant made: what was asked and how bayar answered, never headers
-- or bodies (they hold tokens and signatures). `id` is a ULID: newest-first pages by id.
CREATE TABLE api_log (
    id            TEXT PRIMARY KEY,
    merchant_id   TEXT NOT NULL REFERENCES merchants (id),
    at            BIGINT NOT NULL,
    method        TEXT NOT NULL,
    path          TEXT NOT NULL,
    http_status   BIGINT NOT NULL,
    response_code TEXT,
    message       TEXT,
    latency_ms    BIGINT NOT NULL
);
CREATE INDEX api_log_by_merchant ON api_log (merchant_id, id);
