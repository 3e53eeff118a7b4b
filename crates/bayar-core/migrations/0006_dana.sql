-- One-time tokens (DANA's apply OTT): a bound wallet customer's single-use, short-lived pass
-- to the hosted wallet page. Only the token's SHA-256 is kept; `used_at` is set once, by the
-- redemption, so a second use finds nothing to use.
CREATE TABLE one_time_tokens (
    token_hash  TEXT PRIMARY KEY,
    binding_id  TEXT NOT NULL REFERENCES bindings (id),
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX one_time_tokens_by_binding ON one_time_tokens (binding_id);
