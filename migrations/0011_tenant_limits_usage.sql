CREATE TABLE `tenant_usage` (
	`tenant_id` text NOT NULL,
	`month` text NOT NULL,
	`shard` integer NOT NULL,
	`requests` integer NOT NULL,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`tenant_id`, `month`, `shard`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
ALTER TABLE `tenants` ADD `limit_seats` integer;--> statement-breakpoint
ALTER TABLE `tenants` ADD `limit_concurrent_sessions` integer;--> statement-breakpoint
ALTER TABLE `tenants` ADD `limit_storage_bytes` integer;--> statement-breakpoint
ALTER TABLE `tenants` ADD `limit_requests_per_minute` integer;--> statement-breakpoint
ALTER TABLE `tenants` ADD `limit_requests_per_month` integer;