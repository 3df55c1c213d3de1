import { describe, expect, test } from "bun:test";
import { ACTIVITY_SLACK_MS } from "../../../src/core/activity-writes.ts";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { LABEL } from "../../../src/core/labels.ts";
import { BayError } from "../../../src/shared/errors.ts";
import { rejectionOf } from "../../helpers/thrown.ts";
import { OWNER, UNIT_PROFILE, eventually, execPython, holdStarts, useUnitBays, type UnitBay } from "./unit-bay.ts";

const startBay = useUnitBays();

/** A capability call that needs nothing from the agent: it only makes sure compute runs. */
function touchCompute(bay: UnitBay, sandboxId: string) {
  return bay.core.sandboxes.withAgent(OWNER, sandboxId, "python", async (_client, session) => session.id);
}

async function failure(promise: Promise<unknown>): Promise<BayError> {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(BayError);
  return error as BayError;
}

describe("session start", () => {
  test("20 concurrent first calls on a cold sandbox start exactly one container, and all run on it", async () => {
    const bay = await startBay();
    const sandbox = await bay.core.sandboxes.create(OWNER, {});
    const responses = await Promise.all(Array.from({ length: 20 }, () => execPython(bay, sandbox.id)));
    expect(responses.map((response) => response.status)).toEqual(Array(20).fill(200));
    expect(bay.driver.starts).toBe(1);
    expect(bay.driver.containersOf(sandbox.id)).toHaveLength(1);
    expect((await bay.core.sandboxes.get(OWNER, sandbox.id)).status).toBe("ready");
  });

  test("a stop while a start is in flight waits for it, then leaves no container and no running session", async () => {
    const bay = await startBay();
    const sandbox = await bay.core.sandboxes.create(OWNER, {});
    const held = holdStarts(bay.driver);
    const call = touchCompute(bay, sandbox.id).catch((error: unknown) => error);
    await held.entered;
    expect((await bay.core.sandboxes.get(OWNER, sandbox.id)).status).toBe("starting");
    const stopping = bay.core.sandboxes.stop(OWNER, sandbox.id);
    held.release();
    await Promise.all([stopping, call]);
    expect(bay.driver.containers).toEqual([]);
    expect(await bay.store.activeSession(sandbox.id)).toBeUndefined();
    expect((await bay.store.latestSession(sandbox.id))?.endReason).toBe("stopped");
    expect((await bay.core.sandboxes.get(OWNER, sandbox.id)).status).toBe("idle");
  });

  test("a start the engine refuses marks the sandbox failed, leaves no container, and the next call starts afresh", async () => {
    const bay = await startBay();
    const sandbox = await bay.core.sandboxes.create(OWNER, {});
    bay.driver.failNext("startSessionContainer", new BayError("ship_error", "the engine refused the container"));
    const error = await failure(touchCompute(bay, sandbox.id));
    expect(error.code).toBe("ship_error");
    expect((await bay.core.sandboxes.get(OWNER, sandbox.id)).status).toBe("failed");
    expect((await bay.store.latestSession(sandbox.id))?.endReason).toBe("start_failed");
    expect(bay.driver.containers).toEqual([]);

    await touchCompute(bay, sandbox.id);
    expect(bay.driver.starts).toBe(2);
    expect((await bay.core.sandboxes.get(OWNER, sandbox.id)).status).toBe("ready");
    expect((await bay.store.findSandboxById(sandbox.id))?.lastStartError).toBeNull();
  });

  test("a profile whose image is missing fails every start with the image named, and each call tries again", async () => {
    const bay = await startBay({ config: { profiles: [{ ...UNIT_PROFILE, image: "missing/python:1" }] } });
    const sandbox = await bay.core.sandboxes.create(OWNER, {});
    for (const attempt of [1, 2]) {
      const error = await failure(touchCompute(bay, sandbox.id));
      expect(error.code).toBe("ship_error");
      expect(error.details.image).toBe("missing/python:1");
      expect(bay.driver.starts).toBe(attempt);
    }
    expect((await bay.core.sandboxes.get(OWNER, sandbox.id)).status).toBe("failed");
    expect(bay.driver.containers).toEqual([]);
    // Both attempts left their session stopped; none holds compute.
    expect(await bay.store.activeSession(sandbox.id)).toBeUndefined();
  });

  test("an agent that exits before it is ready fails the start with its last log lines, and its container goes", async () => {
    const bay = await startBay();
    const sandbox = await bay.core.sandboxes.create(OWNER, {});
    bay.driver.afterStart = async ({ containerId }) => {
      bay.driver.setLogs(containerId, "agent: cannot listen on port 8123\n");
      await bay.driver.endContainer(containerId, "container exited (code 1)", 1);
    };
    const error = await failure(touchCompute(bay, sandbox.id));
    expect(error.code).toBe("ship_error");
    expect(error.message).toContain("the agent exited before it was ready");
    expect(error.message).toContain("cannot listen on port 8123");
    expect(error.details.container_logs).toContain("cannot listen on port 8123");
    expect(bay.driver.containers).toEqual([]);
    expect((await bay.core.sandboxes.get(OWNER, sandbox.id)).status).toBe("failed");
  });

  test("an agent that never answers /health fails the start at ship.ready_timeout_seconds with 504 timeout", async () => {
    const bay = await startBay({ config: { ship: { ready_timeout_seconds: 1 } } });
    const sandbox = await bay.core.sandboxes.create(OWNER, {});
    bay.driver.afterStart = async ({ containerId }) => bay.driver.pauseContainer(containerId);
    const response = await execPython(bay, sandbox.id);
    expect(response.status).toBe(504);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("timeout");
    expect(body.error.message).toContain("did not become ready within 1 s");
    expect(bay.driver.containers).toEqual([]);
  });

  test("every session has a directory under data_dir, root's alone, with its token in a file and not in the environment; removed with its container", async () => {
    const bay = await startBay();
    const sandbox = await bay.core.sandboxes.create(OWNER, {});
    expect((await execPython(bay, sandbox.id)).status).toBe(200);
    const session = (await bay.store.activeSession(sandbox.id))!;
    const sessionDir = join(bay.dataDir, "sessions", session.id);
    expect((statSync(sessionDir).mode & 0o777).toString(8)).toBe("700");
    const tokenFile = join(sessionDir, "token");
    expect(readFileSync(tokenFile, "utf8")).toBe(session.token);
    expect((statSync(tokenFile).mode & 0o777).toString(8)).toBe("400");
    const spec = bay.driver.startedSpecs.at(-1)!;
    expect(spec.sessionDir).toBe(sessionDir);
    expect(spec.agentArgs.slice(spec.agentArgs.indexOf("--token-file"), spec.agentArgs.indexOf("--token-file") + 2)).toEqual(["--token-file", "/run/bay/token"]);
    expect(JSON.stringify(spec.env)).not.toContain(session.token);
    await bay.core.sandboxes.stop(OWNER, sandbox.id);
    expect(existsSync(sessionDir)).toBe(false);
  });

  test("a sandbox without network is reached through a socket in its session's directory, removed with its container", async () => {
    const bay = await startBay({ config: { profiles: [{ ...UNIT_PROFILE, network: "none" }] } });
    const sandbox = await bay.core.sandboxes.create(OWNER, {});
    expect((await execPython(bay, sandbox.id)).status).toBe(200);
    const session = (await bay.store.activeSession(sandbox.id))!;
    const socketDir = join(bay.dataDir, "sessions", session.id);
    expect(session.endpoint).toBe(`unix://${socketDir}/agent.sock`);
    expect(existsSync(socketDir)).toBe(true);
    await bay.core.sandboxes.stop(OWNER, sandbox.id);
    expect(existsSync(socketDir)).toBe(false);
    expect(bay.driver.containers).toEqual([]);
  });
});

