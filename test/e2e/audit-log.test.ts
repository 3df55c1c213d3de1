import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { TEST_IMAGE } from "../helpers/env.ts";
import { removeInstanceObjects } from "../helpers/docker.ts";
import { startServeProcess, type ServeProcess } from "../helpers/serve-process.ts";

// Real containers start here; each test gets room, and no test asserts speed.
setDefaultTimeout(60_000);

const dataDir = mkdtempSync(join(tmpdir(), "bay-audit-"));
const instanceId = `test-${randomBytes(4).toString("hex")}`;
const key = "audit-key-0123456789abcdef";
const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
let server: ServeProcess | undefined;

afterAll(async () => {
  await server?.stop("SIGKILL");
  await removeInstanceObjects(instanceId);
  rmSync(dataDir, { recursive: true, force: true });
});

interface LogLine {
  time: string;
  level: string;
  message: string;
  request_id?: string;
}

const logLines = (): LogLine[] =>
  server!
    .output()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as LogLine);

describe("request ids and the audit trail", () => {
  test("--log-format json: one JSON object per line; lines about a request carry its id; lifecycle events name owner and ids", async () => {
    server = await startServeProcess(
      { BAY_DATA_DIR: dataDir, BAY_INSTANCE_ID: instanceId, BAY_DEFAULT_IMAGE: TEST_IMAGE, BAY_API_KEY: key },
      ["--log-format", "json"],
    );
    const call = (method: string, path: string, requestId: string, body?: unknown) =>
      fetch(`${server!.url}${path}`, { method, headers: { ...headers, "x-request-id": requestId }, body: body === undefined ? undefined : JSON.stringify(body) });

    const created = (await (await call("POST", "/v1/sandboxes", "rid-create-1", {})).json()) as { id: string };
    const exec = await call("POST", `/v1/sandboxes/${created.id}/shell/exec`, "rid-exec-1", { command: "true" });
    expect(exec.headers.get("x-request-id")).toBe("rid-exec-1");
    await call("POST", `/v1/sandboxes/${created.id}/stop`, "rid-stop-1");
    await call("DELETE", `/v1/sandboxes/${created.id}`, "rid-delete-1");
    await Bun.sleep(200);

    // Every line of output is a JSON object with the fields a collector needs.
    const raw = server.output().split("\n").filter(Boolean);
    expect(raw.length).toBeGreaterThan(3);
    for (const line of raw) expect(() => JSON.parse(line)).not.toThrow();
    const lines = logLines();
    for (const line of lines) {
      expect(Date.parse(line.time)).toBeGreaterThan(0);
      expect(typeof line.level).toBe("string");
    }

    const about = (requestId: string) => lines.filter((line) => line.request_id === requestId).map((line) => line.message);
    expect(about("rid-create-1").join("\n")).toContain(`sandbox ${created.id} created (owner default`);
    expect(about("rid-exec-1").join("\n")).toMatch(new RegExp(`session sess-[0-9a-f]{12} of sandbox ${created.id} \\(owner default\\) started`));
    expect(about("rid-stop-1").join("\n")).toContain(`sandbox ${created.id} stopped (owner default)`);
    expect(about("rid-delete-1").join("\n")).toContain(`sandbox ${created.id} deleted (owner default)`);
    // The API key itself never appears in the log.
    expect(server.output()).not.toContain(key);
  });
});
