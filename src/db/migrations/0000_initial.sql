CREATE TABLE `cargos` (
	`id` text PRIMARY KEY NOT NULL,
	`owner` text NOT NULL,
	`managed` integer NOT NULL,
	`managed_by_sandbox_id` text,
	`volume_name` text NOT NULL,
	`size_limit_mb` integer NOT NULL,
	`created_at` integer NOT NULL,
	`last_accessed_at` integer NOT NULL,
	`deleted_at` integer
);
--> statement-breakpoint
CREATE INDEX `cargos_owner_created` ON `cargos` (`owner`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`owner` text NOT NULL,
	`key` text NOT NULL,
	`fingerprint` text NOT NULL,
	`status_code` integer,
	`response_body` text,
	`created_at` integer DEFAULT (unixepoch() * 1000) NOT NULL,
	`expires_at` integer NOT NULL,
	PRIMARY KEY(`owner`, `key`)
);
--> statement-breakpoint
CREATE INDEX `idempotency_expires` ON `idempotency_keys` (`expires_at`);--> statement-breakpoint
CREATE TABLE `sandboxes` (
	`id` text PRIMARY KEY NOT NULL,
	`owner` text NOT NULL,
	`profile_id` text NOT NULL,
	`cargo_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer,
	`deleted_at` integer,
	`last_start_error` text
);
--> statement-breakpoint
CREATE INDEX `sandboxes_owner_created` ON `sandboxes` (`owner`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`sandbox_id` text NOT NULL,
	`status` text NOT NULL,
	`container_id` text,
	`endpoint` text,
	`token` text NOT NULL,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`stopped_at` integer,
	`last_active_at` integer NOT NULL,
	`idle_expires_at` integer
);
--> statement-breakpoint
CREATE INDEX `sessions_sandbox_status` ON `sessions` (`sandbox_id`,`status`);