import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { consola, type ConsolaReporter } from "consola";
import { DockerDriver } from "../../drivers/docker/docker-driver.ts";
import type { DockerSettings } from "../../drivers/docker/settings.ts";
import { loadBayConfig as loadConfig } from "../../src/composition/bay.ts";
import type { BayError } from "../../src/shared/errors.ts";
import { shutdownGracefully } from "../../src/core/shutdown.ts";
import { containerExists, containersWithLabel, removeInstanceObjects, volumeExists } from "../helpers/docker.ts";
import { startEngineProxy, withEngineFrozen, type EngineProxy } from "../helpers/engine-control.ts";
import { expectErrorShape, startTestBay, type TestBay } from "../helpers/test-bay.ts";

// Real containers and deadlines of a few seconds; nothing here asserts speed.
setDefaultTimeout(120_000);

/** Short, so that the tests do not wait long for each deadline. */
const ENGINE_TIMEOUT_SECONDS = 2;

let proxy: EngineProxy;
beforeAll(async () => {
  proxy = await startEngineProxy();
});
afterAll(() => {
  proxy.thaw();
  proxy.close();
});

function proxiedBay(config: Record<string, unknown> = {}): Promise<TestBay> {
  return startTestBay({
    background: true,
    config: { driver: { docker: { socket: proxy.socket, engine_timeout_seconds: ENGINE_TIMEOUT_SECONDS } }, ...config },
  });
}

async function runningSandbox(bay: TestBay): Promise<string> {
  const id = (await bay.request("POST", "/v1/sandboxes", {})).body.id;
  expect((await bay.request("POST", `/v1/sandboxes/${id}/shell/exec`, { command: "echo kept > kept.txt" })).body.success).toBe(true);
  return id;
}

const containerOf = (sandboxId: string) => containersWithLabel(`bay.sandbox_id=${sandboxId}`)[0]!;

/** Collects warning lines while a test runs. */
function captureWarnings(): { lines: string[]; stop(): void } {
  const lines: string[] = [];
  const reporter: ConsolaReporter = { log: (entry) => void lines.push(entry.args.map(String).join(" ")) };
  consola.addReporter(reporter);
  return { lines, stop: () => consola.removeReporter(reporter) };
}

async function eventually(condition: () => boolean, seconds: number): Promise<boolean> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await Bun.sleep(200);
  }
  return condition();
}

