-- The portal at 100k payments and more (bench: `bayar-bench portal`). Portable SQL.
--
-- Payments list: ids carry their creation time (`PaymentId::created_at`), so a date range is an
-- id range and every filter walks (merchant_id, id) newest first. The index also holds the
-- columns the filters test, so payments that do not match are skipped without reading their
-- rows; the created_at index is no longer needed.
DROP INDEX payments_by_merchant;
DROP INDEX payments_by_merchant_created;
CREATE INDEX payments_by_merchant ON payments (merchant_id, id, status, channel, amount);

-- Reports: daily volume per channel read from the index alone.
CREATE INDEX payments_paid_by_merchant
    ON payments (merchant_id, status, paid_at, channel, amount, fee, refunded);

-- The integration checklist: one row per distinct outcome of a merchant's calls, kept up to
-- date with every batch of API log rows, instead of grouping the whole log on each page view.
-- A missing code or message is stored as '' (it is part of the key).
CREATE TABLE api_outcomes (
    merchant_id    TEXT NOT NULL REFERENCES merchants (id),
    method         TEXT NOT NULL,
    path           TEXT NOT NULL,
    http_status    BIGINT NOT NULL,
    response_code  TEXT NOT NULL,
    message        TEXT NOT NULL,
    last_id        TEXT NOT NULL,
    last_at        BIGINT NOT NULL,
    max_latency_ms BIGINT NOT NULL,
    calls          BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, method, path, http_status, response_code, message)
);
INSERT INTO api_outcomes
SELECT merchant_id, method, path, http_status, COALESCE(response_code, ''),
       COALESCE(message, ''), MAX(id), MAX(at), MAX(latency_ms), COUNT(*)
FROM api_log
GROUP BY merchant_id, method, path, http_status, COALESCE(response_code, ''),
         COALESCE(message, '');
