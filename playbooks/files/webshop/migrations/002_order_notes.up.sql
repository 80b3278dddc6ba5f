-- Additive: release 1.0.0 never reads the column, so it keeps working on this schema.
ALTER TABLE orders ADD COLUMN note text NOT NULL DEFAULT '';
INSERT INTO schema_migrations (name) VALUES ('002_order_notes');
