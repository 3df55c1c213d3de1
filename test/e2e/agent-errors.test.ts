import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { createBay, createBayApp, loadBayConfig } from "../../src/composition/bay.ts";
import { expectErrorShape, useTestBay } from "../helpers/test-bay.ts";
import { containersWithLabel } from "../helpers/docker.ts";
import { TEST_API_KEY } from "../helpers/env.ts";

// Real containers start here; each test gets room, and no test asserts speed.
setDefaultTimeout(90_000);

const bay = useTestBay();

describe("a runtime that misbehaves", () => {
  test("a paused runtime is noticed before the call's timeout, reported as unresponsive, and replaced", async () => {
    const id = (await bay.request("POST", "/v1/sandboxes", {})).body.id;
    expect((await bay.request("POST", `/v1/sandboxes/${id}/python/exec`, { code: "1" })).status).toBe(200);
    const [container] = containersWithLabel(`bay.sandbox_id=${id}`);
    Bun.spawnSync(["docker", "pause", container!]);
    try {
      // The liveness check (test/security/honest-failures.test.ts) answers before the call's own 11 s.
      const error = expectErrorShape(await bay.request("POST", `/v1/sandboxes/${id}/python/exec`, { code: "2", timeout: 1 }), 502, "ship_error");
      expect(error.details.reason).toBe("runtime_unresponsive");
    } finally {
      Bun.spawnSync(["docker", "unpause", container!]);
    }
    expect((await bay.request("POST", `/v1/sandboxes/${id}/python/exec`, { code: "3" })).body.output).toBe("3\n");
  });
});

describe("a container engine that goes away", () => {
  test("calls on existing sandboxes fail with 503 driver_unavailable, reads still work, and nothing is half-written", async () => {
    const id = (await bay.request("POST", "/v1/sandboxes", {})).body.id;
    const listed = async () => (await bay.request("GET", "/v1/sandboxes")).body.items.map((s: any) => s.id);
    const before = await listed();
    // A second Bay on the same data dir, pointed at a socket where nothing listens.
    const offlineCore = await createBay(
      loadBayConfig({
        env: {},
        flags: { ...bay.config, driver: { docker: { socket: "/tmp/bay-test-no-engine.sock" } } },
      }),
    );
    const offline = await createBayApp(offlineCore);
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await offline.handle(
        new Request(`http://localhost${path}`, {
          method,
          headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        }),
      );
      return { status: response.status, headers: response.headers, body: (await response.json().catch(() => null)) as any };
    };
    try {
      const exec = expectErrorShape(await call("POST", `/v1/sandboxes/${id}/python/exec`, { code: "1" }), 503, "driver_unavailable");
      expect(exec.message).toContain("/tmp/bay-test-no-engine.sock");
      expectErrorShape(await call("POST", "/v1/sandboxes", {}), 503, "driver_unavailable");
      expectErrorShape(await call("POST", "/v1/cargos", {}), 503, "driver_unavailable");
      const get = await call("GET", `/v1/sandboxes/${id}`);
      expect(get.status).toBe(200);
      expect((await call("GET", "/v1/sandboxes")).body.items.map((s: any) => s.id)).toEqual(before);
    } finally {
      await offlineCore.close();
    }
    // Back on the real engine, the same sandbox works, with one container.
    expect((await bay.request("POST", `/v1/sandboxes/${id}/python/exec`, { code: "40 + 2" })).body.output).toBe("42\n");
    expect(containersWithLabel(`bay.sandbox_id=${id}`).length).toBe(1);
    expect(await listed()).toEqual(before);
  });
});
