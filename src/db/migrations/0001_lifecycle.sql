ALTER TABLE `sandboxes` ADD `state_reset_at` integer;--> statement-breakpoint
ALTER TABLE `sandboxes` ADD `state_reset_reason` text;--> statement-breakpoint
CREATE INDEX `sandboxes_expiry` ON `sandboxes` (`deleted_at`,`expires_at`);--> statement-breakpoint
ALTER TABLE `sessions` ADD `previous_session_id` text;--> statement-breakpoint
ALTER TABLE `sessions` ADD `end_reason` text;--> statement-breakpoint
CREATE INDEX `sessions_status_idle` ON `sessions` (`status`,`idle_expires_at`);