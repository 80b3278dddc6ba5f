-- The undo of 002_order_notes (idempotent): run once every web host is back on 1.0.0.
ALTER TABLE orders DROP COLUMN IF EXISTS note;
DELETE FROM schema_migrations WHERE name = '002_order_notes';
