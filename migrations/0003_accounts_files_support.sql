CREATE TABLE `files` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`content_type` text NOT NULL,
	`size_bytes` integer NOT NULL,
	`sha256` text NOT NULL,
	`created_at` text NOT NULL,
	`created_by` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `files_tenant_name` ON `files` (`tenant_id`,`name`);--> statement-breakpoint
CREATE INDEX `files_tenant_id` ON `files` (`tenant_id`,`id`);--> statement-breakpoint
CREATE TABLE `support_grants` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`granted_by` text NOT NULL,
	`granted_at` text NOT NULL,
	`expires_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
ALTER TABLE `tenants` ADD `storage_used_bytes` integer DEFAULT 0 NOT NULL;