import { constants } from "node:os";
import { killSandboxProcessGroup, spawnAsSandboxUser } from "../../src/kit/agent.ts";

export interface ProcessGroupRun {
  exitCode: number;
  timedOut: boolean;
}

export interface ProcessGroupOptions {
  shell: string;
  command: string;
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  onOutput: (stream: "stdout" | "stderr", text: string) => void;
  /** Aborting kills the group, as a timeout does (e.g. the client went away). */
  signal?: AbortSignal;
}

/** After the shell exits, how long output still in the pipes is awaited. */
const DRAIN_MS = 200;

/**
 * Runs a command, as the sandbox user, as the leader of a new process group,
 * so that a timeout can kill it together with everything it started
 * (`sleep 1000 &` included).
 */
export async function runInProcessGroup(options: ProcessGroupOptions): Promise<ProcessGroupRun> {
  let child;
  try {
    child = spawnAsSandboxUser([options.shell, "-c", options.command], {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (error) {
    options.onOutput("stderr", `failed to start ${options.shell}: ${error instanceof Error ? error.message : String(error)}\n`);
    return { exitCode: 127, timedOut: false };
  }
  const group = child.pid;
  let timedOut = false;
  let killed: Promise<void> | undefined;
  const onTimeout = () => {
    timedOut = true;
    killed = killSandboxProcessGroup(group);
  };
  const timer = setTimeout(onTimeout, options.timeoutMs);
  options.signal?.addEventListener("abort", onTimeout, { once: true });

  const pipes = [relay(child.stdout, "stdout", options.onOutput), relay(child.stderr, "stderr", options.onOutput)];
  const status = await child.exited.then(() => exitStatus(child.exitCode, child.signalCode));
  // Background children may hold the pipes open; their output is awaited briefly, then no longer listened to.
  const drained = await Promise.race([Promise.all(pipes.map((pipe) => pipe.done)).then(() => true), Bun.sleep(DRAIN_MS).then(() => false)]);
  if (!drained) for (const pipe of pipes) pipe.stop();
  clearTimeout(timer);
  options.signal?.removeEventListener("abort", onTimeout);
  // The answer waits for the whole group to be gone, so the next command finds its process slots free.
  await killed;
  return { exitCode: timedOut ? -1 : status, timedOut };
}

function relay(stream: ReadableStream<Uint8Array>, name: "stdout" | "stderr", onOutput: ProcessGroupOptions["onOutput"]) {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  const done = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        const text = decoder.decode(value, { stream: true });
        if (text) onOutput(name, text);
      }
    } catch {
      // Cancelled after the drain period.
    }
  })();
  return { done, stop: () => void reader.cancel().catch(() => undefined) };
}

/** A child's exit status as a shell reports it: its code, or 128+N after signal N. */
export function exitStatus(code: number | null, signal: NodeJS.Signals | number | null): number {
  if (code !== null) return code;
  if (signal === null) return -1;
  return 128 + (typeof signal === "number" ? signal : ((constants.signals as Record<string, number>)[signal] ?? 0));
}
