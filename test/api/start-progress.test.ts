import { describe, expect, setDefaultTimeout, spyOn, test } from "bun:test";
import { Bay } from "../../src/client/index.ts";
import type { SessionContainerSpec } from "../../src/core/driver.ts";
import { watchStart } from "../../src/cli/run-code.ts";
import { TEST_API_KEY } from "../helpers/env.ts";
import { useMemoryBay } from "../helpers/memory-bay.ts";

// On the in-memory driver; only the slow step (an image pull) is played, and held open, by the test.
setDefaultTimeout(60_000);

const bay = useMemoryBay();

describe("status_detail while a start is slow", () => {
  test("the sandbox view says what the start is busy with, and a daemon client shows it on stderr", async () => {
    // The driver reports a pull and then waits until the test lets it go on.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const driver = bay.core.driver;
    const original = driver.startSessionContainer.bind(driver);
    const startSpy = spyOn(driver, "startSessionContainer").mockImplementation(async (spec: SessionContainerSpec) => {
      spec.onProgress?.("pulling image example:1 (not on the engine yet; this can take a while)…");
      await held;
      return original(spec);
    });
    process.env.BAY_PROGRESS = "1";
    const written: string[] = [];
    const stderrSpy = spyOn(process.stderr, "write").mockImplementation((chunk: any) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const sandbox = (await bay.request("POST", "/v1/sandboxes", {})).body;
      const client = new Bay({ apiKey: TEST_API_KEY, fetch: (request) => bay.app.handle(request) });
      const stop = watchStart({ bay: client, mode: "daemon", close: async () => undefined }, sandbox.id);
      const exec = bay.request("POST", `/v1/sandboxes/${sandbox.id}/shell/exec`, { command: "echo started" });

      let view: any;
      for (let i = 0; i < 100; i++) {
        view = (await bay.request("GET", `/v1/sandboxes/${sandbox.id}`)).body;
        if (view.status_detail) break;
        await Bun.sleep(20);
      }
      expect(view).toMatchObject({ status: "starting", status_detail: expect.stringContaining("pulling image example:1") });
      for (let i = 0; i < 100 && !written.join("").includes("pulling image example:1"); i++) await Bun.sleep(20);
      expect(written.join("")).toContain("bay: pulling image example:1");

      release();
      expect((await exec).body).toMatchObject({ success: true, execution_id: expect.any(String) });
      stop();
      expect((await bay.request("GET", `/v1/sandboxes/${sandbox.id}`)).body).toMatchObject({ status: "ready", status_detail: null });
    } finally {
      stderrSpy.mockRestore();
      startSpy.mockRestore();
      delete process.env.BAY_PROGRESS;
    }
  });
});
