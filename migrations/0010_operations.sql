CREATE TABLE `announcements` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`effective_at` text NOT NULL,
	`subject` text NOT NULL,
	`body` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `incident_tenants` (
	`incident_id` text NOT NULL,
	`tenant_id` text NOT NULL,
	FOREIGN KEY (`incident_id`) REFERENCES `incidents`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `incident_tenants_pk` ON `incident_tenants` (`incident_id`,`tenant_id`);--> statement-breakpoint
CREATE INDEX `incident_tenants_tenant` ON `incident_tenants` (`tenant_id`,`incident_id`);--> statement-breakpoint
CREATE TABLE `incident_updates` (
	`id` text PRIMARY KEY NOT NULL,
	`incident_id` text NOT NULL,
	`at` text NOT NULL,
	`status` text NOT NULL,
	`message` text NOT NULL,
	`created_by` text NOT NULL,
	FOREIGN KEY (`incident_id`) REFERENCES `incidents`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `incident_updates_incident` ON `incident_updates` (`incident_id`,`id`);--> statement-breakpoint
CREATE TABLE `incidents` (
	`id` text PRIMARY KEY NOT NULL,
	`title` text NOT NULL,
	`description` text NOT NULL,
	`severity` text NOT NULL,
	`status` text NOT NULL,
	`source` text NOT NULL,
	`failed_check` text,
	`all_tenants` integer NOT NULL,
	`tenant_ids` text,
	`opened_at` text NOT NULL,
	`resolved_at` text,
	`opened_by` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `incidents_opened` ON `incidents` (`opened_at`);--> statement-breakpoint
CREATE INDEX `incidents_status` ON `incidents` (`status`,`id`);--> statement-breakpoint
CREATE TABLE `maintenance_window_tenants` (
	`window_id` text NOT NULL,
	`tenant_id` text NOT NULL,
	FOREIGN KEY (`window_id`) REFERENCES `maintenance_windows`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `maintenance_window_tenants_pk` ON `maintenance_window_tenants` (`window_id`,`tenant_id`);--> statement-breakpoint
CREATE INDEX `maintenance_window_tenants_tenant` ON `maintenance_window_tenants` (`tenant_id`);--> statement-breakpoint
CREATE TABLE `maintenance_windows` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`state` text NOT NULL,
	`starts_at` text NOT NULL,
	`ends_at` text NOT NULL,
	`duration_minutes` integer NOT NULL,
	`emergency` integer DEFAULT false NOT NULL,
	`reason` text,
	`message` text,
	`all_tenants` integer NOT NULL,
	`tenant_ids` text,
	`revision` integer DEFAULT 1 NOT NULL,
	`notified_at` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`started_at` text,
	`ended_at` text,
	`cancelled_at` text
);
--> statement-breakpoint
CREATE INDEX `maintenance_windows_state_start` ON `maintenance_windows` (`state`,`starts_at`);--> statement-breakpoint
CREATE INDEX `maintenance_windows_start` ON `maintenance_windows` (`starts_at`);--> statement-breakpoint
CREATE TABLE `notice_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`dedupe_key` text NOT NULL,
	`scope` text NOT NULL,
	`scope_id` text,
	`purpose` text NOT NULL,
	`subject` text NOT NULL,
	`body` text NOT NULL,
	`status` text NOT NULL,
	`cursor` text,
	`tenants_notified` integer DEFAULT 0 NOT NULL,
	`mails_queued` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`finished_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `notice_jobs_dedupe_key_unique` ON `notice_jobs` (`dedupe_key`);--> statement-breakpoint
CREATE INDEX `notice_jobs_status` ON `notice_jobs` (`status`,`id`);--> statement-breakpoint
CREATE TABLE `platform_settings` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_at` text NOT NULL,
	`updated_by` text NOT NULL
);
