import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { useSandbox, useTestBay } from "../helpers/test-bay.ts";
import { TEST_API_KEY, TEST_IMAGE } from "../helpers/env.ts";
import { readEvents } from "../helpers/event-stream.ts";
import { removeInstanceObjects } from "../helpers/docker.ts";
import { startServeProcess } from "../helpers/serve-process.ts";

// Real containers start here; each test gets room, and no test asserts speed.
setDefaultTimeout(60_000);

const bay = useTestBay();
const sandbox = useSandbox(bay);

async function stream(capability: "python" | "shell", body: Record<string, unknown>) {
  const startedAt = performance.now();
  const response = await bay.app.handle(
    new Request(`http://localhost/v1/sandboxes/${sandbox.id}/${capability}/exec`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify(body),
    }),
  );
  return { response, events: response.status === 200 ? await readEvents(response, startedAt) : [] };
}

describe("execution output as Server-Sent Events", () => {
  test("python output arrives while the code runs: the first print before the second", async () => {
    const { response, events } = await stream("python", { code: "import time\nprint('first')\ntime.sleep(1.5)\nprint('second')" });
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    expect(response.headers.get("x-request-id")).toBeTruthy();
    const first = events.find((e) => e.event === "stdout" && (e.data as any).text === "first")!;
    const second = events.find((e) => e.event === "stdout" && (e.data as any).text === "second")!;
    expect(first).toBeDefined();
    expect(second).toBeDefined();
    // The first event was delivered well before the code printed the second line.
    expect(second.at - first.at).toBeGreaterThan(1000);
    expect(events.at(-1)!.event).toBe("done");
  });

  test("done carries the same summary as the JSON answer; errors and results have their own events", async () => {
    const { events } = await stream("python", { code: "import sys\nprint('o')\nprint('e', file=sys.stderr)\n6 * 7" });
    expect(events.map((e) => e.event)).toEqual(["stdout", "stdout", "stderr", "stderr", "result", "done"]);
    expect(events[4]!.data).toEqual({ data: { "text/plain": "42" }, kind: "result" });
    const done = events.at(-1)!.data as any;
    const json = (await bay.request("POST", `/v1/sandboxes/${sandbox.id}/python/exec`, { code: "import sys\nprint('o')\nprint('e', file=sys.stderr)\n6 * 7" })).body;
    expect(Object.keys(done).sort()).toEqual(Object.keys(json).sort());
    expect(done).toMatchObject({ success: true, output: "o\ne\n42\n", error: null });
    expect(done.execution_id).toMatch(/^exec-[0-9a-f]{12}$/);
    expect(done.data.execution_count).toBe(json.data.execution_count - 1);

    const failed = await stream("python", { code: "1/0" });
    expect(failed.events.map((e) => e.event)).toEqual(["error", "done"]);
    expect((failed.events[0]!.data as any).text).toContain("ZeroDivisionError");
    expect((failed.events[1]!.data as any).success).toBe(false);
  });

  test("shell output streams too, with exit_code in done; a timeout is an error event", async () => {
    const { events } = await stream("shell", { command: "echo a; sleep 1; echo b >&2; exit 4" });
    expect(events.filter((e) => e.event !== "done").map((e) => [e.event, (e.data as any).text])).toEqual([
      ["stdout", "a\n"],
      ["stderr", "b\n"],
    ]);
    expect(events.at(-1)).toMatchObject({ event: "done", data: { success: false, output: "a\n", error: "b\n", exit_code: 4 } });

    const slow = await stream("shell", { command: "echo x; sleep 100", timeout: 1 });
    expect(slow.events.map((e) => e.event)).toEqual(["stdout", "error", "done"]);
    expect((slow.events.at(-1)!.data as any).exit_code).toBe(-1);
  });

  test("errors before the stream starts are ordinary JSON errors", async () => {
    const response = await bay.app.handle(
      new Request("http://localhost/v1/sandboxes/sandbox-000000000000/python/exec", {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify({ code: "1" }),
      }),
    );
    expect(response.status).toBe(404);
    expect(((await response.json()) as any).error.code).toBe("not_found");
  });
});

describe("long, quiet executions through the real server", () => {
  test("are not cut by idle timeouts, streamed or not", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "bay-stream-"));
    const instanceId = `test-${randomBytes(4).toString("hex")}`;
    const key = "stream-key-0123456789abcdef";
    const server = await startServeProcess({
      BAY_DATA_DIR: dataDir,
      BAY_INSTANCE_ID: instanceId,
      BAY_DEFAULT_IMAGE: TEST_IMAGE,
      BAY_API_KEY: key,
    });
    try {
      const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
      const sandbox = (await (await fetch(`${server.url}/v1/sandboxes`, { method: "POST", headers, body: "{}" })).json()) as any;
      const startedAt = performance.now();
      // Longer than Bun's default 10 s idle timeout, with no output in between.
      const response = await fetch(`${server.url}/v1/sandboxes/${sandbox.id}/shell/exec`, {
        method: "POST",
        headers: { ...headers, accept: "text/event-stream" },
        body: JSON.stringify({ command: "sleep 13; echo finally", timeout: 60 }),
      });
      const events = await readEvents(response, startedAt);
      expect(events.map((e) => e.event)).toEqual(["stdout", "done"]);
      expect((events[1]!.data as any).output).toBe("finally\n");

      // The same for a plain JSON answer that takes as long to begin.
      const quiet = await fetch(`${server.url}/v1/sandboxes/${sandbox.id}/python/exec`, {
        method: "POST",
        headers,
        body: JSON.stringify({ code: "import time\ntime.sleep(13)\n'awake'", timeout: 60 }),
      });
      expect(quiet.status).toBe(200);
      expect(((await quiet.json()) as any).output).toBe("'awake'\n");
    } finally {
      await server.stop("SIGKILL");
      await removeInstanceObjects(instanceId);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
