/**
 * One Bay on Postgres (database.url) and the real Docker engine: the core
 * flow, lists, idempotency, quotas, the warm pool and the collector, with
 * every row in Postgres and none in a SQLite file.
 */
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { volumesWithLabel } from "../helpers/docker.ts";
import { usePostgres } from "../helpers/postgres.ts";
import { expectErrorShape, startTestBay, type TestBay } from "../helpers/test-bay.ts";
import { TEST_IMAGE } from "../helpers/env.ts";

// Real containers; nothing here asserts speed.
setDefaultTimeout(120_000);

const postgres = usePostgres();
let url = "";
let database: Bun.SQL;
let bay: TestBay;

beforeAll(async () => {
  url = await postgres.database();
  database = new Bun.SQL({ url, max: 2 });
  bay = await startTestBay({
    env: { BAY_DATABASE_URL: url },
    background: true,
    config: {
      quotas: { default: { max_sandboxes: 6 } },
      profiles: [
        { id: "python-default", image: TEST_IMAGE, idle_timeout: 2 },
        { id: "warm", image: TEST_IMAGE, warm_pool_size: 1 },
      ],
      gc: { interval_seconds: 1 },
    },
  });
});
postgres.beforeStop(async () => {
  await bay?.close();
  await database?.close();
});

const rows = async (query: string) => database.unsafe(query);

describe("a Bay on Postgres", () => {
  test("its state is in Postgres: no SQLite file in data_dir", async () => {
    const created = await bay.request("POST", "/v1/sandboxes", {});
    expect(created.status).toBe(201);
    expect(existsSync(join(bay.config.data_dir, "bay.sqlite"))).toBe(false);
    expect(await rows(`SELECT id, owner FROM sandboxes WHERE id = '${created.body.id}'`)).toEqual([{ id: created.body.id, owner: "tester" }]);
    await bay.request("DELETE", `/v1/sandboxes/${created.body.id}`);
  });

  test("create, python state across calls, shell, files, stop and resume, delete", async () => {
    const { id } = (await bay.request("POST", "/v1/sandboxes", {})).body;
    expect((await bay.request("POST", `/v1/sandboxes/${id}/python/exec`, { code: "x = 41" })).body.success).toBe(true);
    expect((await bay.request("POST", `/v1/sandboxes/${id}/python/exec`, { code: "print(x + 1)" })).body.output).toBe("42\n");
    expect((await bay.request("POST", `/v1/sandboxes/${id}/shell/exec`, { command: "echo hi > f.txt; cat f.txt" })).body.output).toBe("hi\n");
    expect((await bay.request("GET", `/v1/sandboxes/${id}/filesystem/files?path=f.txt`)).body.content).toBe("hi\n");
    expect((await bay.request("GET", `/v1/sandboxes/${id}`)).body.status).toBe("ready");
    expect((await bay.request("POST", `/v1/sandboxes/${id}/stop`)).status).toBe(200);
    expect((await bay.request("GET", `/v1/sandboxes/${id}`)).body.status).toBe("idle");
    expect((await bay.request("POST", `/v1/sandboxes/${id}/shell/exec`, { command: "cat f.txt" })).body.output).toBe("hi\n");
    expect((await rows(`SELECT count(*)::int AS n FROM sessions WHERE sandbox_id = '${id}'`))[0].n).toBe(2);
    expect((await bay.request("DELETE", `/v1/sandboxes/${id}`)).status).toBe(204);
    expectErrorShape(await bay.request("GET", `/v1/sandboxes/${id}`), 404, "not_found");
    expect(volumesWithLabel(`bay.sandbox_id=${id}`)).toEqual([]);
  });

  test("lists page in creation order with cursors", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await bay.request("POST", "/v1/sandboxes", {})).body.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: { id: string }[]; next_cursor: string | null } } = await bay.request("GET", `/v1/sandboxes?limit=1${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...page.body.items.map((item) => item.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen.filter((id) => ids.includes(id))).toEqual(ids);
    for (const id of ids) await bay.request("DELETE", `/v1/sandboxes/${id}`);
  });

  test("concurrent creates with one Idempotency-Key make one sandbox; concurrent creates cannot pass max_sandboxes", async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, () => bay.request("POST", "/v1/sandboxes", {}, { "idempotency-key": "pg-once" })));
    expect(new Set(answers.map((answer) => answer.body.id)).size).toBe(1);
    const live = async () => (await rows("SELECT count(*)::int AS n FROM sandboxes WHERE deleted_at IS NULL AND owner = 'tester'"))[0].n as number;
    const before = await live();
    const burst = await Promise.all(Array.from({ length: 10 }, () => bay.request("POST", "/v1/sandboxes", {})));
    expect(burst.filter((answer) => answer.status === 201).length).toBe(6 - before);
    for (const refused of burst.filter((answer) => answer.status !== 201)) expectErrorShape(refused, 429, "quota_exceeded");
    expect(await live()).toBe(6);
    for (const answer of [...burst.filter((a) => a.status === 201), answers[0]!]) await bay.request("DELETE", `/v1/sandboxes/${answer.body.id}`);
  });

  test("the warm pool is filled and claimed, and the collector reaps an idle session", async () => {
    const poolReady = async () => /bay_warm_pool_ready\{profile="warm"\} 1/.test((await bay.request("GET", "/metrics")).body);
    for (let i = 0; i < 300 && !(await poolReady()); i++) await Bun.sleep(100);
    const claimed = await bay.request("POST", "/v1/sandboxes", { profile: "warm" });
    expect(claimed.body.status).toBe("ready");
    await bay.request("DELETE", `/v1/sandboxes/${claimed.body.id}`);

    const { id } = (await bay.request("POST", "/v1/sandboxes", {})).body;
    await bay.request("POST", `/v1/sandboxes/${id}/shell/exec`, { command: "true" });
    let status = "ready";
    for (let i = 0; i < 100 && status !== "idle"; i++) {
      await Bun.sleep(200);
      status = (await bay.request("GET", `/v1/sandboxes/${id}`)).body.status;
    }
    expect(status).toBe("idle");
    expect((await rows(`SELECT end_reason FROM sessions WHERE sandbox_id = '${id}'`))[0].end_reason).toBe("idle");
    await bay.request("DELETE", `/v1/sandboxes/${id}`);
  });
});