describe("every engine call has a deadline", () => {
  test("against an engine that never answers, each driver call fails with driver_unavailable naming the endpoint", async () => {
    proxy.freeze();
    try {
      const settings = loadConfig({ env: {}, flags: { driver: { docker: { socket: proxy.socket, engine_timeout_seconds: 0.5 } } } }).driver.docker as DockerSettings;
      const driver = new DockerDriver(settings);
      const calls: Record<string, () => Promise<unknown>> = {
        ping: () => driver.ping(),
        createVolume: () => driver.createVolume("bay-engine-hang-never", {}),
        removeVolume: () => driver.removeVolume("bay-engine-hang-never"),
        removeContainer: () => driver.removeContainer("bay-engine-hang-never"),
        inspectContainer: () => driver.inspectContainer("bay-engine-hang-never"),
        listContainers: () => driver.listContainers({ "bay.instance_id": "never" }),
        listVolumes: () => driver.listVolumes({ "bay.instance_id": "never" }),
        volumeSizes: () => driver.volumeSizes(["bay-engine-hang-never"]),
        watchContainerEnds: () => driver.watchContainerEnds({ "bay.instance_id": "never" }, () => undefined, () => undefined),
      };
      const outcomes: Record<string, string> = {};
      await Promise.all(
        Object.entries(calls).map(async ([name, call]) => {
          const error = (await call().then(() => null, (e: BayError) => e)) as BayError | null;
          outcomes[name] = `${error?.code} ${error?.details?.endpoint}`;
        }),
      );
      const expected = `driver_unavailable unix://${proxy.socket}`;
      expect(outcomes).toEqual(Object.fromEntries(Object.keys(calls).map((name) => [name, expected])));
      // Logs are for start-failure messages only: an unanswered read gives none rather than hanging.
      expect(await driver.readLogs("bay-engine-hang-never", 5)).toBe("");
    } finally {
      // The calls have failed; what they sent must not reach the engine later (it would leave a volume behind).
      proxy.thaw({ dropHeld: true });
    }
  });

  test("with the engine frozen: /health is degraded, stop and delete answer 503, the event stream notices; a retry after it comes back completes them", async () => {
    const bay = await proxiedBay();
    const warnings = captureWarnings();
    try {
      const stopped = await runningSandbox(bay);
      const deleted = await runningSandbox(bay);
      const [stoppedContainer, deletedContainer] = [containerOf(stopped), containerOf(deleted)];
      const deletedVolume = `bay-cargo-${(await bay.request("GET", `/v1/sandboxes/${deleted}`)).body.cargo_id}`;
      expect(volumeExists(deletedVolume)).toBe(true);

      proxy.freeze();
      try {
        const health = await bay.request("GET", "/health");
        expect(health.body).toMatchObject({ status: "degraded", driver: { status: "unavailable" } });

        const stop = expectErrorShape(await bay.request("POST", `/v1/sandboxes/${stopped}/stop`), 503, "driver_unavailable");
        expect(stop.message).toContain(`unix://${proxy.socket}`);
        expect(stop.details.endpoint).toBe(`unix://${proxy.socket}`);
        expectErrorShape(await bay.request("DELETE", `/v1/sandboxes/${deleted}`), 503, "driver_unavailable");
        // A silent, open event stream is not mistaken for a quiet engine.
        expect(await eventually(() => warnings.lines.some((line) => line.includes("lost the container engine's events")), 30)).toBe(true);
      } finally {
        // As after an engine restart: the removals it was sent are lost, so only Bay's retry can finish them.
        proxy.thaw({ dropHeld: true });
      }

      expect((await bay.request("GET", "/health")).body.status).toBe("ok");
      expect((await bay.request("POST", `/v1/sandboxes/${stopped}/stop`)).status).toBe(200);
      expect(containerExists(stoppedContainer)).toBe(false);
      expect((await bay.request("DELETE", `/v1/sandboxes/${deleted}`)).status).toBe(204);
      expect(containerExists(deletedContainer)).toBe(false);
      expect(volumeExists(deletedVolume)).toBe(false);

      // The stopped sandbox carries on, on its cargo.
      const after = await bay.request("POST", `/v1/sandboxes/${stopped}/shell/exec`, { command: "cat kept.txt" });
      expect(after.body).toMatchObject({ success: true, output: "kept\n" });
    } finally {
      warnings.stop();
      proxy.thaw();
      await bay.close();
    }
  });

  test("shutdown completes with the engine frozen", async () => {
    const bay = await proxiedBay({ server: { stop_sessions_on_shutdown: true, drain_warm_pools_on_shutdown: true, shutdown_grace_seconds: 1 } });
    const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (request) => bay.app.handle(request) });
    try {
      await runningSandbox(bay);
      proxy.freeze();
      await shutdownGracefully(server, bay.core);
    } finally {
      proxy.thaw();
      await removeInstanceObjects(bay.instanceId);
    }
  });
});

describe("the real engine stopped by SIGSTOP", () => {
  test("/health is degraded and stop fails with driver_unavailable; after SIGCONT the stop completes", async () => {
    const bay = await startTestBay({ background: true, config: { driver: { docker: { engine_timeout_seconds: ENGINE_TIMEOUT_SECONDS } } } });
    try {
      const id = await runningSandbox(bay);
      const container = containerOf(id);
      await withEngineFrozen(async () => {
        expect((await bay.request("GET", "/health")).body).toMatchObject({ status: "degraded", driver: { status: "unavailable" } });
        expectErrorShape(await bay.request("POST", `/v1/sandboxes/${id}/stop`), 503, "driver_unavailable");
      });
      expect((await bay.request("GET", "/health")).body.status).toBe("ok");
      expect((await bay.request("POST", `/v1/sandboxes/${id}/stop`)).status).toBe(200);
      expect(containerExists(container)).toBe(false);
    } finally {
      await bay.close();
    }
  });
});
