CREATE INDEX `mfa_challenges_expires_at` ON `mfa_challenges` (`expires_at`);--> statement-breakpoint
CREATE INDEX `mfa_challenges_account` ON `mfa_challenges` (`account_id`);