CREATE TABLE `tenant_keys` (
	`key_id` text PRIMARY KEY NOT NULL,
	`tenant_id` text,
	`purpose` text NOT NULL,
	`wrapped` text,
	`master_key_id` text NOT NULL,
	`created_at` text NOT NULL,
	`destroyed_at` text
);
--> statement-breakpoint
CREATE INDEX `tenant_keys_tenant` ON `tenant_keys` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `tenant_keys_master` ON `tenant_keys` (`master_key_id`);