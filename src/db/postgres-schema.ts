import { sql } from "drizzle-orm";
import { bigint, boolean, index, pgTable, primaryKey, text, uniqueIndex } from "drizzle-orm/pg-core";
import { SESSION_STATUSES } from "./schema.ts";

/**
 * The same tables as schema.ts (SQLite), for Postgres: the same columns and
 * names, epoch milliseconds as bigint read as numbers, and a `position`
 * sequence on the listed tables where SQLite pages by its rowid.
 */
const millis = (name: string) => bigint(name, { mode: "number" });

export const sandboxes = pgTable(
  "sandboxes",
  {
    id: text("id").primaryKey(),
    position: bigint("position", { mode: "number" }).generatedAlwaysAsIdentity(),
    owner: text("owner").notNull(),
    profileId: text("profile_id").notNull(),
    cargoId: text("cargo_id").notNull(),
    createdAt: millis("created_at").notNull(),
    expiresAt: millis("expires_at"),
    deletedAt: millis("deleted_at"),
    lastStartError: text("last_start_error"),
    stateResetAt: millis("state_reset_at"),
    stateResetReason: text("state_reset_reason"),
    metadata: text("metadata").notNull().default("{}"),
    env: text("env").notNull().default("{}"),
    accessTokenHash: text("access_token_hash"),
  },
  (table) => [
    index("sandboxes_owner_position").on(table.owner, table.position),
    index("sandboxes_expiry").on(table.deletedAt, table.expiresAt),
  ],
);

export const sessions = pgTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    sandboxId: text("sandbox_id").notNull(),
    status: text("status", { enum: SESSION_STATUSES }).notNull(),
    containerId: text("container_id"),
    endpoint: text("endpoint"),
    token: text("token").notNull(),
    createdAt: millis("created_at").notNull(),
    startedAt: millis("started_at"),
    stoppedAt: millis("stopped_at"),
    lastActiveAt: millis("last_active_at").notNull(),
    idleExpiresAt: millis("idle_expires_at"),
    previousSessionId: text("previous_session_id"),
    endReason: text("end_reason"),
    runtimeVersion: text("runtime_version"),
    replicaId: text("replica_id"),
  },
  (table) => [
    index("sessions_sandbox_status").on(table.sandboxId, table.status),
    index("sessions_status_idle").on(table.status, table.idleExpiresAt),
    uniqueIndex("sessions_one_active").on(table.sandboxId).where(sql`status IN ('starting', 'running')`),
  ],
);

export const replicas = pgTable("replicas", {
  id: text("id").primaryKey(),
  startedAt: millis("started_at").notNull(),
  heartbeatAt: millis("heartbeat_at").notNull(),
});

export const leases = pgTable("leases", {
  name: text("name").primaryKey(),
  holder: text("holder").notNull(),
  expiresAt: millis("expires_at").notNull(),
});

export const settings = pgTable("settings", {
  name: text("name").primaryKey(),
  value: text("value").notNull(),
});

export const cargos = pgTable(
  "cargos",
  {
    id: text("id").primaryKey(),
    position: bigint("position", { mode: "number" }).generatedAlwaysAsIdentity(),
    owner: text("owner").notNull(),
    managed: boolean("managed").notNull(),
    managedBySandboxId: text("managed_by_sandbox_id"),
    volumeName: text("volume_name").notNull(),
    sizeLimitMb: bigint("size_limit_mb", { mode: "number" }).notNull(),
    createdAt: millis("created_at").notNull(),
    lastAccessedAt: millis("last_accessed_at").notNull(),
    deletedAt: millis("deleted_at"),
  },
  (table) => [index("cargos_owner_position").on(table.owner, table.position)],
);

export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    owner: text("owner").notNull(),
    key: text("key").notNull(),
    fingerprint: text("fingerprint").notNull(),
    statusCode: bigint("status_code", { mode: "number" }),
    responseBody: text("response_body"),
    createdAt: millis("created_at").notNull(),
    expiresAt: millis("expires_at").notNull(),
  },
  (table) => [primaryKey({ columns: [table.owner, table.key] }), index("idempotency_expires").on(table.expiresAt)],
);