describe("session end", () => {
  test("a container that dies is noticed through the engine's events; the next call runs on a new container on the same cargo", async () => {
    const bay = await startBay();
    await bay.core.startBackground();
    const sandbox = await bay.core.sandboxes.create(OWNER, {});
    const first = (await (await execPython(bay, sandbox.id)).json()) as { kernel_restarted?: boolean };
    expect(first.kernel_restarted).toBeUndefined();
    const [dead] = bay.driver.containersOf(sandbox.id);
    const deadSession = (await bay.store.activeSession(sandbox.id))!;

    await bay.driver.endContainer(dead!.id, "out of memory", 137);
    await eventually(() => bay.driver.containersOf(sandbox.id).length === 0, "the dead container is removed");
    const afterDeath = await bay.core.sandboxes.get(OWNER, sandbox.id);
    expect(afterDeath.status).toBe("idle");
    expect(afterDeath.state_reset_reason).toBe("out of memory");
    expect(afterDeath.state_reset_at).not.toBeNull();
    expect((await bay.store.findSession(deadSession.id))?.endReason).toBe("died");

    const second = await execPython(bay, sandbox.id);
    expect(second.status).toBe(200);
    expect(((await second.json()) as { kernel_restarted?: boolean }).kernel_restarted).toBe(true);
    const [replacement] = bay.driver.containersOf(sandbox.id);
    expect(replacement!.id).not.toBe(dead!.id);
    expect(replacement!.labels[LABEL.cargoId]).toBe(sandbox.cargo_id);
    expect((await bay.store.activeSession(sandbox.id))?.previousSessionId).toBe(deadSession.id);
  });

  test("a death missed while the engine's event stream was down is found by the reconciliation after it reconnects", async () => {
    const bay = await startBay();
    await bay.core.startBackground();
    const sandbox = await bay.core.sandboxes.create(OWNER, {});
    expect((await execPython(bay, sandbox.id)).status).toBe(200);
    const [container] = bay.driver.containersOf(sandbox.id);
    bay.driver.closeEventStreams(new Error("engine restarting"));
    // Nobody is subscribed now: this end is reported to no one.
    await bay.driver.endContainer(container!.id, "exited", 137);
    await eventually(async () => (await bay.core.sandboxes.get(OWNER, sandbox.id)).state_reset_reason !== null, "the reconciliation records the death");
    expect((await bay.core.sandboxes.get(OWNER, sandbox.id)).state_reset_reason).toBe("container exited (code 137)");
    expect(bay.driver.calls.filter((call) => call === "watchContainerEnds")).toHaveLength(2);
  });

  test("a call sent to a container that died unnoticed runs once on a new container, and says the kernel restarted", async () => {
    const bay = await startBay();
    const sandbox = await bay.core.sandboxes.create(OWNER, {});
    expect((await execPython(bay, sandbox.id)).status).toBe(200);
    const [dead] = bay.driver.containersOf(sandbox.id);
    // No engine watcher runs: Bay learns of it only when the call cannot connect.
    await bay.driver.endContainer(dead!.id, "exited", 137);
    const response = await execPython(bay, sandbox.id);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { kernel_restarted?: boolean }).kernel_restarted).toBe(true);
    expect(bay.driver.starts).toBe(2);
    expect((await bay.core.sandboxes.get(OWNER, sandbox.id)).state_reset_reason).toBe("container exited (code 137)");
    expect(bay.driver.containers.map((container) => container.id)).not.toContain(dead!.id);
  });

  test("reapIfIdle leaves a sandbox with a call in flight alone, and reaps it once the call is done and the deadline passed", async () => {
    const bay = await startBay();
    const sandbox = await bay.core.sandboxes.create(OWNER, {});
    const callDone = Promise.withResolvers<void>();
    const inFlight = bay.core.sandboxes.withAgent(OWNER, sandbox.id, "python", () => callDone.promise);
    await eventually(async () => (await bay.store.activeSession(sandbox.id))?.status === "running", "the session runs");
    const session = (await bay.store.activeSession(sandbox.id))!;
    const pastDeadline = Date.now() + 2 * UNIT_PROFILE.idle_timeout * 1000;

    expect(await bay.core.sessions.reapIfIdle(session, pastDeadline)).toBe(false);
    expect(bay.driver.containersOf(sandbox.id)).toHaveLength(1);

    callDone.resolve();
    await inFlight;
    const idle = (await bay.store.findSession(session.id))!;
    expect(await bay.core.sessions.reapIfIdle(idle, Date.now())).toBe(false);
    expect(await bay.core.sessions.reapIfIdle(idle, pastDeadline)).toBe(true);
    expect(bay.driver.containersOf(sandbox.id)).toEqual([]);
    expect((await bay.store.findSession(session.id))?.endReason).toBe("idle");
    expect((await bay.core.sandboxes.get(OWNER, sandbox.id)).status).toBe("idle");
    // The cargo outlives its idle compute.
    expect(bay.driver.volumes.map((volume) => volume.labels[LABEL.cargoId])).toContain(sandbox.cargo_id);
  });
});

