/**
 * Three `bay serve` replicas on one Postgres and one Docker engine, with
 * requests spread over all of them: one container however many replicas
 * race a cold start, one sandbox per Idempotency-Key, quotas across
 * replicas, a busy sandbox never reaped by another replica's collector,
 * any replica serving any sandbox (streams and downloads too), the leader's
 * duties moving on when it dies, and a replica killed mid-start recovered.
 */
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEventStream } from "../../src/shared/sse.ts";
import { removeInstanceObjects, volumesWithLabel } from "../helpers/docker.ts";
import { TEST_IMAGE } from "../helpers/env.ts";
import { usePostgres } from "../helpers/postgres.ts";
import { startServeProcess, type ServeProcess } from "../helpers/serve-process.ts";

// Real containers and processes; nothing here asserts speed.
setDefaultTimeout(180_000);

const ADMIN_KEY = "replica-admin-key-0123456789";
const QUOTA_KEY = "replica-quota-key-0123456789";
const postgres = usePostgres();
let url = "";
let database: Bun.SQL;
let instanceId = "";
const dirs: string[] = [];
const replicas: ServeProcess[] = [];

async function startReplica(): Promise<ServeProcess> {
  const dir = mkdtempSync(join(tmpdir(), "bay-replica-"));
  dirs.push(dir);
  writeFileSync(
    join(dir, "bay.yaml"),
    [
      "profiles:",
      `  - { id: python-default, image: "${TEST_IMAGE}", idle_timeout: 3 }`,
      `  - { id: warm, image: "${TEST_IMAGE}", warm_pool_size: 2 }`,
      "gc: { interval_seconds: 1 }",
      "security:",
      "  api_keys:",
      `    - { key: ${ADMIN_KEY}, owner: tester, admin: true }`,
      `    - { key: ${QUOTA_KEY}, owner: quota-owner, admin: false }`,
      "quotas: { owners: { quota-owner: { max_sandboxes: 3 } } }",
      "log: { level: warn }",
    ].join("\n"),
  );
  return startServeProcess({ BAY_DATA_DIR: dir, BAY_DATABASE_URL: url, BAY_LOG__LEVEL: "info" }, ["--config", join(dir, "bay.yaml")]);
}

