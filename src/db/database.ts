import { Database } from "bun:sqlite";
import { join } from "node:path";
import { securePrivateDir, securePrivateFiles } from "../shared/private-files.ts";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/bun-sqlite";
import { MIGRATIONS, type Migration } from "./migrations/index.ts";
import * as schema from "./schema.ts";
import type { BayDatabase, StateDatabase } from "./state-database.ts";

export type { BayDatabase };

export const DATABASE_FILE = "bay.sqlite";
/** The database with its WAL and shared-memory files: they hold the same data. */
const DATABASE_FILES = [DATABASE_FILE, `${DATABASE_FILE}-wal`, `${DATABASE_FILE}-shm`];

/** Opens (creating if needed) the state database in `dataDir` and applies pending migrations. */
export function openDatabase(dataDir: string): BayDatabase {
  securePrivateDir(dataDir);
  // Existing files first, before SQLite opens (and would follow) them.
  securePrivateFiles(dataDir, DATABASE_FILES);
  const sqlite = new Database(join(dataDir, DATABASE_FILE), { create: true, strict: true });
  sqlite.exec("PRAGMA journal_mode = WAL");
  sqlite.exec("PRAGMA synchronous = NORMAL");
  sqlite.exec("PRAGMA foreign_keys = ON");
  // Another process (bay exec next to bay serve) may hold the write lock briefly.
  sqlite.exec("PRAGMA busy_timeout = 5000");
  applyMigrations(sqlite, MIGRATIONS);
  // Then the files SQLite has just created (it gives later WAL files the database file's mode).
  securePrivateFiles(dataDir, DATABASE_FILES);
  return drizzle(sqlite, { schema }) as BayDatabase;
}

export function applyMigrations(sqlite: Database, migrations: Migration[]): string[] {
  sqlite.exec(
    "CREATE TABLE IF NOT EXISTS bay_migrations (name TEXT PRIMARY KEY NOT NULL, applied_at INTEGER NOT NULL)",
  );
  const applied = new Set(
    sqlite.query<{ name: string }, []>("SELECT name FROM bay_migrations").all().map((row) => row.name),
  );
  const newlyApplied: string[] = [];
  for (const migration of migrations) {
    if (applied.has(migration.name)) continue;
    sqlite.transaction(() => {
      for (const statement of migration.sql.split("--> statement-breakpoint")) {
        if (statement.trim()) sqlite.exec(statement);
      }
      sqlite.query("INSERT INTO bay_migrations (name, applied_at) VALUES (?, ?)").run(migration.name, Date.now());
    }).immediate();
    newlyApplied.push(migration.name);
  }
  return newlyApplied;
}

export function closeDatabase(db: BayDatabase): void {
  db.$client.close();
}

/**
 * The embedded backend: one SQLite connection. A transaction takes the
 * write lock (BEGIN IMMEDIATE, so another process such as `bay exec` waits
 * for it); while one is open, this process's other statements queue behind
 * it, since on one connection they would otherwise land inside it.
 */
export function sqliteState(db: BayDatabase): StateDatabase {
  const sqlite = db.$client;
  let queue: Promise<unknown> = Promise.resolve();
  /** Transactions asked for and not yet over: counted at the call, so that a statement asked for after one waits for it. */
  let transactions = 0;
  const afterQueue = <T>(work: () => Promise<T>): Promise<T> => {
    const result = queue.then(work, work);
    queue = result.catch(() => undefined);
    return result;
  };
  return {
    dialect: "sqlite",
    db,
    tables: schema,
    insertionOrder: (table) => sql<number>`${table}.rowid`,
    transaction: (_locks, work) => {
      transactions++;
      return afterQueue(async () => {
        sqlite.exec("BEGIN IMMEDIATE");
        try {
          const result = await work(db);
          sqlite.exec("COMMIT");
          return result;
        } catch (error) {
          sqlite.exec("ROLLBACK");
          throw error;
        }
      }).finally(() => transactions--);
    },
    // Statements run at once unless a transaction is open (keep writes here to one statement: a transaction may open at an await).
    use: (work) => {
      if (transactions > 0) return afterQueue(async () => work(db));
      // Run now: drizzle runs a query when its `then` is called, which Promise.resolve would put off to a later microtask.
      return new Promise((resolve, reject) => {
        const result = work(db);
        if (result && typeof (result as PromiseLike<unknown>).then === "function") (result as PromiseLike<Awaited<typeof result>>).then(resolve, reject);
        else resolve(result as Awaited<typeof result>);
      });
    },
    close: async () => sqlite.close(),
  };
}
