/** The state store's cases (test/helpers/state-store-cases.ts) on Postgres, a throwaway cluster per file. */
import { describe, expect, test } from "bun:test";
import { openPostgresState } from "../../src/db/postgres-state.ts";
import { POSTGRES_MIGRATIONS } from "../../src/db/postgres-migrations/index.ts";
import { readdirSync } from "node:fs";
import { resolve } from "node:path";
import { stateStoreCases } from "../helpers/state-store-cases.ts";
import { usePostgres } from "../helpers/postgres.ts";

const postgres = usePostgres();

describe("Postgres state", () => {
  test("every Postgres migration file is embedded in its index", () => {
    const folder = resolve(import.meta.dir, "../../src/db/postgres-migrations");
    const files = readdirSync(folder).filter((f) => f.endsWith(".sql")).map((f) => f.replace(/\.sql$/, ""));
    expect(POSTGRES_MIGRATIONS.map((m) => m.name)).toEqual(files.sort());
  });

  test("opening migrates once; replicas opening together apply each migration once", async () => {
    const url = await postgres.database();
    const states = await Promise.all([1, 2, 3].map(() => openPostgresState(url, 2)));
    const [{ n }] = (await new Bun.SQL(url)`SELECT count(*)::int AS n FROM bay_migrations`) as [{ n: number }];
    expect(n).toBe(POSTGRES_MIGRATIONS.length);
    await Promise.all(states.map((state) => state.close()));
  });

  test("an unreachable server is a configuration error naming database.url, without the password", async () => {
    const error = await openPostgresState("postgres://bay:secret@127.0.0.1:1/bay", 1).catch((e: Error) => e);
    expect((error as { key?: string }).key ?? (error as Error).message).toContain("database.url");
    expect((error as Error).message).not.toContain("secret");
  });
});

stateStoreCases("Postgres", async () => openPostgresState(await postgres.database(), 4));
