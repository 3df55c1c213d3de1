import "./engine-ready.ts";
import { afterAll, beforeAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { Subprocess } from "bun";
import { removeInstanceObjects } from "./docker.ts";
import { BAY_BINARY, TEST_IMAGE } from "./env.ts";

export interface ServeProcess {
  url: string;
  process: Subprocess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

/** Starts the compiled `bay serve` on a free port and waits for its "listening" line. */
export async function startServeProcess(env: Record<string, string>, args: string[] = [], cwd?: string): Promise<ServeProcess> {
  const child = Bun.spawn([BAY_BINARY, "serve", "--port", "0", ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  let output = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) output += decoder.decode(chunk, { stream: true });
  };
  void collect(child.stdout);
  void collect(child.stderr);

  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const match = /listening on (http:\/\/[0-9.]+:\d+)/.exec(output);
    if (match) {
      return {
        url: match[1]!,
        process: child,
        output: () => output,
        async stop(signal = "SIGTERM") {
          child.kill(signal);
          return child.exited;
        },
      };
    }
    if (child.exitCode !== null) break;
    await Bun.sleep(20);
  }
  child.kill("SIGKILL");
  throw new Error(`bay serve did not start:\n${output}`);
}

/**
 * A `bay serve` for the whole test file, on a fresh data dir with its own
 * test instance id and the test image: started before the file's first
 * test; stopped, and its engine objects and data dir removed, after its
 * last. The returned object stands for the running process.
 */
export function useServeProcess(env: Record<string, string>, args: string[] = []): ServeProcess {
  const dataDir = mkdtempSync(join(tmpdir(), "bay-serve-"));
  const instanceId = `test-${randomBytes(4).toString("hex")}`;
  let started: ServeProcess | undefined;
  beforeAll(async () => {
    started = await startServeProcess({ BAY_DATA_DIR: dataDir, BAY_INSTANCE_ID: instanceId, BAY_DEFAULT_IMAGE: TEST_IMAGE, ...env }, args);
  });
  afterAll(async () => {
    await started?.stop("SIGTERM");
    await removeInstanceObjects(instanceId);
    rmSync(dataDir, { recursive: true, force: true });
  });
  return new Proxy({} as ServeProcess, {
    get(_, property) {
      if (!started) throw new Error("the serve process is used before beforeAll started it");
      return started[property as keyof ServeProcess];
    },
  });
}
