import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { sessions } from "../../src/db/schema.ts";
import { expectErrorShape, useTestBay } from "../helpers/test-bay.ts";
import { containersWithLabel } from "../helpers/docker.ts";

// Real containers start here; each test gets room, and no test asserts speed.
setDefaultTimeout(90_000);

const bay = useTestBay();

const newSandbox = async () => (await bay.request("POST", "/v1/sandboxes", {})).body.id as string;

/** Resolves once the sandbox has a session that is starting, so a race can be aimed at it. */
async function untilStarting(sandboxId: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const starting = bay.core.db
      .select()
      .from(sessions)
      .where(and(eq(sessions.sandboxId, sandboxId), eq(sessions.status, "starting")))
      .get();
    if (starting) return;
    await Bun.sleep(2);
  }
  throw new Error("the session never reached starting");
}

function runningSessions(sandboxId: string) {
  return bay.core.db
    .select()
    .from(sessions)
    .where(and(eq(sessions.sandboxId, sandboxId), eq(sessions.status, "running")))
    .all();
}

describe("single-flight starts", () => {
  test("20 parallel first calls of every kind start exactly one container, and all succeed", async () => {
    const id = await newSandbox();
    const base = `/v1/sandboxes/${id}`;
    const calls = Array.from({ length: 20 }, (_, i) => {
      switch (i % 4) {
        case 0:
          return bay.request("POST", `${base}/python/exec`, { code: `${i} + 1` });
        case 1:
          return bay.request("POST", `${base}/shell/exec`, { command: `echo ${i}` });
        case 2:
          return bay.request("PUT", `${base}/filesystem/files`, { path: `f${i}.txt`, content: String(i) });
        default:
          return bay.request("GET", `${base}/filesystem/directories`);
      }
    });
    const answers = await Promise.all(calls);
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(answers[0]!.body.output).toBe("1\n");
    expect(answers[1]!.body.output).toBe("1\n");
    expect(containersWithLabel(`bay.sandbox_id=${id}`).length).toBe(1);
    expect(runningSessions(id).length).toBe(1);
  });

  test("a DELETE racing a start leaves no container behind", async () => {
    const id = await newSandbox();
    const exec = bay.request("POST", `/v1/sandboxes/${id}/python/exec`, { code: "1" });
    await untilStarting(id);
    const deleted = await bay.request("DELETE", `/v1/sandboxes/${id}`);
    expect(deleted.status).toBe(204);
    await exec;
    expect(containersWithLabel(`bay.sandbox_id=${id}`)).toEqual([]);
    expect((await bay.request("GET", `/v1/sandboxes/${id}`)).status).toBe(404);
  });

  test("a stop racing a start leaves the engine and the database agreeing: stopped, no container", async () => {
    const id = await newSandbox();
    const exec = bay.request("POST", `/v1/sandboxes/${id}/python/exec`, { code: "1" });
    await untilStarting(id);
    expect((await bay.request("POST", `/v1/sandboxes/${id}/stop`)).status).toBe(200);
    // The stop waited for the start, then removed what it started.
    expect(containersWithLabel(`bay.sandbox_id=${id}`)).toEqual([]);
    expect(runningSessions(id)).toEqual([]);
    expect((await bay.request("GET", `/v1/sandboxes/${id}`)).body.status).toBe("idle");
    await exec;
    // The sandbox is usable again afterwards.
    expect((await bay.request("POST", `/v1/sandboxes/${id}/python/exec`, { code: "2" })).body.output).toBe("2\n");
    expect(containersWithLabel(`bay.sandbox_id=${id}`).length).toBe(1);
  });
});

describe("callers that do not wait for a start", () => {
  test("Prefer: wait=0 on a cold sandbox is 503 session_not_ready with Retry-After, and the start goes on", async () => {
    const id = await newSandbox();
    const response = await bay.request("POST", `/v1/sandboxes/${id}/shell/exec`, { command: "true" }, { prefer: "wait=0" });
    const error = expectErrorShape(response, 503, "session_not_ready");
    expect(error.details).toEqual({ sandbox_id: id, retry_after_ms: 1000 });
    expect(response.headers.get("retry-after")).toBe("1");
    // The start continues in the background; a later call uses it instead of starting another.
    const later = await bay.request("POST", `/v1/sandboxes/${id}/shell/exec`, { command: "echo ok" });
    expect(later.body.output).toBe("ok\n");
    expect(containersWithLabel(`bay.sandbox_id=${id}`).length).toBe(1);
    // Once running, Prefer: wait=0 is served at once.
    const warm = await bay.request("POST", `/v1/sandboxes/${id}/shell/exec`, { command: "echo warm" }, { prefer: "wait=0" });
    expect(warm.body.output).toBe("warm\n");
  });

  test("a malformed Prefer: wait is 422 validation_error", async () => {
    const id = await newSandbox();
    expectErrorShape(await bay.request("POST", `/v1/sandboxes/${id}/shell/exec`, { command: "true" }, { prefer: "wait=soon" }), 422, "validation_error");
  });
});
