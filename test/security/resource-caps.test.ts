import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { statSync } from "node:fs";
import { useTestBay } from "../helpers/test-bay.ts";
import { containersWithLabel, inspectContainer, runningContainersWithLabel } from "../helpers/docker.ts";
import { READ_ONLY_REFUSAL, TEST_IMAGE } from "../helpers/env.ts";

// Real containers; no test asserts speed.
setDefaultTimeout(180_000);

const MIB = 1024 * 1024;

const bay = useTestBay({
  config: {
    profiles: [
      { id: "python-default", image: TEST_IMAGE },
      { id: "small-tmp", image: TEST_IMAGE, security: { tmp_size: "8m" } },
    ],
  },
});

async function sandboxOf(body: Record<string, unknown> = {}): Promise<string> {
  const created = await bay.request("POST", "/v1/sandboxes", body);
  expect(created.status).toBe(201);
  return created.body.id;
}

async function shell(id: string, command: string) {
  const result = await bay.request("POST", `/v1/sandboxes/${id}/shell/exec`, { command, timeout: 120 });
  expect(result.status).toBe(200);
  return result.body as { output: string; error: string; exit_code: number };
}

/** Runs the collector now and returns what its cargo size task did. */
async function cargoLimitTask() {
  const run = await bay.request("POST", "/v1/admin/gc/run");
  expect(run.status).toBe(200);
  return run.body.results.find((r: { task_name: string }) => r.task_name === "cargo_size_limits");
}

const containerOf = (id: string) => inspectContainer(containersWithLabel(`bay.sandbox_id=${id}`)[0]!);

describe("caps on what a sandbox can grow on the host", () => {
  test("output that bypasses the agent reaches the container log, which stays capped", async () => {
    const id = await sandboxOf();
    // os.system's output goes to the kernel's inherited descriptors, i.e. the container log.
    const code = "import os\nfor _ in range(8):\n    os.system(\"head -c 1048576 /dev/zero | tr '\\\\0' a\")";
    const result = await bay.request("POST", `/v1/sandboxes/${id}/python/exec`, { code, timeout: 120 });
    expect(result.status).toBe(200);
    const container = containerOf(id);
    expect(container.HostConfig.LogConfig).toEqual({ Type: "json-file", Config: { "max-file": "1", "max-size": "1m" } });
    const logSize = statSync(container.LogPath).size;
    expect(logSize).toBeLessThan(2 * MIB);
    // Eight MiB were written; what is on disk is the capped tail, not nothing.
    expect(logSize).toBeGreaterThan(64 * 1024);
  });

  test("/tmp is a tmpfs of the profile's size, and the root filesystem is read-only by default", async () => {
    const id = await sandboxOf({ profile: "small-tmp" });
    const tmp = await shell(id, "head -c 20000000 /dev/zero > /tmp/big; echo status=$?; du -k /tmp/big | cut -f1");
    expect(tmp.error).toContain("No space left on device");
    const [status, kilobytes] = tmp.output.trim().split("\n");
    expect(status).not.toBe("status=0");
    expect(Number(kilobytes)).toBeLessThanOrEqual(8 * 1024);

    const root = await shell(id, "touch /etc/x /usr/x /var/x 2>&1; echo ok > /workspace/w && cat /workspace/w; awk '$2 == \"/\" { split($4, o, \",\"); print o[1] }' /proc/mounts");
    expect(root.output).toContain(`touch: cannot touch '/etc/x': ${READ_ONLY_REFUSAL}`);
    expect(root.output).toContain(`touch: cannot touch '/var/x': ${READ_ONLY_REFUSAL}`);
    expect(root.output).toEndWith("ok\nro\n");
    expect(containerOf(id).HostConfig.ReadonlyRootfs).toBe(true);
  });

  test("a cargo past size_limit_mb stops its sandbox with the reason, while another sandbox carries on", async () => {
    const cargo = await bay.request("POST", "/v1/cargos", { size_limit_mb: 2 });
    expect(cargo.status).toBe(201);
    const filling = await sandboxOf({ cargo_id: cargo.body.id });
    const bystander = await sandboxOf();
    await shell(bystander, "echo still-here > /workspace/mine");
    const wrote = await shell(filling, "head -c 6000000 /dev/zero > /workspace/big; echo done");
    expect(wrote.output).toBe("done\n");

    expect(await cargoLimitTask()).toMatchObject({ task_name: "cargo_size_limits", cleaned_count: 1, errors: [] });

    const stopped = (await bay.request("GET", `/v1/sandboxes/${filling}`)).body;
    expect(stopped.status).toBe("idle");
    expect(stopped.state_reset_reason).toContain(`cargo ${cargo.body.id} is over its size limit`);
    expect(runningContainersWithLabel(`bay.sandbox_id=${filling}`)).toEqual([]);
    expect((await shell(bystander, "cat /workspace/mine")).output).toBe("still-here\n");

    // The next call starts it again so that files can be deleted; under the limit, it stays.
    expect((await shell(filling, "rm /workspace/big && echo removed")).output).toBe("removed\n");
    expect(await cargoLimitTask()).toMatchObject({ task_name: "cargo_size_limits", cleaned_count: 0, errors: [] });
    expect(runningContainersWithLabel(`bay.sandbox_id=${filling}`)).toHaveLength(1);
    await bay.request("DELETE", `/v1/sandboxes/${filling}`);
    await bay.request("DELETE", `/v1/cargos/${cargo.body.id}`);
  });
});
