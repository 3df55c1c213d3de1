CREATE TABLE "leases" (
	"name" text PRIMARY KEY NOT NULL,
	"holder" text NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "replicas" (
	"id" text PRIMARY KEY NOT NULL,
	"started_at" bigint NOT NULL,
	"heartbeat_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "settings" (
	"name" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "replica_id" text;--> statement-breakpoint
-- Older active sessions of one sandbox end before the index that allows one.
UPDATE "sessions" SET "status" = 'stopped', "end_reason" = 'abandoned' WHERE "status" IN ('starting', 'running') AND EXISTS (SELECT 1 FROM "sessions" AS "newer" WHERE "newer"."sandbox_id" = "sessions"."sandbox_id" AND "newer"."status" IN ('starting', 'running') AND ("newer"."created_at" > "sessions"."created_at" OR ("newer"."created_at" = "sessions"."created_at" AND "newer"."id" > "sessions"."id")));--> statement-breakpoint
CREATE UNIQUE INDEX "sessions_one_active" ON "sessions" USING btree ("sandbox_id") WHERE status IN ('starting', 'running');