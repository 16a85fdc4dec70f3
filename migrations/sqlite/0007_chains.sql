-- Cross-capability chains: a document may carry an email to send once it is ready (a receipt to
-- the customer, a certificate to its recipient); a report records the emails that carry its files.

-- The email to create once the document is ready (JSON), the email once created (its id is
-- derived from the document id, so creating it twice is a no-op), or why it could not be created.
ALTER TABLE documents ADD COLUMN follow_up TEXT;
ALTER TABLE documents ADD COLUMN email_id TEXT;
ALTER TABLE documents ADD COLUMN email_error TEXT;

-- The emails that carry a report's CSV and PDF (JSON list of ids, one per recipient), or why
-- they could not be created.
ALTER TABLE reports ADD COLUMN email_ids TEXT;
ALTER TABLE reports ADD COLUMN email_error TEXT;
