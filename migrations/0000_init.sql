CREATE TABLE `audit_events` (
	`id` text PRIMARY KEY NOT NULL,
	`chain` text NOT NULL,
	`seq` integer NOT NULL,
	`tenant_id` text,
	`at` text NOT NULL,
	`actor_type` text NOT NULL,
	`actor_id` text,
	`action` text NOT NULL,
	`category` text NOT NULL,
	`target_type` text,
	`target_id` text,
	`request_id` text,
	`ip` text,
	`user_agent` text,
	`outcome` text NOT NULL,
	`details` text DEFAULT '{}' NOT NULL,
	`prev_hash` text NOT NULL,
	`hash` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `audit_chain_seq` ON `audit_events` (`chain`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_tenant_id` ON `audit_events` (`tenant_id`,`id`);--> statement-breakpoint
CREATE INDEX `audit_tenant_request` ON `audit_events` (`tenant_id`,`request_id`);--> statement-breakpoint
CREATE INDEX `audit_tenant_actor` ON `audit_events` (`tenant_id`,`actor_id`);--> statement-breakpoint
CREATE INDEX `audit_tenant_target` ON `audit_events` (`tenant_id`,`target_id`);--> statement-breakpoint
CREATE INDEX `audit_tenant_action` ON `audit_events` (`tenant_id`,`action`);--> statement-breakpoint
CREATE INDEX `audit_request` ON `audit_events` (`request_id`);--> statement-breakpoint
CREATE TABLE `operators` (
	`id` text PRIMARY KEY NOT NULL,
	`email` text NOT NULL,
	`name` text NOT NULL,
	`password_hash` text NOT NULL,
	`password_changed_at` text NOT NULL,
	`created_at` text NOT NULL,
	`last_login_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `operators_email_unique` ON `operators` (`email`);--> statement-breakpoint
CREATE TABLE `plans` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`seats` integer NOT NULL,
	`concurrent_sessions` integer NOT NULL,
	`storage_bytes` integer NOT NULL,
	`requests_per_minute` integer NOT NULL,
	`requests_per_month` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `records` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`collection` text NOT NULL,
	`data` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`created_by` text NOT NULL,
	`updated_by` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `records_tenant_id` ON `records` (`tenant_id`,`id`);--> statement-breakpoint
CREATE INDEX `records_tenant_collection` ON `records` (`tenant_id`,`collection`,`id`);--> statement-breakpoint
CREATE TABLE `tenants` (
	`id` text PRIMARY KEY NOT NULL,
	`slug` text NOT NULL,
	`name` text NOT NULL,
	`plan_id` text NOT NULL,
	`status` text NOT NULL,
	`contact_email` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`plan_id`) REFERENCES `plans`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tenants_slug_unique` ON `tenants` (`slug`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`email` text NOT NULL,
	`name` text NOT NULL,
	`role` text NOT NULL,
	`status` text NOT NULL,
	`permissions` text NOT NULL,
	`password_hash` text NOT NULL,
	`password_changed_at` text NOT NULL,
	`must_change_password` integer NOT NULL,
	`created_at` text NOT NULL,
	`created_by` text NOT NULL,
	`updated_at` text NOT NULL,
	`last_login_at` text,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_tenant_email` ON `users` (`tenant_id`,`email`);