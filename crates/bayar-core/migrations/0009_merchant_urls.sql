-- Per-face notification URLs and a default return URL, set in the portal. A face's URL, when
-- set, takes the place of `notify_url` for that face's notifications (a payment's own URL from
-- its request still wins); `return_url` is where the hosted pages send the customer after a
-- payment whose request named none. Portable SQL.
ALTER TABLE merchants ADD COLUMN doku_notify_url TEXT;
ALTER TABLE merchants ADD COLUMN dana_notify_url TEXT;
ALTER TABLE merchants ADD COLUMN return_url TEXT;
