CREATE TABLE `account_networks` (
	`tenant_id` text NOT NULL,
	`account_id` text NOT NULL,
	`network` text NOT NULL,
	`first_seen_at` text NOT NULL,
	`last_seen_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`account_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `account_networks_account_network` ON `account_networks` (`account_id`,`network`);--> statement-breakpoint
CREATE TABLE `alert_counters` (
	`key` text NOT NULL,
	`window_start` text NOT NULL,
	`tenant_id` text,
	`count` integer DEFAULT 0 NOT NULL,
	`fired` integer DEFAULT false NOT NULL,
	`window_end` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `alert_counters_key_window` ON `alert_counters` (`key`,`window_start`);--> statement-breakpoint
CREATE INDEX `alert_counters_window_end` ON `alert_counters` (`window_end`);--> statement-breakpoint
CREATE TABLE `alert_outbox` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text,
	`kind` text NOT NULL,
	`payload` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` text NOT NULL,
	`last_error` text,
	`created_at` text NOT NULL,
	`sent_at` text,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `alert_outbox_due` ON `alert_outbox` (`status`,`next_attempt_at`);