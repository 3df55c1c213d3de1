CREATE TABLE `leases` (
	`name` text PRIMARY KEY NOT NULL,
	`holder` text NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `replicas` (
	`id` text PRIMARY KEY NOT NULL,
	`started_at` integer NOT NULL,
	`heartbeat_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `settings` (
	`name` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
ALTER TABLE `sessions` ADD `replica_id` text;--> statement-breakpoint
-- A crash mid-replacement could leave two active sessions of one sandbox: the older ones end, as the next start would have ended them.
UPDATE `sessions` SET `status` = 'stopped', `end_reason` = 'abandoned' WHERE `status` IN ('starting', 'running') AND EXISTS (SELECT 1 FROM `sessions` AS `newer` WHERE `newer`.`sandbox_id` = `sessions`.`sandbox_id` AND `newer`.`status` IN ('starting', 'running') AND (`newer`.`created_at` > `sessions`.`created_at` OR (`newer`.`created_at` = `sessions`.`created_at` AND `newer`.`id` > `sessions`.`id`)));--> statement-breakpoint
CREATE UNIQUE INDEX `sessions_one_active` ON `sessions` (`sandbox_id`) WHERE status IN ('starting', 'running');