describe("start slots", () => {
  test("past ship.max_concurrent_starts, starts wait their turn (shown as status_detail) and all finish", async () => {
    const bay = await startBay({ config: { ship: { max_concurrent_starts: 2 } } });
    const sandboxes = await Promise.all(Array.from({ length: 3 }, () => bay.core.sandboxes.create(OWNER, {})));
    const gate = Promise.withResolvers<void>();
    let inDriver = 0;
    bay.driver.beforeStart = async () => {
      inDriver++;
      await gate.promise;
    };
    const calls = sandboxes.map((sandbox) => touchCompute(bay, sandbox.id));
    await eventually(() => inDriver === 2, "two starts to reach the driver");
    await Bun.sleep(50);
    expect(inDriver).toBe(2);
    const details = await Promise.all(sandboxes.map(async (sandbox) => (await bay.core.sandboxes.get(OWNER, sandbox.id)).status_detail));
    expect(details.filter((detail) => detail?.includes("waiting for a start slot"))).toHaveLength(1);
    gate.resolve();
    await Promise.all(calls);
    expect(inDriver).toBe(3);
    expect(bay.driver.containers).toHaveLength(3);
  });

  test("a failed start gives its slot to the next one", async () => {
    const bay = await startBay({ config: { ship: { max_concurrent_starts: 1 } } });
    const [first, second] = await Promise.all([bay.core.sandboxes.create(OWNER, {}), bay.core.sandboxes.create(OWNER, {})]);
    bay.driver.failNext("startSessionContainer", new Error("engine said no"));
    const results = await Promise.allSettled([touchCompute(bay, first!.id), touchCompute(bay, second!.id)]);
    expect(results.map((result) => result.status).sort()).toEqual(["fulfilled", "rejected"]);
    expect(bay.driver.containers).toHaveLength(1);
  });
});

