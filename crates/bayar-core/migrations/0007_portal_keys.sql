-- Rolling a secret API key from the portal: the rolled key keeps authenticating until
-- `expires_at` (Unix ms; NULL: no end), so a merchant can move its servers to the new key
-- without a failed request; and the portal names a key by its last 4 characters (bayar keeps
-- only the key's hash; NULL for keys made before this migration). Portable SQL.
ALTER TABLE api_keys ADD COLUMN last4 TEXT;
ALTER TABLE api_keys ADD COLUMN expires_at BIGINT;
