import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { consola, type ConsolaReporter } from "consola";
import { currentRequestId } from "../../src/core/request-context.ts";
import { containerRunning, containersWithLabel, inspectContainer } from "../helpers/docker.ts";
import { TEST_IMAGE } from "../helpers/env.ts";
import { expectErrorShape, useTestBay, type TestResponse } from "../helpers/test-bay.ts";

// Real containers; a wedged agent is given time generously. Nothing here asserts speed.
setDefaultTimeout(120_000);

const bay = useTestBay({
  background: true,
  config: {
    profiles: [
      { id: "python-default", image: TEST_IMAGE },
      { id: "small-memory", image: TEST_IMAGE, resources: { memory: "256m" } },
    ],
  },
});

/** Every warning and error line logged while the file runs, with the request id logging would attach. */
const logged: { requestId: string | undefined; text: string }[] = [];
const reporter: ConsolaReporter = {
  log: (entry) => void logged.push({ requestId: currentRequestId(), text: entry.args.map(String).join(" ") }),
};
beforeAll(() => void consola.addReporter(reporter));
afterAll(() => void consola.removeReporter(reporter));

async function runningSandbox(body: Record<string, unknown> = {}): Promise<string> {
  const id = (await bay.request("POST", "/v1/sandboxes", body)).body.id;
  expect((await shell(id, "true")).status).toBe(200);
  return id;
}

const shell = (id: string, command: string, headers: Record<string, string> = {}) =>
  bay.request("POST", `/v1/sandboxes/${id}/shell/exec`, { command, timeout: 120 }, headers);
const containerOf = (id: string) => containersWithLabel(`bay.sandbox_id=${id}`)[0]!;
const view = async (id: string) => (await bay.request("GET", `/v1/sandboxes/${id}`)).body;

async function eventually<T>(read: () => T | Promise<T>, done: (value: T) => boolean, seconds = 30): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await Bun.sleep(200);
    value = await read();
  }
  return value;
}

/** Starts a long call and resolves once its command is running inside the container. */
async function longCallUnderWay(id: string, headers: Record<string, string> = {}): Promise<{ answer: Promise<TestResponse> }> {
  const marker = `started-${crypto.randomUUID()}`;
  const call = shell(id, `touch ${marker}; sleep 60`, headers);
  const container = containerOf(id);
  const started = () => Bun.spawnSync(["docker", "exec", container, "test", "-f", `/workspace/${marker}`]).exitCode === 0;
  expect(await eventually(started, Boolean)).toBe(true);
  // Wrapped: an async function returning the promise itself would wait for it.
  return { answer: call };
}

/** The message a client reads says what happened, not which internal route of the agent failed. */
function expectNoInternalRoute(message: string): void {
  expect(message).not.toMatch(/\/(ipython|python|shell|fs|exec|meta|health)\b/);
  expect(message).not.toContain("dropped the connection");
}

describe("a call whose sandbox is stopped or killed under it says what happened", () => {
  test("stopped by a stop request: 409 conflict, reason stopped", async () => {
    const id = await runningSandbox();
    const call = (await longCallUnderWay(id)).answer;
    expect((await bay.request("POST", `/v1/sandboxes/${id}/stop`)).status).toBe(200);
    const error = expectErrorShape(await call, 409, "conflict");
    expect(error.details).toMatchObject({ sandbox_id: id, reason: "stopped" });
    expect(error.message).toContain("stop request");
    expectNoInternalRoute(error.message);
  });

  test("deleted: 409 conflict, reason deleted", async () => {
    const id = await runningSandbox();
    const call = (await longCallUnderWay(id)).answer;
    expect((await bay.request("DELETE", `/v1/sandboxes/${id}`)).status).toBe(204);
    const error = expectErrorShape(await call, 409, "conflict");
    expect(error.details).toMatchObject({ sandbox_id: id, reason: "deleted" });
    expectNoInternalRoute(error.message);
  });

  test("container killed: 502 ship_error with reason container_died and the reset reason, logged with its request id", async () => {
    const id = await runningSandbox();
    const requestId = `honest-kill-${crypto.randomUUID()}`;
    const call = (await longCallUnderWay(id, { "x-request-id": requestId })).answer;
    Bun.spawnSync(["docker", "kill", containerOf(id)]);
    const error = expectErrorShape(await call, 502, "ship_error");
    const resetReason = error.details.state_reset_reason;
    expect(error.request_id).toBe(requestId);
    expect(error.details).toEqual({ sandbox_id: id, reason: "container_died", state_reset_reason: resetReason });
    expect(resetReason).toContain("killed");
    expect(error.message).toContain("died");
    expectNoInternalRoute(error.message);
    // The 5xx left a line a client's report can be matched with.
    expect(logged.some((line) => line.requestId === requestId || line.text.includes(requestId))).toBe(true);
    expect((await view(id)).state_reset_reason).toBe(resetReason);
  });
});

