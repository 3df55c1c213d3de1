import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { Subprocess } from "bun";
import { BAY_BINARY, TEST_IMAGE } from "./env.ts";
import { removeInstanceObjects } from "./docker.ts";
import type { ServeProcess } from "./serve-process.ts";

export interface BayRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Scratch directories, instances and daemons of one test file, removed after
 * its last test (registered when called).
 */
export function cliResources(prefix: string) {
  const dirs: string[] = [];
  const instances: string[] = [];
  const daemons: ServeProcess[] = [];
  afterAll(async () => {
    for (const daemon of daemons) await daemon.stop("SIGKILL");
    for (const instance of instances) await removeInstanceObjects(instance);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const scratchDir = (name: string): string => {
    const dir = mkdtempSync(join(tmpdir(), name));
    dirs.push(dir);
    return dir;
  };

  return {
    scratchDir,
    /** The environment of one bay process or daemon: its own data dir and `test-` instance id. */
    newInstance(): { env: Record<string, string>; instanceId: string } {
      const instanceId = `test-${randomBytes(4).toString("hex")}`;
      instances.push(instanceId);
      const env = {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/root",
        BAY_DATA_DIR: scratchDir(`${prefix}-`),
        BAY_INSTANCE_ID: instanceId,
        BAY_DEFAULT_IMAGE: TEST_IMAGE,
      };
      return { env, instanceId };
    },
    /** Stops the daemon with the rest. */
    track(daemon: ServeProcess): ServeProcess {
      daemons.push(daemon);
      return daemon;
    },
  };
}

export function spawnBay(args: string[], env: Record<string, string>, cwd?: string): Subprocess<"pipe", "pipe", "pipe"> {
  return Bun.spawn([BAY_BINARY, ...args], { env, cwd, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
}

/** Runs bay to the end; `stdin` is written and closed (closed at once without it). */
export async function runBay(args: string[], env: Record<string, string>, options: { stdin?: string; cwd?: string } = {}): Promise<BayRun> {
  const child = spawnBay(args, env, options.cwd);
  if (options.stdin !== undefined) child.stdin.write(options.stdin);
  await child.stdin.end();
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { exitCode, stdout, stderr };
}
