import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * Times are epoch milliseconds. Rows are soft-deleted (`deleted_at`) so that a
 * repeated DELETE can answer 204 and so that the collector can finish removing
 * engine objects of a delete that was interrupted.
 */
export const sandboxes = sqliteTable(
  "sandboxes",
  {
    id: text("id").primaryKey(),
    owner: text("owner").notNull(),
    profileId: text("profile_id").notNull(),
    cargoId: text("cargo_id").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at"),
    deletedAt: integer("deleted_at"),
    /** Why the last start failed; cleared by the next successful start or by stop. */
    lastStartError: text("last_start_error"),
    /** When compute was lost without being asked to stop (container died, OOM, engine restart), and why. */
    stateResetAt: integer("state_reset_at"),
    stateResetReason: text("state_reset_reason"),
    /** The caller's labels, a JSON object of strings; shown in the view and filtered on in lists. */
    metadata: text("metadata").notNull().default("{}"),
    /** Environment for every process of the sandbox, a JSON object of strings; never shown (it may hold secrets). */
    env: text("env").notNull().default("{}"),
    /** SHA-256 (hex) of the sandbox's access token, if one was issued: a credential for traffic into this one sandbox. */
    accessTokenHash: text("access_token_hash"),
  },
  (table) => [
    index("sandboxes_owner_created").on(table.owner, table.createdAt, table.id),
    index("sandboxes_expiry").on(table.deletedAt, table.expiresAt),
  ],
);

export const SESSION_STATUSES = ["starting", "running", "stopped"] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    sandboxId: text("sandbox_id").notNull(),
    status: text("status", { enum: SESSION_STATUSES }).notNull(),
    containerId: text("container_id"),
    /** Base URL of the agent, e.g. http://127.0.0.1:49153. */
    endpoint: text("endpoint"),
    token: text("token").notNull(),
    createdAt: integer("created_at").notNull(),
    startedAt: integer("started_at"),
    stoppedAt: integer("stopped_at"),
    lastActiveAt: integer("last_active_at").notNull(),
    idleExpiresAt: integer("idle_expires_at"),
    /** The session this one replaced, if any: its kernel state did not carry over. */
    previousSessionId: text("previous_session_id"),
    /** Why it stopped: stopped (asked), idle, expired, deleted, died, start_failed, abandoned. */
    endReason: text("end_reason"),
    /** The agent's version, from its /meta at the handshake; null until then. */
    runtimeVersion: text("runtime_version"),
    /** The Bay replica that started it: a start whose replica is gone is abandoned by the others. */
    replicaId: text("replica_id"),
  },
  (table) => [
    index("sessions_sandbox_status").on(table.sandboxId, table.status),
    index("sessions_status_idle").on(table.status, table.idleExpiresAt),
    // One session at most holds (or is getting) a sandbox's compute, whichever replica starts it.
    uniqueIndex("sessions_one_active").on(table.sandboxId).where(sql`status IN ('starting', 'running')`),
  ],
);

/** The Bay processes sharing this state, each with its last sign of life. */
export const replicas = sqliteTable("replicas", {
  id: text("id").primaryKey(),
  startedAt: integer("started_at").notNull(),
  heartbeatAt: integer("heartbeat_at").notNull(),
});

/** Work one replica does for all (the collector, the warm pools), held until `expires_at` unless renewed. */
export const leases = sqliteTable("leases", {
  name: text("name").primaryKey(),
  holder: text("holder").notNull(),
  expiresAt: integer("expires_at").notNull(),
});

/** Facts every replica must agree on (the instance id that labels engine objects). */
export const settings = sqliteTable("settings", {
  name: text("name").primaryKey(),
  value: text("value").notNull(),
});

export const cargos = sqliteTable(
  "cargos",
  {
    id: text("id").primaryKey(),
    owner: text("owner").notNull(),
    managed: integer("managed", { mode: "boolean" }).notNull(),
    managedBySandboxId: text("managed_by_sandbox_id"),
    volumeName: text("volume_name").notNull(),
    sizeLimitMb: integer("size_limit_mb").notNull(),
    createdAt: integer("created_at").notNull(),
    lastAccessedAt: integer("last_accessed_at").notNull(),
    deletedAt: integer("deleted_at"),
  },
  (table) => [index("cargos_owner_created").on(table.owner, table.createdAt, table.id)],
);

export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    owner: text("owner").notNull(),
    key: text("key").notNull(),
    fingerprint: text("fingerprint").notNull(),
    /** Null while the first request with this key is still running. */
    statusCode: integer("status_code"),
    responseBody: text("response_body"),
    createdAt: integer("created_at").notNull().default(sql`(unixepoch() * 1000)`),
    expiresAt: integer("expires_at").notNull(),
  },
  (table) => [primaryKey({ columns: [table.owner, table.key] }), index("idempotency_expires").on(table.expiresAt)],
);

export type SandboxRow = typeof sandboxes.$inferSelect;
export type SessionRow = typeof sessions.$inferSelect;
export type CargoRow = typeof cargos.$inferSelect;
export type IdempotencyKeyRow = typeof idempotencyKeys.$inferSelect;
export type ReplicaRow = typeof replicas.$inferSelect;
