CREATE TABLE "cargos" (
	"id" text PRIMARY KEY NOT NULL,
	"position" bigint GENERATED ALWAYS AS IDENTITY (sequence name "cargos_position_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"owner" text NOT NULL,
	"managed" boolean NOT NULL,
	"managed_by_sandbox_id" text,
	"volume_name" text NOT NULL,
	"size_limit_mb" bigint NOT NULL,
	"created_at" bigint NOT NULL,
	"last_accessed_at" bigint NOT NULL,
	"deleted_at" bigint
);
--> statement-breakpoint
CREATE TABLE "idempotency_keys" (
	"owner" text NOT NULL,
	"key" text NOT NULL,
	"fingerprint" text NOT NULL,
	"status_code" bigint,
	"response_body" text,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	CONSTRAINT "idempotency_keys_owner_key_pk" PRIMARY KEY("owner","key")
);
--> statement-breakpoint
CREATE TABLE "sandboxes" (
	"id" text PRIMARY KEY NOT NULL,
	"position" bigint GENERATED ALWAYS AS IDENTITY (sequence name "sandboxes_position_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"owner" text NOT NULL,
	"profile_id" text NOT NULL,
	"cargo_id" text NOT NULL,
	"created_at" bigint NOT NULL,
	"expires_at" bigint,
	"deleted_at" bigint,
	"last_start_error" text,
	"state_reset_at" bigint,
	"state_reset_reason" text,
	"metadata" text DEFAULT '{}' NOT NULL,
	"env" text DEFAULT '{}' NOT NULL,
	"access_token_hash" text
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"sandbox_id" text NOT NULL,
	"status" text NOT NULL,
	"container_id" text,
	"endpoint" text,
	"token" text NOT NULL,
	"created_at" bigint NOT NULL,
	"started_at" bigint,
	"stopped_at" bigint,
	"last_active_at" bigint NOT NULL,
	"idle_expires_at" bigint,
	"previous_session_id" text,
	"end_reason" text,
	"runtime_version" text
);
--> statement-breakpoint
CREATE INDEX "cargos_owner_position" ON "cargos" USING btree ("owner","position");--> statement-breakpoint
CREATE INDEX "idempotency_expires" ON "idempotency_keys" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "sandboxes_owner_position" ON "sandboxes" USING btree ("owner","position");--> statement-breakpoint
CREATE INDEX "sandboxes_expiry" ON "sandboxes" USING btree ("deleted_at","expires_at");--> statement-breakpoint
CREATE INDEX "sessions_sandbox_status" ON "sessions" USING btree ("sandbox_id","status");--> statement-breakpoint
CREATE INDEX "sessions_status_idle" ON "sessions" USING btree ("status","idle_expires_at");