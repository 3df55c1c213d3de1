import { spawn } from "node:child_process";
import { constants } from "node:os";

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
 * Runs a command as the leader of a new process group, so that a timeout can
 * kill it together with everything it started (`sleep 1000 &` included).
 */
export function runInProcessGroup(options: ProcessGroupOptions): Promise<ProcessGroupRun> {
  return new Promise((resolve) => {
    const child = spawn(options.shell, ["-c", options.command], {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let timedOut = false;
    let settled = false;
    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // The group is already gone.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, options.timeoutMs);
    const onAbort = () => {
      timedOut = true;
      killGroup();
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });

    const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
    let openPipes = 2;
    let exitCode: number | null = null;
    for (const name of ["stdout", "stderr"] as const) {
      child[name].on("data", (chunk: Buffer) => {
        const text = decoders[name].decode(chunk, { stream: true });
        if (text) options.onOutput(name, text);
      });
      child[name].once("close", () => {
        openPipes--;
        if (openPipes === 0 && exitCode !== null) finish(exitCode);
      });
    }

    function finish(status: number) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      // Background children may hold the pipes open; stop listening to them.
      child.stdout.destroy();
      child.stderr.destroy();
      resolve({ exitCode: timedOut ? -1 : status, timedOut });
    }
    child.on("error", (error) => {
      options.onOutput("stderr", `failed to start ${options.shell}: ${error.message}\n`);
      finish(127);
    });
    child.on("exit", (code, signal) => {
      const status = code ?? (signal ? 128 + signalNumber(signal) : -1);
      exitCode = status;
      if (openPipes === 0) finish(status);
      else setTimeout(() => finish(status), DRAIN_MS);
    });
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  return (constants.signals as Record<string, number>)[signal] ?? 0;
}
