import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { BAY_BINARY, TEST_IMAGE } from "../helpers/env.ts";
import { containersWithLabel, removeInstanceObjects, volumesWithLabel } from "../helpers/docker.ts";
import { startServeProcess, type ServeProcess } from "../helpers/serve-process.ts";

// Real containers start here; each test gets room, and no test asserts speed.
setDefaultTimeout(60_000);

const dataDirs: string[] = [];
const instances: string[] = [];
const servers: ServeProcess[] = [];

function freshEnvironment(extra: Record<string, string> = {}): Record<string, string> {
  const dataDir = mkdtempSync(join(tmpdir(), "bay-smoke-"));
  const instanceId = `test-${randomBytes(4).toString("hex")}`;
  dataDirs.push(dataDir);
  instances.push(instanceId);
  return { BAY_DATA_DIR: dataDir, BAY_INSTANCE_ID: instanceId, BAY_DEFAULT_IMAGE: TEST_IMAGE, ...extra };
}

afterAll(async () => {
  for (const server of servers) await server.stop("SIGKILL");
  for (const instance of instances) await removeInstanceObjects(instance);
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

describe("the compiled binary", () => {
  test("bay --version prints the version", () => {
    const result = Bun.spawnSync([BAY_BINARY, "--version"]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.toString()).toMatch(/^\d+\.\d+\.\d+ \(/);
  });

  test("bay --help names the front doors and the SDK package beside the commands", () => {
    const result = Bun.spawnSync([BAY_BINARY, "--help"], { env: { PATH: process.env.PATH ?? "", NO_COLOR: "1" } });
    expect(result.exitCode).toBe(0);
    const help = result.stdout.toString();
    for (const mention of ["/ui", "/mcp", "bay-sdk", "attach", "Run the Bay daemon: the HTTP API, the dashboard at /ui"]) expect(help).toContain(mention);
  });

  test("bay serve on a fresh data dir: create, exec, delete, and nothing left behind", async () => {
    const env = freshEnvironment({ BAY_API_KEY: "smoke-key-0123456789abcdef" });
    const server = await startServeProcess(env);
    servers.push(server);
    const headers = { authorization: "Bearer smoke-key-0123456789abcdef", "content-type": "application/json" };

    const health = await (await fetch(`${server.url}/health`)).json();
    expect(health).toMatchObject({ status: "ok", driver: { status: "ok" } });

    const created = await fetch(`${server.url}/v1/sandboxes`, { method: "POST", headers, body: "{}" });
    expect(created.status).toBe(201);
    const sandbox = (await created.json()) as { id: string };

    const exec = await fetch(`${server.url}/v1/sandboxes/${sandbox.id}/python/exec`, {
      method: "POST",
      headers,
      body: JSON.stringify({ code: "import sys\nsys.version_info[0] * 14" }),
    });
    expect(exec.status).toBe(200);
    expect(await exec.json()).toMatchObject({ success: true, output: "42\n" });

    const deleted = await fetch(`${server.url}/v1/sandboxes/${sandbox.id}`, { method: "DELETE", headers });
    expect(deleted.status).toBe(204);
    expect(containersWithLabel(`bay.instance_id=${env.BAY_INSTANCE_ID}`)).toEqual([]);
    expect(volumesWithLabel(`bay.instance_id=${env.BAY_INSTANCE_ID}`)).toEqual([]);

    expect(await server.stop("SIGTERM")).toBe(0);
  });

  test("with no key configured, bay serve generates one (0600), prints it once, and requires it", async () => {
    const env = freshEnvironment();
    const first = await startServeProcess(env);
    servers.push(first);
    const keyFile = join(env.BAY_DATA_DIR!, "api_key");
    const key = readFileSync(keyFile, "utf8").trim();
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(first.output()).toContain(key);
    expect((await fetch(`${first.url}/v1/sandboxes`)).status).toBe(401);
    const listed = await fetch(`${first.url}/v1/sandboxes`, { headers: { authorization: `Bearer ${key}` } });
    expect(listed.status).toBe(200);
    await first.stop();

    const second = await startServeProcess(env);
    servers.push(second);
    expect(second.output()).not.toContain(key);
    expect((await fetch(`${second.url}/v1/sandboxes`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    await second.stop();
  });

  test("a stray .env or bunfig.toml in the caller's directory changes nothing", async () => {
    const strayDir = mkdtempSync(join(tmpdir(), "bay-stray-"));
    dataDirs.push(strayDir);
    await Bun.write(join(strayDir, ".env"), "BAY_SERVER__PORT=not-a-port\nBAY_LOG__LEVEL=nonsense\n");
    await Bun.write(join(strayDir, "bunfig.toml"), 'preload = ["./does-not-exist.ts"]\n');
    const version = Bun.spawnSync([BAY_BINARY, "--version"], { cwd: strayDir, env: { PATH: process.env.PATH ?? "" } });
    expect(version.exitCode).toBe(0);
    const env = freshEnvironment({ BAY_API_KEY: "stray-key-0123456789abcdef" });
    const server = await startServeProcess(env, [], strayDir);
    servers.push(server);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect(await server.stop("SIGTERM")).toBe(0);
  });

  test("a port already in use stops start-up with exit 2 and one clear line, not a stack", () => {
    const taken = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const result = Bun.spawnSync([BAY_BINARY, "serve", "--port", String(taken.port)], {
        env: { ...freshEnvironment({ BAY_API_KEY: "port-key-0123456789abcdef" }), PATH: process.env.PATH ?? "" },
        stderr: "pipe",
      });
      expect(result.exitCode).toBe(2);
      const stderr = result.stderr.toString();
      expect(stderr).toContain(`"server.port": cannot listen on 127.0.0.1:${taken.port}: the address is in use`);
      expect(stderr).not.toContain("listenFrontDoor");
    } finally {
      taken.stop(true);
    }
  });

  test("a bad configuration value stops start-up with exit 2 and a message naming the key", () => {
    const result = Bun.spawnSync([BAY_BINARY, "serve"], {
      env: { ...freshEnvironment(), PATH: process.env.PATH ?? "", BAY_SERVER__PORT: "not-a-port" },
      stderr: "pipe",
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr.toString()).toContain('"server.port"');
  });
});