describe("activity writes", () => {
  const deadlineOf = async (bay: UnitBay, sandboxId: string) => (await bay.store.activeSession(sandboxId))!.idleExpiresAt!;
  const cargoAccessOf = async (bay: UnitBay, sandboxId: string) =>
    (await bay.core.cargos.get(OWNER, (await bay.core.sandboxes.get(OWNER, sandboxId)).cargo_id)).last_accessed_at;

  test("calls close together write the idle deadline and the cargo's access once; a call past the slack writes again", async () => {
    const bay = await startBay();
    const sandbox = await bay.core.sandboxes.create(OWNER, {});
    const before = Date.now();
    await touchCompute(bay, sandbox.id);
    const deadline = await deadlineOf(bay, sandbox.id);
    const accessed = await cargoAccessOf(bay, sandbox.id);
    for (let i = 0; i < 5; i++) {
      await Bun.sleep(20);
      await touchCompute(bay, sandbox.id);
    }
    expect(await deadlineOf(bay, sandbox.id)).toBe(deadline);
    expect(await cargoAccessOf(bay, sandbox.id)).toBe(accessed);
    // The stored deadline covers the last call's full idle_timeout, and at most the slack more.
    const idleMs = UNIT_PROFILE.idle_timeout * 1000;
    expect(deadline).toBeGreaterThanOrEqual(before + idleMs);
    expect(deadline).toBeLessThanOrEqual(before + idleMs + 2 * ACTIVITY_SLACK_MS);
    await Bun.sleep(ACTIVITY_SLACK_MS + 50);
    const lastCall = Date.now();
    await touchCompute(bay, sandbox.id);
    expect(await deadlineOf(bay, sandbox.id)).toBeGreaterThanOrEqual(lastCall + idleMs);
    expect(await cargoAccessOf(bay, sandbox.id)).not.toBe(accessed);
  });

  test("a keepalive moves the deadline at once, even right after a call", async () => {
    const bay = await startBay();
    const sandbox = await bay.core.sandboxes.create(OWNER, {});
    await touchCompute(bay, sandbox.id);
    const deadline = await deadlineOf(bay, sandbox.id);
    await Bun.sleep(20);
    await bay.core.sandboxes.keepalive(OWNER, sandbox.id);
    expect(await deadlineOf(bay, sandbox.id)).toBeGreaterThan(deadline);
  });

  test("a new session after a stop has its deadline pushed by the next call", async () => {
    const bay = await startBay();
    const sandbox = await bay.core.sandboxes.create(OWNER, {});
    await touchCompute(bay, sandbox.id);
    await bay.core.sandboxes.stop(OWNER, sandbox.id);
    await touchCompute(bay, sandbox.id);
    await Bun.sleep(50);
    const lastCall = Date.now();
    await touchCompute(bay, sandbox.id);
    expect(await deadlineOf(bay, sandbox.id)).toBeGreaterThanOrEqual(lastCall + UNIT_PROFILE.idle_timeout * 1000);
  });
});
