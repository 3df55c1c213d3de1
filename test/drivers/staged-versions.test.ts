/**
 * Older staged copies of Bay's executables (drivers/docker/staged-versions.ts)
 * against the real engine: after an upgrade wrote a new version, a copy that
 * a container still mounts stays, in whatever state that container is, and
 * the others go.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import "../helpers/engine-ready.ts";
import { TEST_IMAGE } from "../helpers/env.ts";
import { startTestBay } from "../helpers/test-bay.ts";
import { removeOlderVersions } from "../../drivers/docker/staged-versions.ts";

const stagingDir = mkdtempSync(join(tmpdir(), "bay-staged-"));
const containers: string[] = [];

afterAll(() => {
  for (const container of containers) Bun.spawnSync(["docker", "rm", "-f", container]);
  rmSync(stagingDir, { recursive: true, force: true });
});

function copy(file: string): string {
  const path = join(stagingDir, file);
  writeFileSync(path, "#!/bin/sh\n", { mode: 0o755 });
  return path;
}

/** A container that mounts `path`: running, or only created. */
function mounting(path: string, state: "running" | "created"): void {
  const argv = ["docker", state === "running" ? "run" : "create", ...(state === "running" ? ["-d"] : []), "-v", `${path}:/opt/bay/old:ro`, TEST_IMAGE, "sleep", "300"];
  const made = Bun.spawnSync(argv, { stderr: "pipe" });
  expect(made.exitCode).toBe(0);
  containers.push(made.stdout.toString().trim());
}

describe("older staged copies", () => {
  test("go once a new version is written, unless a container still mounts them", async () => {
    const unused = copy("slot-holder-00000000000000aa");
    const inRunningSandbox = copy("slot-holder-00000000000000bb");
    const inCreatedContainer = copy("slot-holder-00000000000000cc");
    const otherExecutable = copy("bay-00000000000000dd");
    const unrelated = copy("notes.txt");
    const current = copy("slot-holder-00000000000000ff");
    mounting(inRunningSandbox, "running");
    mounting(inCreatedContainer, "created");

    const removed = await removeOlderVersions(new Docker(), (_action, call) => call(), { directory: stagingDir, name: "slot-holder", path: current }, (path) => path);

    expect(removed).toEqual([unused]);
    expect(readdirSync(stagingDir).sort()).toEqual(["bay-00000000000000dd", "notes.txt", "slot-holder-00000000000000bb", "slot-holder-00000000000000cc", "slot-holder-00000000000000ff"]);
    for (const kept of [inRunningSandbox, inCreatedContainer, otherExecutable, unrelated, current]) expect(existsSync(kept)).toBe(true);
  });

  test("a copy the engine cannot see (not on a mount of Bay's container) is left alone", async () => {
    const hidden = copy("bay-0000000000000011");
    const current = copy("bay-0000000000000022");
    expect(await removeOlderVersions(new Docker(), (_action, call) => call(), { directory: stagingDir, name: "bay", path: current }, () => null)).toEqual([]);
    expect(existsSync(hidden)).toBe(true);
  });

  test("a Bay upgraded over a data directory removes the copies an older version left, as it stages its own", async () => {
    const bay = await startTestBay({ background: true });
    try {
      const agentDir = join(bay.config.data_dir, "agent");
      mkdirSync(agentDir, { recursive: true });
      const leftByOlderBay = join(agentDir, "slot-holder-0123456789abcdef");
      writeFileSync(leftByOlderBay, "#!/bin/sh\n", { mode: 0o755 });
      const id = (await bay.request("POST", "/v1/sandboxes", {})).body.id;
      expect((await bay.request("POST", `/v1/sandboxes/${id}/python/exec`, { code: "print(1)" })).body.output).toBe("1\n");
      for (let waited = 0; waited < 30_000 && existsSync(leftByOlderBay); waited += 100) await Bun.sleep(100);
      expect(existsSync(leftByOlderBay)).toBe(false);
      expect(readdirSync(agentDir).filter((file) => file.startsWith("slot-holder-"))).toHaveLength(1);
    } finally {
      await bay.close();
    }
  });
});
