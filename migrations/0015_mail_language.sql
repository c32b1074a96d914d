ALTER TABLE `notice_jobs` ADD `message` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `notice_jobs` DROP COLUMN `subject`;--> statement-breakpoint
ALTER TABLE `notice_jobs` DROP COLUMN `body`;--> statement-breakpoint
ALTER TABLE `operators` ADD `language` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `language` text DEFAULT 'ja' NOT NULL;--> statement-breakpoint
ALTER TABLE `users` ADD `language` text;
--> statement-breakpoint
-- hand-written: mail_language
-- A notice still pending across this migration lost its text with the columns that held it: close it rather than mail a blank.
UPDATE `notice_jobs` SET `status` = 'done', `finished_at` = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE `status` = 'pending' AND `message` = '{}';
