import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { expectErrorShape, useTestBay } from "../helpers/test-bay.ts";
import { containersWithLabel } from "../helpers/docker.ts";
import { startEngine, stopEngine } from "../helpers/engine-control.ts";

// Stopping and starting dockerd takes a while; nothing here asserts speed.
setDefaultTimeout(180_000);

const bay = useTestBay({ background: true, config: { gc: { interval_seconds: 1 } } });

// Whatever happens, the engine is running again for the tests after this file.
afterAll(() => startEngine());

describe("a container engine that restarts under a running Bay", () => {
  test("calls fail cleanly while it is down, and Bay recovers without a restart of its own", async () => {
    const sandbox = (await bay.request("POST", "/v1/sandboxes", {})).body;
    const shell = (command: string) => bay.request("POST", `/v1/sandboxes/${sandbox.id}/shell/exec`, { command });
    expect((await shell("echo persisted > file.txt")).body.success).toBe(true);

    await stopEngine();
    try {
      const health = (await bay.request("GET", "/health")).body;
      expect(health).toMatchObject({ status: "degraded", driver: { status: "unavailable" } });
      expectErrorShape(await shell("cat file.txt"), 503, "driver_unavailable");
      expectErrorShape(await bay.request("POST", "/v1/sandboxes", {}), 503, "driver_unavailable");
      expect((await bay.request("GET", `/v1/sandboxes/${sandbox.id}`)).status).toBe(200);
    } finally {
      await startEngine();
    }

    expect((await bay.request("GET", "/health")).body.status).toBe("ok");
    const after = await shell("cat file.txt");
    expect(after.status).toBe(200);
    expect(after.body.output).toBe("persisted\n");
    const view = (await bay.request("GET", `/v1/sandboxes/${sandbox.id}`)).body;
    expect(view.status).toBe("ready");
    expect(view.state_reset_at).not.toBeNull();
    expect(containersWithLabel(`bay.sandbox_id=${sandbox.id}`).length).toBe(1);
    expect((await bay.request("DELETE", `/v1/sandboxes/${sandbox.id}`)).status).toBe(204);
  });
});
