CREATE TABLE `tenant_erasures` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`slug` text,
	`step` text NOT NULL,
	`cursor` text,
	`counts` text NOT NULL,
	`audit_head` text,
	`requested_by` text NOT NULL,
	`started_at` text NOT NULL,
	`lease_until` text,
	`finished_at` text,
	`certificate` text
);
--> statement-breakpoint
CREATE INDEX `tenant_erasures_unfinished` ON `tenant_erasures` (`finished_at`,`started_at`);