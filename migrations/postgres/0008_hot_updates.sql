-- Rows that are updated soon after they are written (a payment on every event, an inbox row
-- once applied, an email three times while it is sent, a document twice while it renders)
-- keep room on their page, so PostgreSQL can write the new version beside the old one (a HOT
-- update when no indexed column changes) instead of on another page. Applies to pages written
-- from now on.
ALTER TABLE payments SET (fillfactor = 70);
ALTER TABLE webhook_events SET (fillfactor = 80);
ALTER TABLE emails SET (fillfactor = 70);
ALTER TABLE documents SET (fillfactor = 80);
