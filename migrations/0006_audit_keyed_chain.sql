ALTER TABLE `audit_events` ADD `service_request_id` text;--> statement-breakpoint
ALTER TABLE `audit_events` ADD `hash_alg` text DEFAULT 'sha256' NOT NULL;--> statement-breakpoint
CREATE INDEX `audit_tenant_service_request` ON `audit_events` (`tenant_id`,`service_request_id`);--> statement-breakpoint
CREATE INDEX `audit_service_request` ON `audit_events` (`service_request_id`);