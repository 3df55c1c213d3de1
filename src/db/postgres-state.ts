import { SQL } from "bun";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/bun-sql";
import { ConfigError } from "../shared/errors.ts";
import { POSTGRES_MIGRATIONS } from "./postgres-migrations/index.ts";
import type { Migration } from "./migrations/index.ts";
import * as schema from "./postgres-schema.ts";
import type { BayDatabase, StateDatabase, StateTables } from "./state-database.ts";

/** Held while migrations run, so that replicas starting together apply each once. */
const MIGRATION_LOCK = "bay:migrations";

/**
 * State on Postgres, shared by every Bay replica that points at it, through
 * Bun's own Postgres client (Bun.SQL: built into the runtime the binary
 * embeds, pooled, pipelined; no driver to ship). Transactions serialize on
 * advisory locks named by what they guard (an owner's quota, a cargo),
 * taken in one order so that two transactions never wait on each other.
 */
export async function openPostgresState(url: string, poolSize: number): Promise<StateDatabase> {
  const client = new SQL({ url, max: poolSize });
  try {
    await client`SELECT 1`;
  } catch (error) {
    await client.close().catch(() => undefined);
    throw new ConfigError("database.url", `cannot reach Postgres at ${redacted(url)}: ${(error as Error).message}`);
  }
  await applyPostgresMigrations(client, POSTGRES_MIGRATIONS);
  const db = drizzle({ client, schema }) as unknown as BayDatabase;
  const lock = (tx: BayDatabase, name: string) =>
    (tx as unknown as { execute(query: unknown): Promise<unknown> }).execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${name}, 0))`);
  return {
    dialect: "postgres",
    db,
    // The Postgres tables under the SQLite ones' types: the store's queries are built the same way on both.
    tables: schema as unknown as StateTables,
    insertionOrder: (table) => sql<number>`${(table as unknown as typeof schema.sandboxes).position}`,
    transaction: (locks, work) =>
      (db as unknown as { transaction<T>(run: (tx: BayDatabase) => Promise<T>): Promise<T> }).transaction(async (tx) => {
        for (const name of [...new Set(locks)].sort()) await lock(tx, name);
        return work(tx);
      }),
    use: async (work) => work(db),
    close: () => client.close(),
  };
}

/** Applies what is not applied yet, each migration in its own transaction, under one advisory lock. */
export async function applyPostgresMigrations(client: SQL, migrations: Migration[]): Promise<string[]> {
  const applied: string[] = [];
  await client.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtextextended(${MIGRATION_LOCK}, 0))`;
    await tx`CREATE TABLE IF NOT EXISTS bay_migrations (name text PRIMARY KEY, applied_at bigint NOT NULL)`;
    const done = new Set((await tx`SELECT name FROM bay_migrations`).map((row: { name: string }) => row.name));
    for (const migration of migrations) {
      if (done.has(migration.name)) continue;
      for (const statement of migration.sql.split("--> statement-breakpoint")) {
        if (statement.trim()) await tx.unsafe(statement);
      }
      await tx`INSERT INTO bay_migrations (name, applied_at) VALUES (${migration.name}, ${Date.now()})`;
      applied.push(migration.name);
    }
  });
  return applied;
}

/** A URL as logs may show it: without its password. */
function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(an unparsable URL)";
  }
}
