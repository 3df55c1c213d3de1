import type { Database } from "bun:sqlite";
import type { SQL } from "drizzle-orm";
import type { BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import type * as schema from "./schema.ts";

/** drizzle over the SQLite schema: the query-building surface the store uses on either backend. */
export type BayDatabase = BunSQLiteDatabase<typeof schema> & { $client: Database };

/** The tables every backend has, by the names the store uses. */
export type StateTables = Pick<typeof schema, "sandboxes" | "sessions" | "cargos" | "idempotencyKeys" | "replicas" | "leases" | "settings">;

/**
 * What the state store builds its queries with: drizzle over one backend.
 * Queries are built with the same builder calls on either dialect and always
 * awaited (never `.all()`/`.get()`), so one store serves both; `db` is typed
 * as the SQLite database for that shared surface, and `tables` are the
 * backend's own tables under the SQLite ones' types.
 */
export interface StateDatabase {
  readonly dialect: "sqlite" | "postgres";
  readonly db: BayDatabase;
  readonly tables: StateTables;
  /** The order rows were inserted in (SQLite's rowid; a sequence on Postgres): what lists page by. */
  insertionOrder(table: StateTables["sandboxes"] | StateTables["cargos"]): SQL<number>;
  /**
   * Runs `work` in one transaction that no other writer of this state can
   * interleave with where it matters: SQLite takes its write lock first;
   * Postgres takes the transaction-scoped advisory locks `locks` name (an
   * owner's quota, a sandbox's sessions), in a fixed order. Rolled back if
   * `work` throws.
   */
  transaction<T>(locks: readonly string[], work: (tx: BayDatabase) => Promise<T>): Promise<T>;
  /** Runs `work` with the connection to itself (SQLite: no transaction of another caller is open meanwhile). */
  use<T>(work: (db: BayDatabase) => Promise<T> | T): Promise<T>;
  close(): Promise<void>;
}
