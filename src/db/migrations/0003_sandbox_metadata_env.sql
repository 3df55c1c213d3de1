ALTER TABLE `sandboxes` ADD `metadata` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `sandboxes` ADD `env` text DEFAULT '{}' NOT NULL;