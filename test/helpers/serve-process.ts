import "./engine-ready.ts";
import type { Subprocess } from "bun";
import { BAY_BINARY } from "./env.ts";

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
