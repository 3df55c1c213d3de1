import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { sandboxes } from "../../src/db/schema.ts";
import { eq } from "drizzle-orm";
import { authorizationOf, expectErrorShape, THREE_OWNERS_CONFIG, useTestBay } from "../helpers/test-bay.ts";
import { containerExists, containersWithLabel, volumeExists, volumesWithLabel } from "../helpers/docker.ts";
import { TEST_API_KEY, TEST_IMAGE } from "../helpers/env.ts";
import { readEvents } from "../helpers/event-stream.ts";

// Real containers start here; each test gets room, and no test asserts speed.
setDefaultTimeout(60_000);

/** A daemon-like Bay: background work on, a 1 s collector, no grace for orphans, a 2 s idle timeout. */
const bay = useTestBay({
  background: true,
  config: {
    ...THREE_OWNERS_CONFIG,
    gc: { interval_seconds: 1, orphan_grace_seconds: 0 },
    profiles: [{ id: "python-default", image: TEST_IMAGE, idle_timeout: 2 }],
  },
});

const foreignObjects: { containers: string[]; volumes: string[] } = { containers: [], volumes: [] };

afterAll(() => {
  for (const name of foreignObjects.containers) Bun.spawnSync(["docker", "rm", "-f", name]);
  for (const name of foreignObjects.volumes) Bun.spawnSync(["docker", "volume", "rm", "-f", name]);
});

const newSandbox = async (body: Record<string, unknown> = {}) => (await bay.request("POST", "/v1/sandboxes", body)).body;
const shell = (id: string, command: string) => bay.request("POST", `/v1/sandboxes/${id}/shell/exec`, { command, timeout: 60 });
const statusOf = async (id: string) => (await bay.request("GET", `/v1/sandboxes/${id}`)).body.status;

/** Polls until `check` holds, for at most `seconds`. */
async function eventually(check: () => boolean | Promise<boolean>, seconds: number): Promise<boolean> {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    if (await check()) return true;
    await Bun.sleep(100);
  }
  return check();
}

