-- Webhook, notification and exchange deliveries are leased through the generic
-- leases table (kinds webhook, notify, exchange; store/lease.go; the holder
-- is the claim token) instead of their own claim_token column.
ALTER TABLE webhook_outbox DROP COLUMN claim_token;
ALTER TABLE notify_outbox DROP COLUMN claim_token;
ALTER TABLE exchange_outbox DROP COLUMN claim_token;
