-- The three plans of API.md. Limits are per tenant; operators assign plans.
INSERT INTO `plans` (`id`, `name`, `seats`, `concurrent_sessions`, `storage_bytes`, `requests_per_minute`, `requests_per_month`) VALUES
  ('free', 'Free', 5, 10, 1073741824, 120, 100000),
  ('standard', 'Standard', 50, 100, 53687091200, 600, 2000000),
  ('enterprise', 'Enterprise', 1000, 2000, 1099511627776, 3000, 20000000);
--> statement-breakpoint
-- Audit events are append-only: no statement may rewrite one. (Deletion is
-- left to tenant termination; the hash chain makes any other gap visible.)
CREATE TRIGGER `audit_events_no_update` BEFORE UPDATE ON `audit_events`
BEGIN
  SELECT RAISE(ABORT, 'audit events are append-only');
END;
