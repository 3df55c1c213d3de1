import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { sessions } from "../../src/db/schema.ts";
import { startTestBay, type TestBay } from "../helpers/test-bay.ts";
import { inspectContainer } from "../helpers/docker.ts";
import { AGENT_CAPABILITIES } from "../../src/shared/agent-protocol.ts";

// Real containers start here; each test gets room, and no test asserts speed.
setDefaultTimeout(60_000);

let bay: TestBay;
let endpoint: string;
let token: string;
let containerId: string;

beforeAll(async () => {
  bay = await startTestBay();
  const sandbox = (await bay.request("POST", "/v1/sandboxes", {})).body;
  await bay.request("POST", `/v1/sandboxes/${sandbox.id}/python/exec`, { code: "1" });
  const session = bay.core.db.select().from(sessions).all().find((s) => s.status === "running")!;
  endpoint = session.endpoint!;
  token = session.token;
  containerId = session.containerId!;
});

afterAll(async () => {
  await bay.close();
});

describe("the in-sandbox agent", () => {
  test("/health answers without a token", async () => {
    const response = await fetch(`${endpoint}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  test("every other call needs the session's token", async () => {
    for (const [method, path] of [["GET", "/meta"], ["POST", "/ipython/exec"], ["GET", "/nope"]] as const) {
      const missing = await fetch(`${endpoint}${path}`, { method, body: method === "POST" ? "{}" : undefined });
      expect(missing.status).toBe(401);
      const wrong = await fetch(`${endpoint}${path}`, { method, headers: { authorization: "Bearer guessed" } });
      expect(wrong.status).toBe(401);
      expect(((await wrong.json()) as any).error.code).toBe("unauthorized");
    }
  });

  test("/meta reports the agent, the workspace and the detected capabilities", async () => {
    const meta = (await (await fetch(`${endpoint}/meta`, { headers: { authorization: `Bearer ${token}` } })).json()) as any;
    expect(meta.runtime).toMatchObject({ name: "bay-ship", api_version: "1" });
    expect(meta.workspace).toEqual({ mount_path: "/workspace" });
    expect(meta.capabilities.python.version).toMatch(/^3\.\d+\.\d+$/);
    expect(meta.capabilities.python.executor).toBe("python");
  });

  test("the agent re-validates bodies itself", async () => {
    const response = await fetch(`${endpoint}/ipython/exec`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ code: 7 }),
    });
    expect(response.status).toBe(422);
    expect(((await response.json()) as any).error.code).toBe("validation_error");
  });

  test("the token is visible to user code neither in its environment nor in any process's /proc environ", async () => {
    const sandbox = (await bay.request("GET", "/v1/sandboxes")).body.items[0];
    const own = await bay.request("POST", `/v1/sandboxes/${sandbox.id}/python/exec`, {
      code: "import os\nsorted(k for k in os.environ if k.startswith('BAY'))",
    });
    expect(own.body.output).toBe("[]\n");
    const scan = await bay.request("POST", `/v1/sandboxes/${sandbox.id}/python/exec`, {
      code: [
        "import glob",
        "readable = []",
        "for path in glob.glob('/proc/[0-9]*/environ'):",
        "    try:",
        `        if ${JSON.stringify(token)}.encode() in open(path, 'rb').read(): readable.append(path)`,
        "    except OSError:",
        "        pass",
        "readable",
      ].join("\n"),
    });
    expect(scan.body).toMatchObject({ success: true, output: "[]\n" });
  });

  test("the container runs with dropped capabilities, no-new-privileges and resource limits", () => {
    const info = inspectContainer(containerId);
    expect(info.HostConfig.CapDrop).toEqual(["ALL"]);
    expect(info.HostConfig.CapAdd.sort()).toEqual([...AGENT_CAPABILITIES].sort());
    expect(info.HostConfig.SecurityOpt).toContain("no-new-privileges");
    expect(info.HostConfig.Memory).toBe(1024 ** 3);
    expect(info.HostConfig.NanoCpus).toBe(1e9);
    expect(info.HostConfig.PidsLimit).toBe(512);
    expect(info.HostConfig.Privileged).toBe(false);
    const binds: string[] = info.HostConfig.Binds ?? [];
    // The agent, the account files that name the sandbox user and the session's directory (its token): nothing else of the host, and all read-only.
    expect(binds.map((b) => b.split(":").slice(1).join(":")).sort()).toEqual(["/etc/group:ro", "/etc/passwd:ro", "/opt/bay/bay:ro", "/run/bay:ro"]);
    expect(binds.some((b) => b.includes("docker.sock"))).toBe(false);
  });
});
