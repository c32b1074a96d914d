CREATE TABLE `backup_blobs` (
	`backup_id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`sha256` text NOT NULL,
	PRIMARY KEY(`backup_id`, `sha256`),
	FOREIGN KEY (`backup_id`) REFERENCES `backups`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `backup_blobs_tenant_sha` ON `backup_blobs` (`tenant_id`,`sha256`);--> statement-breakpoint
CREATE TABLE `backups` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`jst_date` text NOT NULL,
	`kind` text NOT NULL,
	`status` text NOT NULL,
	`key_id` text,
	`format_version` integer NOT NULL,
	`schema_version` text,
	`row_counts` text,
	`plaintext_bytes` integer,
	`ciphertext_bytes` integer,
	`plaintext_sha256` text,
	`ciphertext_sha256` text,
	`blob_count` integer,
	`audit_seq` integer,
	`verified_at` text,
	`verify_result` text,
	`error` text,
	`attempts` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`completed_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `backups_daily` ON `backups` (`tenant_id`,`jst_date`) WHERE kind = 'daily';--> statement-breakpoint
CREATE INDEX `backups_tenant` ON `backups` (`tenant_id`,`id`);