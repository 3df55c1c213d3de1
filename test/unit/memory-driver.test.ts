import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Value } from "@sinclair/typebox/value";
import { PythonExecOutcome } from "../../plugins/python/schemas.ts";
import { ShellExecOutcome } from "../../plugins/shell/schemas.ts";
import { BayError } from "../../src/shared/errors.ts";
import { describeDriverContract, sessionContainerSpec } from "../drivers/contract.ts";
import { MemoryDriver, type MemoryDriverOptions } from "../drivers/memory-driver.ts";
import { BAY_BINARY } from "../helpers/env.ts";
import { rejectionOf } from "../helpers/thrown.ts";

describeDriverContract("memory", () => ({
  createDriver: () => new MemoryDriver(),
  createUnreachableDriver: () => new MemoryDriver({ unreachable: true }),
  image: "bay-python:memory",
  absentImage: `missing/bay-contract-${randomBytes(4).toString("hex")}`,
  agentBinaryPath: BAY_BINARY,
  kill: (driver, containerId) => driver.endContainer(containerId),
  pause: async (driver, containerId) => driver.pauseContainer(containerId),
  settleTimeoutMs: 2000,
  // Nothing outlives the process.
  cleanup: async () => undefined,
}));

describe("the memory driver's test hooks", () => {
  let driver: MemoryDriver;
  const dataDir = mkdtempSync(join(tmpdir(), "bay-memory-driver-"));
  afterEach(() => driver?.close());
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const use = (options?: MemoryDriverOptions) => (driver = new MemoryDriver(options));
  const spec = (image = "bay-python:memory") =>
    sessionContainerSpec({ instanceId: "test-memory", image, agentBinaryPath: BAY_BINARY, volumeName: "bay-cargo-memory", dataDir });
  const post = (endpoint: string, path: string, token: string) =>
    fetch(`${endpoint}${path}`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: "{}" });

  test("the fake agent's default exec routes answer the plugins' outcome shapes, and unknown routes a 404 envelope", async () => {
    const session = spec();
    const { endpoint } = await use().startSessionContainer(session);
    expect(Value.Check(PythonExecOutcome, await (await post(endpoint, "/ipython/exec", session.token)).json())).toBe(true);
    expect(Value.Check(ShellExecOutcome, await (await post(endpoint, "/shell/exec", session.token)).json())).toBe(true);
    const unknown = await post(endpoint, "/nowhere", session.token);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe("not_found");
    const unauthorized = await post(endpoint, "/shell/exec", "wrong");
    expect(unauthorized.status).toBe(401);
    expect(((await unauthorized.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
  });

  test("agentRoutes replace the defaults, and /meta lists the given capabilities", async () => {
    const session = spec();
    const { endpoint } = await use({
      capabilities: ["shell"],
      agentRoutes: { "POST /shell/exec": () => Response.json({ custom: true }) },
    }).startSessionContainer(session);
    expect(await (await post(endpoint, "/shell/exec", session.token)).json()).toEqual({ custom: true });
    const meta = await (await fetch(`${endpoint}/meta`, { headers: { authorization: `Bearer ${session.token}` } })).json();
    expect((meta as { capabilities: object }).capabilities).toEqual({ shell: {} });
  });

  test("with an image list, any other image is absent", async () => {
    use({ images: ["only:this"] });
    const error = await rejectionOf(driver.startSessionContainer(spec("bay-python:memory")));
    expect((error as BayError).details.image).toBe("bay-python:memory");
    expect((await driver.startSessionContainer(spec("only:this"))).containerId).toBeString();
  });

  test("failNext fails exactly the next call of that operation, and calls records every call in order", async () => {
    use();
    const failure = new BayError("ship_error", "engine refused");
    driver.failNext("startSessionContainer", failure);
    expect(await rejectionOf(driver.startSessionContainer(spec()))).toBe(failure);
    expect(driver.containers).toEqual([]);
    await driver.startSessionContainer(spec());
    expect(driver.calls).toEqual(["startSessionContainer", "startSessionContainer"]);
  });

  test("endContainer reports its reason and exit code; closeEventStreams ends every subscription with the error", async () => {
    use();
    const { containerId } = await driver.startSessionContainer(spec());
    const ends: string[] = [];
    const closings: (Error | undefined)[] = [];
    await driver.watchContainerEnds({ "bay.instance_id": "test-memory" }, (event) => ends.push(event.reason), (error) => closings.push(error));
    await driver.endContainer(containerId, "out of memory", 137);
    expect(ends).toEqual(["out of memory"]);
    expect(driver.containers[0]).toMatchObject({ running: false, exitCode: 137 });
    const lost = new Error("engine restarted");
    driver.closeEventStreams(lost);
    driver.closeEventStreams();
    expect(closings).toEqual([lost]);
  });

  test("readLogs answers the last lines of what setLogs set; setVolumeSize is what volumeSizes reports", async () => {
    use();
    const { containerId } = await driver.startSessionContainer(spec());
    driver.setLogs(containerId, "one\ntwo\nthree\n");
    expect(await driver.readLogs(containerId, 2)).toBe("two\nthree\n");
    driver.setVolumeSize("bay-cargo-memory", 4096);
    expect(await driver.volumeSizes(["bay-cargo-memory"])).toEqual(new Map([["bay-cargo-memory", 4096]]));
  });
});
