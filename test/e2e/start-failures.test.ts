import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { expectErrorShape, startTestBay, type TestBay } from "../helpers/test-bay.ts";
import { containersWithLabel, ensureImageWithoutPython, volumesWithLabel } from "../helpers/docker.ts";
import { TEST_IMAGE } from "../helpers/env.ts";
import { sessions } from "../../src/db/schema.ts";

// Real containers start here; each test gets room, and no test asserts speed.
setDefaultTimeout(60_000);

let bay: TestBay;

beforeAll(async () => {
  const noPython = ensureImageWithoutPython(TEST_IMAGE, "bay-test-nopython:local");
  bay = await startTestBay({
    config: {
      profiles: [
        { id: "needs-python", image: noPython, capabilities: ["python"] },
        { id: "files-only", image: TEST_IMAGE, capabilities: ["filesystem"] },
        { id: "shell-without-python", image: noPython, capabilities: ["filesystem", "shell"] },
        { id: "missing-image", image: "bay-test-does-not-exist:never" },
      ],
      driver: { docker: { pull_policy: "never" } },
    },
  });
});

afterAll(async () => {
  await bay.close();
});

const create = async (profile: string) => (await bay.request("POST", "/v1/sandboxes", { profile })).body;
const exec = (id: string) => bay.request("POST", `/v1/sandboxes/${id}/python/exec`, { code: "print(1)" });

describe("a start that cannot succeed fails cleanly", () => {
  test("a profile requiring python on an image without python3 fails the handshake: 502, container removed, status failed", async () => {
    const sandbox = await create("needs-python");
    const error = expectErrorShape(await exec(sandbox.id), 502, "ship_error");
    expect(error.message).toContain("handshake");
    expect(error.details.missing_capabilities).toEqual(["python"]);
    expect(containersWithLabel(`bay.sandbox_id=${sandbox.id}`)).toEqual([]);
    expect((await bay.request("GET", `/v1/sandboxes/${sandbox.id}`)).body.status).toBe("failed");

    // The next call retries from scratch (and fails the same way, leaving nothing behind).
    expectErrorShape(await exec(sandbox.id), 502, "ship_error");
    expect(containersWithLabel(`bay.sandbox_id=${sandbox.id}`)).toEqual([]);

    // stop clears the failure; delete removes the volume.
    await bay.request("POST", `/v1/sandboxes/${sandbox.id}/stop`);
    expect((await bay.request("GET", `/v1/sandboxes/${sandbox.id}`)).body.status).toBe("idle");
    expect((await bay.request("DELETE", `/v1/sandboxes/${sandbox.id}`)).status).toBe(204);
  });

  test("a capability the profile lacks is 400 capability_not_supported and starts nothing", async () => {
    const sandbox = await create("files-only");
    const error = expectErrorShape(await exec(sandbox.id), 400, "capability_not_supported");
    expect(error.details).toEqual({ capability: "python", available: ["filesystem"] });
    expect(containersWithLabel(`bay.sandbox_id=${sandbox.id}`)).toEqual([]);
    expect((await bay.request("GET", `/v1/sandboxes/${sandbox.id}`)).body.status).toBe("idle");
  });

  test("the agent declares only what the image can serve: no python3, no python in /meta", async () => {
    const sandbox = await create("shell-without-python");
    const shell = await bay.request("POST", `/v1/sandboxes/${sandbox.id}/shell/exec`, { command: "command -v python3 || echo none" });
    expect(shell.body).toMatchObject({ success: true, output: "none\n" });
    const session = bay.core.db.select().from(sessions).all().find((s) => s.sandboxId === sandbox.id && s.status === "running")!;
    const meta = (await (await fetch(`${session.endpoint}/meta`, { headers: { authorization: `Bearer ${session.token}` } })).json()) as any;
    expect(Object.keys(meta.capabilities).sort()).toEqual(["filesystem", "shell"]);
    const error = expectErrorShape(await exec(sandbox.id), 400, "capability_not_supported");
    expect(error.details).toEqual({ capability: "python", available: ["filesystem", "shell"] });
  });

  test("an image that is absent with pull_policy never is a clear 502 naming the image", async () => {
    const sandbox = await create("missing-image");
    const error = expectErrorShape(await exec(sandbox.id), 502, "ship_error");
    expect(error.message).toContain("bay-test-does-not-exist:never");
    expect(error.details.image).toBe("bay-test-does-not-exist:never");
    expect(containersWithLabel(`bay.sandbox_id=${sandbox.id}`)).toEqual([]);
    expect((await bay.request("GET", `/v1/sandboxes/${sandbox.id}`)).body.status).toBe("failed");
  });

  test("after deleting everything, no container or volume of this instance remains", async () => {
    const items = (await bay.request("GET", "/v1/sandboxes")).body.items;
    for (const sandbox of items) expect((await bay.request("DELETE", `/v1/sandboxes/${sandbox.id}`)).status).toBe(204);
    expect(containersWithLabel(`bay.instance_id=${bay.instanceId}`)).toEqual([]);
    expect(volumesWithLabel(`bay.instance_id=${bay.instanceId}`)).toEqual([]);
  });
});

describe("an unreachable container engine", () => {
  let offline: TestBay;

  beforeAll(async () => {
    offline = await startTestBay({ config: { driver: { docker: { socket: "/tmp/bay-test-no-engine.sock" } } } });
  });

  afterAll(async () => {
    await offline.close();
  });

  test("/health reports the driver down, and create is 503 driver_unavailable naming the endpoint; nothing is written", async () => {
    const health = await offline.request("GET", "/health");
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: "degraded", driver: { status: "unavailable" } });

    const error = expectErrorShape(await offline.request("POST", "/v1/sandboxes", {}), 503, "driver_unavailable");
    expect(error.message).toContain("/tmp/bay-test-no-engine.sock");
    expect((await offline.request("GET", "/v1/sandboxes")).body.items).toEqual([]);
  });
});
