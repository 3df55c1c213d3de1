/**
 * Issue 5, items 4–6: what survives when `bay serve` is killed, stopped or
 * restarted. Every test runs the real daemon on its own data dir and
 * instance id, kills or stops it, starts a new one on the same data dir, and
 * checks the engine (through the docker CLI) and the state database.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { TEST_IMAGE } from "../helpers/env.ts";
import { containerExists, volumeExists, volumesWithLabel } from "../helpers/docker.ts";
import {
  type Answer,
  cleanUpInstallations,
  containerIds,
  docker,
  expectEngineMatchesDatabase,
  Installation,
} from "../helpers/installation.ts";

// Real containers start and daemons restart here; no test asserts speed except where a bound is the feature.
setDefaultTimeout(120_000);

cleanUpInstallations();

/** The one running container of a sandbox. */
function containerOf(installation: Installation, sandboxId: string): string {
  const ids = containerIds([installation.label, `bay.sandbox_id=${sandboxId}`]);
  expect(ids).toHaveLength(1);
  return ids[0]!;
}

/** Which of these containers are running. */
function runningContainerNames(names: string[]): string[] {
  return names.filter((name) => docker("inspect", "-f", "{{.State.Running}}", name) === "true").sort();
}

async function runGc(installation: Installation): Promise<Answer> {
  const report = await installation.call("POST", "/v1/admin/gc/run");
  expect(report.status).toBe(200);
  return report;
}

/** Whether a fresh TCP connection to the daemon's port is refused (keep-alive pools cannot hide it). */
function connectionRefused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await Bun.sleep(20);
  }
  return false;
}

/** Labels as `docker … --label` arguments. */
const labelArgs = (labels: Record<string, string>) => Object.entries(labels).flatMap(([key, value]) => ["--label", `${key}=${value}`]);

/** Ids Bay never issued, shaped like the ones it does. */
const unknownIds = () => ({
  sandbox: `sandbox-${randomBytes(6).toString("hex")}`,
  session: `sess-${randomBytes(6).toString("hex")}`,
  cargo: `ws-${randomBytes(6).toString("hex")}`,
});

/** A running container, a created one and a volume carrying these labels plus unknown ids; returns their names. */
function createEngineObjects(labels: Record<string, string>): { containers: string[]; volume: string } {
  const running = unknownIds();
  const created = unknownIds();
  const withIds = (ids: ReturnType<typeof unknownIds>) =>
    labelArgs({ ...labels, "bay.sandbox_id": ids.sandbox, "bay.session_id": ids.session, "bay.cargo_id": ids.cargo, "bay.owner": "default" });
  const runningName = `bay-session-${running.session}`;
  const createdName = `bay-session-${created.session}`;
  docker("run", "-d", "--name", runningName, ...withIds(running), TEST_IMAGE, "sleep", "600");
  docker("create", "--name", createdName, ...withIds(created), TEST_IMAGE, "true");
  const volume = `bay-cargo-${running.cargo}`;
  docker("volume", "create", ...withIds(running), volume);
  return { containers: [runningName, createdName], volume };
}

describe("a daemon killed with SIGKILL", () => {
  test("the next daemon adopts running containers: kernel state survives and the container is not restarted", async () => {
    const bay = new Installation();
    await bay.start();
    const sandbox = await bay.createSandbox();
    expect(await bay.python(sandbox, "x = 41")).toMatchObject({ status: 200, body: { success: true } });
    const container = containerOf(bay, sandbox);
    const startedAt = docker("inspect", "-f", "{{.State.StartedAt}}", container);

    await bay.crash();
    await bay.start();

    expect(await bay.python(sandbox, "x + 1")).toMatchObject({ status: 200, body: { success: true, output: "42\n" } });
    expect(containerOf(bay, sandbox)).toBe(container);
    expect(docker("inspect", "-f", "{{.State.StartedAt}} {{.RestartCount}}", container)).toBe(`${startedAt} 0`);
    expect((await bay.call("GET", `/v1/sandboxes/${sandbox}`)).body).toMatchObject({ status: "ready", state_reset_at: null });
  });

  test("SIGKILL in the middle of creates, execs and deletes: after a restart and one GC run the engine matches the database", async () => {
    const bay = new Installation();
    await bay.start();
    // A crash early (creates half-way) and one later (containers half-started, execs running).
    for (const killAfterMs of [25, 300]) {
      const existing = await Promise.all(Array.from({ length: 5 }, () => bay.createSandbox()));
      const doomed = await Promise.all(Array.from({ length: 2 }, () => bay.createSandbox()));
      // These run a session; the other three existing ones start one when the execs arrive.
      for (const sandbox of [...existing.slice(0, 2), ...doomed]) expect((await bay.python(sandbox, "1")).status).toBe(200);

      // Settled from the start: the crash makes them fail, which is expected.
      const inFlight = Promise.allSettled([
        ...Array.from({ length: 10 }, () => bay.call("POST", "/v1/sandboxes", {})),
        ...Array.from({ length: 10 }, (_, i) => bay.python(existing[i % existing.length]!, `import time\ntime.sleep(0.2)\nprint(${i})`)),
        ...doomed.map((sandbox) => bay.call("DELETE", `/v1/sandboxes/${sandbox}`)),
      ]);
      await Bun.sleep(killAfterMs);
      await bay.crash();
      await inFlight;
      await bay.start();

      await runGc(bay);
      expectEngineMatchesDatabase(bay);

      const listed = await bay.call("GET", "/v1/sandboxes?limit=200");
      expect(listed.status).toBe(200);
      const ids: string[] = listed.body.items.map((s: { id: string }) => s.id);
      expect(ids).toEqual(expect.arrayContaining(existing));
      const answers = await Promise.all(ids.map((id) => bay.python(id, "6 * 7")));
      expect(answers.map((a) => [a.status, a.body.output])).toEqual(ids.map(() => [200, "42\n"]));
      expectEngineMatchesDatabase(bay);
    }
  });
});