describe("reset reasons", () => {
  test("a docker kill after a child was OOM-killed is reported as the kill, not as out of memory", async () => {
    const id = await runningSandbox({ profile: "small-memory" });
    const container = containerOf(id);
    // The child outgrows the container's memory and the OOM killer takes it; the agent survives.
    const child = await shell(id, `python3 -c "bytearray(600 * 1024 * 1024)"; echo status=$?`);
    expect(child.body.output).toContain("status=137");
    expect((await shell(id, "echo alive")).body.output).toBe("alive\n");

    Bun.spawnSync(["docker", "kill", container]);
    const reason = (await eventually(() => view(id), (v) => v.state_reset_reason !== null)).state_reset_reason;
    expect(reason).toContain("killed");
    expect(reason).not.toContain("out of memory");
  });
});

describe("an agent that dies", () => {
  test("the very next call starts a fresh session instead of answering 502", async () => {
    const id = await runningSandbox();
    expect((await shell(id, "echo kept > kept.txt")).status).toBe(200);
    const container = containerOf(id);
    // The container's init (Init: true) has one child: the agent. Killed from the host, as the OOM killer would.
    const initPid = inspectContainer(container).State.Pid;
    const agentPid = Number(readFileSync(`/proc/${initPid}/task/${initPid}/children`, "utf8").trim().split(/\s+/)[0]);
    process.kill(agentPid, "SIGKILL");
    // The agent's death ends the container (Init: true); the next call comes once that happened.
    // Bay may already have removed it by the time we look, which counts as ended too.
    expect(await eventually(() => containerRunning(container), (running) => !running)).toBe(false);

    const next = await shell(id, "cat kept.txt");
    expect(next.status).toBe(200);
    expect(next.body.output).toBe("kept\n");
    expect(containerOf(id)).not.toBe(container);
    expect((await view(id)).state_reset_reason).toContain("137");
  });
});

describe("a wedged runtime", () => {
  test("a paused container is noticed under a call, shown in the sandbox and replaced by the next call", async () => {
    const id = await runningSandbox();
    expect((await shell(id, "echo kept > kept.txt")).status).toBe(200);
    const container = containerOf(id);
    Bun.spawnSync(["docker", "pause", container]);
    try {
      // The read's own timeout is a minute; the liveness check answers well before this test's timeout.
      const read = await bay.request("GET", `/v1/sandboxes/${id}/filesystem/files?path=kept.txt`);
      const error = expectErrorShape(read, 502, "ship_error");
      expect(error.details).toMatchObject({ reason: "runtime_unresponsive", state_reset_reason: expect.stringContaining("paused") });
      expectNoInternalRoute(error.message);
      expect((await view(id)).state_reset_reason).toContain("paused");
    } finally {
      Bun.spawnSync(["docker", "unpause", container], { stderr: "ignore" });
    }
    const next = await bay.request("GET", `/v1/sandboxes/${id}/filesystem/files?path=kept.txt`);
    expect(next.body).toEqual({ content: "kept\n" });
    expect(containerOf(id)).not.toBe(container);
  }, 40_000);

  test("an idle paused container is found by the collector and replaced at the next call without waiting", async () => {
    const id = await runningSandbox();
    const container = containerOf(id);
    Bun.spawnSync(["docker", "pause", container]);
    try {
      const run = await bay.request("POST", "/v1/admin/gc/run");
      expect(run.status).toBe(200);
      expect(await view(id)).toMatchObject({ status: "idle", state_reset_reason: expect.stringContaining("paused") });
    } finally {
      Bun.spawnSync(["docker", "unpause", container], { stderr: "ignore" });
    }
    expect((await shell(id, "echo fresh")).body.output).toBe("fresh\n");
    expect(containerOf(id)).not.toBe(container);
  });
});
