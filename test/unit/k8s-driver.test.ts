import { describe, expect, test } from "bun:test";
import k8s from "../../drivers/k8s/index.ts";
import { loadConfig } from "../../src/core/config/index.ts";
import { BayError } from "../../src/core/errors.ts";
import type { Driver } from "../../src/core/driver.ts";

describe("the k8s driver stub", () => {
  test("every call fails with a clear driver_unavailable 'not implemented' error", async () => {
    const driver = k8s.create({ config: loadConfig({ env: { BAY_DRIVER__TYPE: "k8s" } }) });
    const calls: [keyof Driver, () => Promise<unknown>][] = [
      ["ping", () => driver.ping()],
      ["createVolume", () => driver.createVolume("v", {})],
      ["removeVolume", () => driver.removeVolume("v")],
      ["startSessionContainer", () => driver.startSessionContainer({} as never)],
      ["removeContainer", () => driver.removeContainer("c")],
      ["inspectContainer", () => driver.inspectContainer("c")],
      ["readLogs", () => driver.readLogs("c", 1)],
      ["listContainers", () => driver.listContainers({})],
      ["listVolumes", () => driver.listVolumes({})],
      ["watchContainerEnds", () => driver.watchContainerEnds({}, () => undefined, () => undefined)],
    ];
    for (const [name, call] of calls) {
      const error = await call().then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(BayError);
      expect((error as BayError).code).toBe("driver_unavailable");
      expect((error as BayError).message).toBe(`the k8s driver is not implemented yet (${name})`);
    }
  });
});