describe("reconciliation when the daemon starts", () => {
  test("a container killed while Bay was down: the sandbox shows the reset, and the next exec gets a new container with the files", async () => {
    const bay = new Installation();
    await bay.start();
    const sandbox = await bay.createSandbox();
    const written = await bay.call("PUT", `/v1/sandboxes/${sandbox}/filesystem/files`, { path: "notes/before.txt", content: "kept\n" });
    expect(written.status).toBe(200);
    expect((await bay.python(sandbox, "x = 1")).status).toBe(200);
    const killed = containerOf(bay, sandbox);

    await bay.crash();
    docker("kill", killed);
    await bay.start();

    const view = (await bay.call("GET", `/v1/sandboxes/${sandbox}`)).body;
    expect(view).toMatchObject({ status: "idle", state_reset_reason: expect.any(String) });
    expect(Date.parse(view.state_reset_at)).toBeGreaterThan(0);
    expect(containerExists(killed)).toBe(false);

    expect(await bay.shell(sandbox, "cat notes/before.txt")).toMatchObject({ status: 200, body: { success: true, output: "kept\n" } });
    expect(await bay.python(sandbox, "'x' in globals()")).toMatchObject({ status: 200, body: { output: "False\n" } });
    expect(containerOf(bay, sandbox)).not.toBe(killed);
    expectEngineMatchesDatabase(bay);
  });

  test("containers and volumes of unknown sessions, cargos and deleted sandboxes are removed at start-up, without a grace period", async () => {
    const bay = new Installation();
    await bay.start();
    const kept = await bay.createSandbox();
    const deleted = await bay.createSandbox();
    for (const sandbox of [kept, deleted]) expect((await bay.python(sandbox, "1")).status).toBe(200);
    const deletedContainer = containerOf(bay, deleted);
    const deletedVolume = (await bay.call("GET", `/v1/sandboxes/${deleted}`)).body.cargo_id;

    await bay.crash();
    const orphans = createEngineObjects({ "bay.managed": "true", "bay.instance_id": bay.instanceId });
    // A DELETE that marked the row and died before it reached the engine.
    bay.writeDatabase("UPDATE sandboxes SET deleted_at = ? WHERE id = ?", Date.now(), deleted);
    await bay.start();

    for (const name of [...orphans.containers, deletedContainer]) expect(containerExists(name)).toBe(false);
    for (const name of [orphans.volume, `bay-cargo-${deletedVolume}`]) expect(volumeExists(name)).toBe(false);
    expect((await bay.call("GET", `/v1/sandboxes/${deleted}`)).status).toBe(404);
    expect(await bay.python(kept, "1 + 1")).toMatchObject({ status: 200, body: { output: "2\n" } });
    expectEngineMatchesDatabase(bay);
  });

  test("objects of another instance, or without bay.managed=true, survive a restart and a GC run", async () => {
    // No grace: a collector that wrongly claimed these objects would remove them at once.
    const bay = new Installation({ BAY_GC__ORPHAN_GRACE_SECONDS: "0" });
    const otherInstance = `test-${randomBytes(4).toString("hex")}`;
    bay.foreignInstances.push(otherInstance);
    await bay.start();
    const sandbox = await bay.createSandbox();
    expect((await bay.python(sandbox, "1")).status).toBe(200);

    await bay.crash();
    const foreign = [
      createEngineObjects({ "bay.managed": "true", "bay.instance_id": otherInstance }),
      createEngineObjects({ "bay.instance_id": bay.instanceId }),
      createEngineObjects({ "bay.managed": "false", "bay.instance_id": bay.instanceId }),
    ];
    await bay.start();
    const report = await runGc(bay);
    expect(report.body.results.flatMap((r: { errors: string[] }) => r.errors)).toEqual([]);

    for (const objects of foreign) {
      for (const name of objects.containers) expect(containerExists(name)).toBe(true);
      expect(volumeExists(objects.volume)).toBe(true);
    }
    expect(runningContainerNames(foreign.map((o) => o.containers[0]!))).toEqual(foreign.map((o) => o.containers[0]!).sort());
    expect((await bay.python(sandbox, "1")).status).toBe(200);

    for (const objects of foreign) {
      docker("rm", "-f", ...objects.containers);
      docker("volume", "rm", objects.volume);
    }
  });
});