beforeAll(async () => {
  url = await postgres.database();
  database = new Bun.SQL({ url, max: 2 });
  for (let i = 0; i < 3; i++) replicas.push(await startReplica());
  const [row] = (await database`SELECT value FROM settings WHERE name = 'instance_id'`) as [{ value: string }];
  instanceId = row.value;
});
postgres.beforeStop(async () => {
  for (const replica of replicas) if (replica.process.exitCode === null) await replica.stop("SIGTERM");
  if (instanceId) await removeInstanceObjects(instanceId);
  await database?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The i-th replica of the live ones, round robin. */
const live = () => replicas.filter((replica) => replica.process.exitCode === null && !replica.process.killed);
const on = (i: number) => live()[i % live().length]!;

async function call(i: number, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${on(i).url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON.
  }
  return { status: response.status, body: parsed };
}

const sql = (query: string) => database.unsafe(query) as Promise<any[]>;
const containersOf = (sandboxId: string) =>
  Bun.spawnSync(["docker", "ps", "-aq", "--filter", `label=bay.sandbox_id=${sandboxId}`]).stdout.toString().split("\n").filter(Boolean);

describe("three replicas on one Postgres", () => {
  test("they share one instance id, and one of them leads", async () => {
    expect(instanceId).toMatch(/^[a-z0-9-]+$/);
    for (let i = 0; i < 50; i++) {
      if ((await sql("SELECT holder FROM leases WHERE name = 'leader'")).length === 1) break;
      await Bun.sleep(100);
    }
    const [leader] = await sql("SELECT holder FROM leases WHERE name = 'leader'");
    expect((await sql("SELECT id FROM replicas")).map((row) => row.id)).toContain(leader.holder);
    expect((await sql("SELECT count(*)::int AS n FROM replicas"))[0].n).toBe(3);
    // Each replica's /metrics names it, and exactly one says it leads.
    const infos = await Promise.all(
      replicas.map(async (replica) => {
        const text = await (await fetch(`${replica.url}/metrics`)).text();
        return /bay_replica_info\{replica="([^"]+)",leader="(true|false)"\} 1/.exec(text)!.slice(1);
      }),
    );
    expect(infos.map(([id]) => id!.split("-").at(-2))).toEqual(replicas.map((replica) => String(replica.process.pid)));
    expect(infos.filter(([, leading]) => leading === "true").map(([id]) => id)).toEqual([leader.holder]);
  });

  test("collector passes asked of every replica at once run one after another", async () => {
    const reports = (await Promise.all(Array.from({ length: 9 }, (_, i) => call(i, "POST", "/v1/admin/gc/run", {})))).map((answer) => answer.body);
    expect(new Set(reports.map((report) => report.replica_id)).size).toBe(3);
    const spans = reports.map((report) => ({ from: Date.parse(report.started_at), to: Date.parse(report.started_at) + report.duration_ms })).sort((a, b) => a.from - b.from);
    // Millisecond clocks: a pass begins no earlier than the one before ended (less a millisecond of rounding).
    for (let i = 1; i < spans.length; i++) expect(spans[i]!.from).toBeGreaterThanOrEqual(spans[i - 1]!.to - 1);
  });

  test("one warm pool per profile for the deployment, not one per replica", async () => {
    const members = async () => (await sql("SELECT count(*)::int AS n FROM sandboxes WHERE owner = 'bay:warm-pool' AND profile_id = 'warm' AND deleted_at IS NULL"))[0].n;
    for (let i = 0; i < 300 && (await members()) < 2; i++) await Bun.sleep(100);
    await Bun.sleep(3000);
    expect(await members()).toBe(2);
    for (const replica of replicas) expect(await (await fetch(`${replica.url}/metrics`)).text()).toContain('bay_warm_pool_ready{profile="warm"} 2');
  });

  test("20 concurrent first calls on one cold sandbox, over all replicas, start exactly one container", async () => {
    const { id } = (await call(0, "POST", "/v1/sandboxes", {})).body;
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => call(i, "POST", `/v1/sandboxes/${id}/shell/exec`, { command: "echo $HOSTNAME" })));
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(200));
    expect(new Set(answers.map((answer) => answer.body.output)).size).toBe(1);
    expect(containersOf(id)).toHaveLength(1);
    expect((await sql(`SELECT count(*)::int AS n FROM sessions WHERE sandbox_id = '${id}'`))[0].n).toBe(1);
    await call(1, "DELETE", `/v1/sandboxes/${id}`);
  });

  test("20 concurrent creates with one Idempotency-Key, over all replicas, make one sandbox", async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => call(i, "POST", "/v1/sandboxes", { ttl: 600 }, { "idempotency-key": "across-replicas" })));
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(201));
    const ids = new Set(answers.map((answer) => answer.body.id));
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    expect((await sql(`SELECT count(*)::int AS n FROM sandboxes WHERE owner = 'tester' AND deleted_at IS NULL AND id = '${id}'`))[0].n).toBe(1);
    expect(volumesWithLabel(`bay.sandbox_id=${id}`)).toHaveLength(1);
    await call(2, "DELETE", `/v1/sandboxes/${id}`);
  });

  test("quotas hold under concurrent creates on different replicas", async () => {
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => call(i, "POST", "/v1/sandboxes", {}, { authorization: `Bearer ${QUOTA_KEY}` })),
    );
    expect(answers.filter((answer) => answer.status === 201)).toHaveLength(3);
    for (const refused of answers.filter((answer) => answer.status !== 201)) expect(refused.body.error.code).toBe("quota_exceeded");
    expect((await sql("SELECT count(*)::int AS n FROM sandboxes WHERE owner = 'quota-owner' AND deleted_at IS NULL"))[0].n).toBe(3);
    expect(volumesWithLabel("bay.owner=quota-owner")).toHaveLength(3);
    for (const created of answers.filter((answer) => answer.status === 201)) {
      await call(0, "DELETE", `/v1/sandboxes/${created.body.id}`, undefined, { authorization: `Bearer ${QUOTA_KEY}` });
    }
  });

  test("a long call on one replica keeps the sandbox from being reaped as idle by whichever replica collects", async () => {
    const { id } = (await call(0, "POST", "/v1/sandboxes", {})).body;
    await call(0, "POST", `/v1/sandboxes/${id}/python/exec`, { code: "x = 7" });
    const [before] = await sql(`SELECT id FROM sessions WHERE sandbox_id = '${id}' AND status = 'running'`);
    // Three times the idle timeout, on a replica that does not lead: the leader's collector is the one that would reap it.
    const [{ holder }] = await sql("SELECT holder FROM leases WHERE name = 'leader'");
    const follower = live().findIndex((replica) => !holder.includes(`-${replica.process.pid}-`));
    const long = await call(follower, "POST", `/v1/sandboxes/${id}/shell/exec`, { command: "sleep 9; echo done", timeout: 60 });
    expect(long.body.output).toBe("done\n");
    const [after] = await sql(`SELECT id FROM sessions WHERE sandbox_id = '${id}' AND status = 'running'`);
    expect(after?.id).toBe(before.id);
    expect((await call(2, "POST", `/v1/sandboxes/${id}/python/exec`, { code: "print(x)" })).body.output).toBe("7\n");
    await call(0, "DELETE", `/v1/sandboxes/${id}`);
  });

  test("any replica serves a session another started, streams and downloads included, without a restart", async () => {
    const { id } = (await call(0, "POST", "/v1/sandboxes", {})).body;
    await call(0, "POST", `/v1/sandboxes/${id}/python/exec`, { code: "y = 'kept'" });
    const [session] = await sql(`SELECT id FROM sessions WHERE sandbox_id = '${id}' AND status = 'running'`);
    expect((await call(1, "POST", `/v1/sandboxes/${id}/python/exec`, { code: "print(y)" })).body.output).toBe("kept\n");
    const stream = await fetch(`${on(2).url}/v1/sandboxes/${id}/shell/exec`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ command: "echo one; echo two" }),
    });
    const events = [];
    for await (const event of parseEventStream(stream.body!)) events.push(event);
    expect(events.at(-1)?.event).toBe("done");
    await call(1, "PUT", `/v1/sandboxes/${id}/filesystem/files`, { path: "d.txt", content: "download me" });
    const download = await fetch(`${on(2).url}/v1/sandboxes/${id}/filesystem/download?path=d.txt`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(await download.text()).toBe("download me");
    expect((await sql(`SELECT id FROM sessions WHERE sandbox_id = '${id}'`)).map((row) => row.id)).toEqual([session.id]);
    await call(0, "DELETE", `/v1/sandboxes/${id}`);
  });

  test("kill -9 of the leader: another replica takes the lead within seconds and goes on collecting", async () => {
    const [{ holder }] = await sql("SELECT holder FROM leases WHERE name = 'leader'");
    const leader = replicas.find((replica) => holder.includes(`-${replica.process.pid}-`))!;
    expect(leader).toBeDefined();
    leader.process.kill("SIGKILL");
    await leader.process.exited;
    let next = holder;
    for (let i = 0; i < 200 && next === holder; i++) {
      await Bun.sleep(100);
      next = (await sql("SELECT holder FROM leases WHERE name = 'leader'"))[0]?.holder ?? holder;
    }
    expect(next).not.toBe(holder);
    // The new leader's collector reaps an idle session.
    const { id } = (await call(0, "POST", "/v1/sandboxes", {})).body;
    await call(0, "POST", `/v1/sandboxes/${id}/shell/exec`, { command: "true" });
    let status = "ready";
    for (let i = 0; i < 100 && status !== "idle"; i++) {
      await Bun.sleep(200);
      status = (await call(1, "GET", `/v1/sandboxes/${id}`)).body.status;
    }
    expect(status).toBe("idle");
    await call(0, "DELETE", `/v1/sandboxes/${id}`);
    replicas.push(await startReplica());
  });

  test("kill -9 of a replica in the middle of a start and of load: the others serve on, lose no acknowledged create, and recover the start", async () => {
    const { id } = (await call(0, "POST", "/v1/sandboxes", {})).body;
    const victim = on(0);
    const survivors = live().filter((replica) => replica !== victim);
    const started = fetch(`${victim.url}/v1/sandboxes/${id}/shell/exec`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ command: "echo first" }),
    }).catch(() => null);
    let starting: { id: string } | undefined;
    for (let i = 0; i < 200 && !starting; i++) {
      [starting] = await sql(`SELECT id FROM sessions WHERE sandbox_id = '${id}' AND status = 'starting'`);
      if (!starting) await Bun.sleep(10);
    }
    expect(starting).toBeDefined();
    // Load on the others while the victim dies.
    const load = Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        fetch(`${survivors[i % survivors.length]!.url}/v1/sandboxes`, {
          method: "POST",
          headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
          body: "{}",
        }).then(async (response) => ({ status: response.status, body: (await response.json()) as { id: string } })),
      ),
    );
    victim.process.kill("SIGKILL");
    await started;
    const acknowledged = (await load).filter((answer) => answer.status === 201).map((answer) => answer.body.id);
    expect(acknowledged).toHaveLength(10);
    const stored = (await sql(`SELECT id FROM sandboxes WHERE deleted_at IS NULL AND id IN (${acknowledged.map((a) => `'${a}'`).join(",")})`)).map((row) => row.id);
    expect(stored.sort()).toEqual([...acknowledged].sort());

    const answer = await call(1, "POST", `/v1/sandboxes/${id}/shell/exec`, { command: "echo recovered" });
    expect(answer.body.output).toBe("recovered\n");
    expect((await sql(`SELECT status, end_reason FROM sessions WHERE id = '${starting!.id}'`))[0]).toEqual({ status: "stopped", end_reason: "abandoned" });
    for (const created of acknowledged) await call(2, "DELETE", `/v1/sandboxes/${created}`);
    for (let i = 0; i < 100 && containersOf(id).length > 1; i++) await Bun.sleep(200);
    expect(containersOf(id)).toHaveLength(1);
    expect((await sql(`SELECT count(*)::int AS n FROM sessions WHERE sandbox_id = '${id}' AND status IN ('starting', 'running')`))[0].n).toBe(1);
    expect((await call(2, "DELETE", `/v1/sandboxes/${id}`)).status).toBe(204);
    expect(volumesWithLabel(`bay.sandbox_id=${id}`)).toEqual([]);
  });
});