function docker(...args: string[]): string {
  const result = Bun.spawnSync(["docker", ...args], { stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(result.stderr.toString());
  return result.stdout.toString().trim();
}

describe("idle stop", () => {
  test("a session idle past idle_expires_at is stopped: container removed, cargo kept, status idle", async () => {
    const sandbox = await newSandbox();
    expect((await shell(sandbox.id, "echo kept > note.txt")).body.success).toBe(true);
    const [container] = containersWithLabel(`bay.sandbox_id=${sandbox.id}`);
    expect(await eventually(() => !containerExists(container!), 6)).toBe(true);
    expect(await statusOf(sandbox.id)).toBe("idle");
    expect(volumeExists(`bay-cargo-${sandbox.cargo_id}`)).toBe(true);
    // Idle is not a crash: no reset is recorded, and the files are there on the next call.
    expect((await bay.request("GET", `/v1/sandboxes/${sandbox.id}`)).body.state_reset_at).toBeNull();
    expect((await shell(sandbox.id, "cat note.txt")).body.output).toBe("kept\n");
  });

  test("keepalive and calls push idle_expires_at forward, so a used sandbox is not reaped", async () => {
    const sandbox = await newSandbox();
    await shell(sandbox.id, "true");
    const [container] = containersWithLabel(`bay.sandbox_id=${sandbox.id}`);
    for (let i = 0; i < 5; i++) {
      await Bun.sleep(1000);
      expect((await bay.request("POST", `/v1/sandboxes/${sandbox.id}/keepalive`)).status).toBe(200);
    }
    expect(containerExists(container!)).toBe(true);
    expect(await statusOf(sandbox.id)).toBe("ready");
    expect(await eventually(() => !containerExists(container!), 6)).toBe(true);
  });

  test("a long-running execution is never reaped while it runs, streamed or not", async () => {
    const sandbox = await newSandbox();
    const [result] = await Promise.all([shell(sandbox.id, "sleep 5; echo survived")]);
    expect(result.body).toMatchObject({ success: true, output: "survived\n" });

    const response = await bay.app.handle(
      new Request(`http://localhost/v1/sandboxes/${sandbox.id}/python/exec`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify({ code: "import time\ntime.sleep(5)\nprint('streamed')", timeout: 60 }),
      }),
    );
    const events = await readEvents(response, performance.now());
    expect(events.at(-1)).toMatchObject({ event: "done", data: { success: true, output: "streamed\n" } });
  });
});

describe("TTL expiry", () => {
  test("an expired sandbox is deleted by the collector, with its container and managed volume", async () => {
    const sandbox = await newSandbox({ ttl: 2 });
    await shell(sandbox.id, "true");
    expect(await eventually(async () => (await bay.request("GET", `/v1/sandboxes/${sandbox.id}`)).status === 404, 6)).toBe(true);
    // The row goes first (the sandbox is gone for callers at once), then its compute and volume.
    expect(await eventually(() => containersWithLabel(`bay.sandbox_id=${sandbox.id}`).length === 0, 5)).toBe(true);
    expect(await eventually(() => !volumeExists(`bay-cargo-${sandbox.cargo_id}`), 5)).toBe(true);
  });
});

describe("garbage collection", () => {
  test("the admin routes need an admin key; run reports every task, status says when it ran", async () => {
    expectErrorShape(await bay.request("POST", "/v1/admin/gc/run", undefined, authorizationOf("alice")), 403, "forbidden");
    expectErrorShape(await bay.request("GET", "/v1/admin/gc/status", undefined, authorizationOf("alice")), 403, "forbidden");
    const report = (await bay.request("POST", "/v1/admin/gc/run")).body;
    expect(report.results.map((r: any) => r.task_name)).toEqual([
      "idle_sessions",
      "expired_sandboxes",
      "lost_sessions",
      "orphan_containers",
      "orphan_session_directories",
      "orphan_cargos",
      "cargo_size_limits",
      "expired_idempotency_keys",
    ]);
    expect(typeof report.total_cleaned).toBe("number");
    expect(typeof report.duration_ms).toBe("number");
    const status = (await bay.request("GET", "/v1/admin/gc/status")).body;
    expect(status).toMatchObject({ enabled: true, interval_seconds: 1 });
    expect(typeof status.is_running).toBe("boolean");
    expect(Date.parse(status.last_run_at)).toBeGreaterThan(Date.now() - 5000);
  });

  test("orphans of this instance are removed: unknown containers and volumes, and an interrupted delete's leftovers", async () => {
    const labels = ["--label", "bay.managed=true", "--label", `bay.instance_id=${bay.instanceId}`];
    const strayVolume = docker("volume", "create", ...labels, "--label", "bay.cargo_id=ws-0000000000aa", "bay-cargo-ws-0000000000aa");
    const strayContainer = docker("create", ...labels, "--label", "bay.session_id=sess-0000000000aa", TEST_IMAGE, "true");

    // A delete that was interrupted after the row was marked: compute and volume are still there.
    const sandbox = await newSandbox();
    await shell(sandbox.id, "true");
    bay.core.db.update(sandboxes).set({ deletedAt: Date.now() }).where(eq(sandboxes.id, sandbox.id)).run();

    // The background collector may get there first; either way one run leaves none of them.
    const report = (await bay.request("POST", "/v1/admin/gc/run")).body;
    expect(report.results.every((r: any) => r.errors.length === 0)).toBe(true);
    expect(volumeExists(strayVolume)).toBe(false);
    expect(containerExists(strayContainer)).toBe(false);
    expect(containersWithLabel(`bay.sandbox_id=${sandbox.id}`)).toEqual([]);
    expect(volumeExists(`bay-cargo-${sandbox.cargo_id}`)).toBe(false);
  });

  test("objects of another instance, or not marked bay.managed=true, are never touched", async () => {
    const other = ["--label", "bay.managed=true", "--label", "bay.instance_id=someone-else"];
    const unmanaged = ["--label", `bay.instance_id=${bay.instanceId}`];
    foreignObjects.volumes.push(docker("volume", "create", ...other, "bay-test-foreign-volume"));
    foreignObjects.volumes.push(docker("volume", "create", ...unmanaged, "bay-test-unmanaged-volume"));
    foreignObjects.containers.push(docker("create", ...other, "--name", "bay-test-foreign-container", TEST_IMAGE, "true"));
    foreignObjects.containers.push(docker("create", ...unmanaged, "--name", "bay-test-unmanaged-container", TEST_IMAGE, "true"));

    await bay.request("POST", "/v1/admin/gc/run");
    await Bun.sleep(1500);
    for (const volume of foreignObjects.volumes) expect(volumeExists(volume)).toBe(true);
    for (const container of foreignObjects.containers) expect(containerExists(container)).toBe(true);
  });

  test("after deleting everything, the engine holds nothing of this instance", async () => {
    for (const name of foreignObjects.containers.splice(0)) docker("rm", "-f", name);
    for (const name of foreignObjects.volumes.splice(0)) docker("volume", "rm", "-f", name);
    for (const item of (await bay.request("GET", "/v1/sandboxes?limit=200")).body.items) {
      expect((await bay.request("DELETE", `/v1/sandboxes/${item.id}`)).status).toBe(204);
    }
    expect(containersWithLabel(`bay.instance_id=${bay.instanceId}`)).toEqual([]);
    expect(volumesWithLabel(`bay.instance_id=${bay.instanceId}`)).toEqual([]);
  });
});

describe("idle stop and long transfers", () => {
  test("a download that takes longer than idle_timeout keeps its session until the last byte", async () => {
    const sandbox = await newSandbox();
    expect((await shell(sandbox.id, "head -c 20000000 /dev/urandom > big.bin")).body.success).toBe(true);
    const [container] = containersWithLabel(`bay.sandbox_id=${sandbox.id}`);
    const response = await bay.app.handle(
      new Request(`http://localhost/v1/sandboxes/${sandbox.id}/filesystem/download?path=big.bin`, {
        headers: { authorization: `Bearer ${TEST_API_KEY}` },
      }),
    );
    // Read slowly: the transfer spans several idle timeouts (2 s) and collector ticks.
    const reader = response.body!.getReader();
    let received = 0;
    const started = Date.now();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.length;
      if (Date.now() - started < 5000) await Bun.sleep(200);
    }
    expect(Date.now() - started).toBeGreaterThan(4000);
    expect(received).toBe(20_000_000);
    expect(containerExists(container!)).toBe(true);
    // Once the transfer is over, the idle clock runs again.
    expect(await eventually(() => !containerExists(container!), 8)).toBe(true);
  });
});
