-- A payment by its merchant's reference (replays, status inquiries) must be found through an
-- index on both columns whatever the statistics say. PostgreSQL plans a prepared statement once
-- per connection; on a fresh, still empty table it costed the (merchant_id, partner_reference_no)
-- key and the merchant-first portal indexes the same and picked one of the latter, so every
-- lookup then walked all of the merchant's payments until the next ANALYZE (never, with
-- autovacuum off). With the reference first, no merchant-first index competes. Portable SQL;
-- the portal's search by reference uses the same index.
DROP INDEX payments_by_reference;
CREATE UNIQUE INDEX payments_by_reference ON payments (partner_reference_no, merchant_id);