describe("graceful shutdown on SIGTERM or SIGINT", () => {
  test.each(["SIGTERM", "SIGINT"] as const)("%s: refuses new connections, lets the running exec finish, closes the database, exits 0, and leaves the containers for the next daemon", async (signal) => {
    const bay = new Installation();
    await bay.start();
    const sandbox = await bay.createSandbox();
    expect((await bay.python(sandbox, "y = 7")).status).toBe(200);
    const container = containerOf(bay, sandbox);
    const url = bay.url;

    let finished = false;
    const slow = bay.shell(sandbox, "sleep 3; echo done").finally(() => (finished = true));
    await Bun.sleep(1000);
    const exited = bay.signal(signal);

    expect(await until(() => connectionRefused(url), 1500)).toBe(true);
    expect(finished).toBe(false);
    expect(await slow).toMatchObject({ status: 200, body: { success: true, output: "done\n" } });
    expect(await exited).toBe(0);
    // Closed cleanly: the last connection checkpointed the write-ahead log and removed it.
    expect(existsSync(join(bay.dataDir, "bay.sqlite-wal"))).toBe(false);

    expect(containerIds([bay.label])).toEqual([container]);
    await bay.start();
    expect(await bay.python(sandbox, "y * 6")).toMatchObject({ status: 200, body: { output: "42\n" } });
    expect(containerOf(bay, sandbox)).toBe(container);
  });

  test("with shutdown_grace_seconds=1, a request that runs on is cut and the daemon exits within a few seconds", async () => {
    const bay = new Installation({ BAY_SERVER__SHUTDOWN_GRACE_SECONDS: "1" });
    await bay.start();
    const sandbox = await bay.createSandbox();
    expect((await bay.shell(sandbox, "true")).status).toBe(200);

    const endless = bay.shell(sandbox, "sleep 30; echo done").then(
      (answer) => answer.status,
      () => "connection closed",
    );
    await Bun.sleep(500);
    const signalledAt = performance.now();
    const code = await bay.signal("SIGTERM");
    // The bound is the feature: 1 s of grace, then the cut, then the database is closed.
    expect(performance.now() - signalledAt).toBeLessThan(5000);
    expect(code).toBe(0);
    expect(await endless).toBe("connection closed");
  });

  test("with stop_sessions_on_shutdown, the containers are removed and the volumes kept; the sandboxes work after a restart", async () => {
    const bay = new Installation({ BAY_SERVER__STOP_SESSIONS_ON_SHUTDOWN: "true" });
    await bay.start();
    const sandboxes = [await bay.createSandbox(), await bay.createSandbox()];
    for (const sandbox of sandboxes) expect((await bay.shell(sandbox, `echo ${sandbox} > mine.txt`)).status).toBe(200);
    const volumes = volumesWithLabel(bay.label).sort();
    expect(volumes).toHaveLength(2);

    expect(await bay.signal("SIGTERM")).toBe(0);
    expect(containerIds([bay.label], { all: true })).toEqual([]);
    expect(volumesWithLabel(bay.label).sort()).toEqual(volumes);

    await bay.start();
    expectEngineMatchesDatabase(bay);
    for (const sandbox of sandboxes) {
      expect((await bay.call("GET", `/v1/sandboxes/${sandbox}`)).body.status).toBe("idle");
      expect(await bay.shell(sandbox, "cat mine.txt")).toMatchObject({ status: 200, body: { output: `${sandbox}\n` } });
    }
    expectEngineMatchesDatabase(bay);
  });
});
