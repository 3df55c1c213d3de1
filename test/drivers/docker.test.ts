import { setDefaultTimeout } from "bun:test";
import { randomBytes } from "node:crypto";
import { Value } from "@sinclair/typebox/value";
import { DockerDriver } from "../../drivers/docker/docker-driver.ts";
import { DockerSettingsSchema, type DockerSettings } from "../../drivers/docker/settings.ts";
import { removeInstanceObjects } from "../helpers/docker.ts";
import { BAY_BINARY, TEST_IMAGE } from "../helpers/env.ts";
import { describeDriverContract } from "./contract.ts";

// Containers take seconds to start, and their agents a few more.
setDefaultTimeout(120_000);

/** Never pulls: an absent image must fail here, not reach a registry. */
const settings = (overrides: Partial<DockerSettings> = {}) =>
  Value.Default(DockerSettingsSchema, { pull_policy: "never", ...overrides }) as DockerSettings;

async function docker(...args: string[]): Promise<void> {
  const child = Bun.spawn(["docker", ...args], { stdout: "ignore", stderr: "pipe" });
  if ((await child.exited) !== 0) throw new Error(`docker ${args.join(" ")} failed: ${await new Response(child.stderr).text()}`);
}

describeDriverContract("docker", () => ({
  createDriver: () => new DockerDriver(settings()),
  createUnreachableDriver: () => new DockerDriver(settings({ socket: `/nonexistent/bay-contract-${randomBytes(4).toString("hex")}/docker.sock` }), { environment: {} }),
  image: TEST_IMAGE,
  absentImage: `bay-contract-absent-${randomBytes(4).toString("hex")}:none`,
  agentBinaryPath: BAY_BINARY,
  kill: (_driver, containerId) => docker("kill", containerId),
  pause: (_driver, containerId) => docker("pause", containerId),
  settleTimeoutMs: 30_000,
  cleanup: removeInstanceObjects,
}));
