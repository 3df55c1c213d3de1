import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { cliResources, runBay } from "../helpers/cli.ts";
import { containersWithLabel } from "../helpers/docker.ts";

// Real engine calls happen here; nothing asserts speed.
setDefaultTimeout(120_000);

const { scratchDir, newInstance } = cliResources("bay-cli-progress");

describe("progress of slow steps on stderr", () => {
  test("an image pull is announced on stderr while stdout stays the command's own", async () => {
    const { env, instanceId } = newInstance();
    const config = join(scratchDir("bay-cli-progress-config-"), "bay.yaml");
    await Bun.write(config, 'profiles:\n  - { id: ghost, image: "bay-test-never-built:latest" }\n');
    const run = await runBay(["exec", "--config", config, "--profile", "ghost", "python", "-c", "print(1)"], env);
    expect(run.exitCode).toBe(125);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("pulling image bay-test-never-built:latest");
    expect(run.stderr).toContain("bay exec: ship_error: image bay-test-never-built:latest is not available");
    expect(containersWithLabel(`bay.instance_id=${instanceId}`)).toEqual([]);
  });
});
