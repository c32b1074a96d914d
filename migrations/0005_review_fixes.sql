ALTER TABLE `mail_outbox` ADD `sensitive` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `users` ADD `verify_email_at_sign_in` integer DEFAULT false NOT NULL;