import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { chmodSync, mkdtempSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { applyMigrations, openDatabase, sqliteState } from "../../src/db/database.ts";
import { MIGRATIONS } from "../../src/db/migrations/index.ts";
import { sandboxStatus } from "../../src/core/views.ts";
import { ConfigError } from "../../src/shared/errors.ts";
import { thrownBy } from "../helpers/thrown.ts";
import { sandboxRow, sessionRow, stateStoreCases } from "../helpers/state-store-cases.ts";

describe("state database", () => {
  test("every migration file is embedded in the migrations index", async () => {
    const folder = resolve(import.meta.dir, "../../src/db/migrations");
    const files = readdirSync(folder).filter((f) => f.endsWith(".sql")).map((f) => f.replace(/\.sql$/, ""));
    expect(MIGRATIONS.map((m) => m.name)).toEqual(files.sort());
  });

  test("a fresh data dir is migrated in WAL mode, with the four tables; reopening applies nothing twice", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bay-db-"));
    const db = openDatabase(dir);
    const sqlite = db.$client;
    expect(sqlite.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get()?.journal_mode).toBe("wal");
    const tables = sqlite.query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((t) => t.name);
    expect(tables).toEqual(expect.arrayContaining(["sandboxes", "sessions", "cargos", "idempotency_keys", "bay_migrations"]));
    expect(applyMigrations(sqlite, MIGRATIONS)).toEqual([]);
    sqlite.close();
    const again = openDatabase(dir);
    expect(again.$client.query<{ n: number }, []>("SELECT count(*) AS n FROM bay_migrations").get()?.n).toBe(MIGRATIONS.length);
    again.$client.close();
  });

  test("the data dir is made 0700 and the database files 0600, even when they were looser; a symlinked one is refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bay-db-"));
    chmodSync(dir, 0o777);
    writeFileSync(join(dir, "bay.sqlite"), "", { mode: 0o644 });
    chmodSync(join(dir, "bay.sqlite"), 0o644);
    const db = openDatabase(dir);
    const modes = Object.fromEntries(readdirSync(dir).map((name) => [name, (statSync(join(dir, name)).mode & 0o777).toString(8)]));
    expect(modes).toEqual({ "bay.sqlite": "600", "bay.sqlite-wal": "600", "bay.sqlite-shm": "600" });
    expect((statSync(dir).mode & 0o777).toString(8)).toBe("700");
    db.$client.close();

    const linked = mkdtempSync(join(tmpdir(), "bay-db-"));
    symlinkSync(join(dir, "bay.sqlite"), join(linked, "bay.sqlite"));
    expect(thrownBy(ConfigError, () => openDatabase(linked)).message).toContain("symbolic link");
  });

  test("a failing migration leaves nothing half-applied", async () => {
    const sqlite = new Database(":memory:");
    expect(() =>
      applyMigrations(sqlite, [{ name: "broken", sql: "CREATE TABLE a (x INTEGER);\n--> statement-breakpoint\nNOT SQL AT ALL" }]),
    ).toThrow();
    expect(sqlite.query("SELECT name FROM sqlite_master WHERE name = 'a'").all()).toEqual([]);
    expect(sqlite.query("SELECT name FROM bay_migrations").all()).toEqual([]);
  });
});

describe("sandbox status is computed", () => {
  test("expired wins over everything, then the session, then the last start error, else idle", async () => {
    expect(sandboxStatus(sandboxRow({ expiresAt: 500 }), sessionRow("running"), 1000)).toBe("expired");
    expect(sandboxStatus(sandboxRow(), sessionRow("running"))).toBe("ready");
    expect(sandboxStatus(sandboxRow(), sessionRow("starting"))).toBe("starting");
    expect(sandboxStatus(sandboxRow({ lastStartError: "boom" }), undefined)).toBe("failed");
    expect(sandboxStatus(sandboxRow(), undefined)).toBe("idle");
    expect(sandboxStatus(sandboxRow({ expiresAt: 5000 }), undefined, 1000)).toBe("idle");
  });
});

describe("the SQLite backend", () => {
  test("a statement asked for after a transaction, in the same tick, is not swept into it: its rollback keeps the statement", async () => {
    const state = sqliteState(openDatabase(mkdtempSync(join(tmpdir(), "bay-db-"))));
    const { settings } = state.tables;
    const failed = state.transaction(["x"], async (tx) => {
      await tx.insert(settings).values({ name: "in-transaction", value: "1" });
      throw new Error("rolled back");
    });
    const statement = state.use((db) => db.insert(settings).values({ name: "on-its-own", value: "1" }));
    await expect(failed).rejects.toThrow("rolled back");
    await statement;
    expect((await state.use((db) => db.select().from(settings))).map((row) => row.name)).toEqual(["on-its-own"]);
    await state.close();
  });
});

stateStoreCases("SQLite", async () => sqliteState(openDatabase(mkdtempSync(join(tmpdir(), "bay-db-")))));
