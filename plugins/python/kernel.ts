import type { Subprocess } from "bun";
import { signalSandboxProcess, spawnAsSandboxUser } from "../../src/kit/agent.ts";
import KERNEL_DRIVER from "./kernel_driver.py" with { type: "text" };

export type KernelEvent =
  | { type: "ready"; executor: "ipython" | "python"; python: string; pid: number }
  | { type: "stream"; name: "stdout" | "stderr"; text: string }
  | { type: "result" | "display"; data: Record<string, string> }
  | { type: "done"; id: number; success: boolean; error: string | null; execution_count: number };

/** What an execution produces while it runs. */
export type KernelOutputEvent = Extract<KernelEvent, { type: "stream" | "result" | "display" }>;

export interface ExecutionOutcome {
  success: boolean;
  error: string | null;
  executionCount: number | null;
  timedOut: boolean;
  /**
   * Variables and imports are gone: the kernel died during this execution, or
   * it had died since the previous one and this execution ran in a new kernel.
   */
  stateLost: boolean;
}

export interface KernelOptions {
  cwd: string;
  env: Record<string, string>;
  /** After SIGINT, how long the code gets to stop before the kernel is killed. */
  interruptGraceMs?: number;
}

type ReadyEvent = Extract<KernelEvent, { type: "ready" }>;

/**
 * One long-lived python3 process running kernel_driver.py. Executions are
 * serialised: a notebook runs one cell at a time.
 */
export class PythonKernel {
  private process: Subprocess<"pipe", "pipe", "inherit"> | null = null;
  private readyInfo: Promise<ReadyEvent> | null = null;
  private listener: ((event: KernelEvent) => void) | null = null;
  private exitListener: ((code: number | null) => void) | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private nextId = 1;
  /** A kernel died while no execution was running; the next outcome says the state was lost. */
  private diedUnobserved = false;
  private closing = false;

  constructor(private readonly options: KernelOptions) {}

  /** Starts the process now (the agent does so eagerly) and resolves when it is ready. */
  start(): Promise<ReadyEvent> {
    if (this.readyInfo) return this.readyInfo;
    const child = spawnAsSandboxUser(["python3", "-u", "-c", KERNEL_DRIVER], {
      cwd: this.options.cwd,
      env: this.options.env,
      stdin: "pipe",
      stdout: "pipe",
      stderr: "inherit",
    });
    this.process = child;
    this.readyInfo = new Promise<ReadyEvent>((resolve, reject) => {
      this.listener = (event) => {
        if (event.type === "ready") resolve(event);
      };
      this.exitListener = (code) => reject(new Error(`python3 exited with code ${code} before it was ready`));
    });
    this.readyInfo.catch(() => undefined);
    void this.readEvents(child);
    void child.exited.then((code) => {
      if (this.process === child) {
        this.process = null;
        this.readyInfo = null;
      }
      if (this.exitListener) this.exitListener(code);
      else if (!this.closing) this.diedUnobserved = true;
    });
    return this.readyInfo;
  }

  /**
   * Runs a cell after those queued before it. The timeout counts from the
   * call, queueing included, so a caller that gave up is never run later.
   */
  execute(code: string, timeoutMs: number, onEvent: (event: KernelOutputEvent) => void, signal?: AbortSignal): Promise<ExecutionOutcome> {
    const deadline = Date.now() + timeoutMs;
    const run = this.queue.then(() => {
      if (signal?.aborted) return notRunInQueue("cancelled", false);
      const remaining = deadline - Date.now();
      if (remaining <= 0) return notRunInQueue(`timed out after ${timeoutMs / 1000} s`, true);
      return this.executeNow(code, remaining, onEvent, timeoutMs, signal);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.closing = true;
    const child = this.process;
    this.process = null;
    this.readyInfo = null;
    if (child) {
      signalSandboxProcess(child.pid, "SIGKILL");
      await child.exited;
    }
  }

  private async executeNow(
    code: string,
    timeoutMs: number,
    onEvent: (event: KernelOutputEvent) => void,
    requestedTimeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<ExecutionOutcome> {
    const restartedAfterDeath = this.diedUnobserved;
    this.diedUnobserved = false;
    await this.start();
    const child = this.process!;
    const id = this.nextId++;
    let timedOut = false;
    const timers: Timer[] = [];
    const outcome = new Promise<ExecutionOutcome>((resolve) => {
      this.listener = (event) => {
        if (event.type === "done" && event.id === id) {
          resolve({ success: event.success, error: event.error, executionCount: event.execution_count, timedOut, stateLost: false });
        } else if (event.type === "stream" || event.type === "result" || event.type === "display") {
          onEvent(event);
        }
      };
      this.exitListener = (exitCode) =>
        resolve({
          success: false,
          error: timedOut
            ? `execution timed out after ${requestedTimeoutMs / 1000} s and did not stop when interrupted; the kernel was restarted and its state was lost\n`
            : `the Python kernel exited (code ${exitCode}); its state was lost and a new kernel starts on the next call\n`,
          executionCount: null,
          timedOut,
          stateLost: true,
        });
    });
    let interrupted = false;
    const interrupt = () => {
      if (interrupted) return;
      interrupted = true;
      signalSandboxProcess(child.pid, "SIGINT");
      timers.push(setTimeout(() => signalSandboxProcess(child.pid, "SIGKILL"), this.options.interruptGraceMs ?? 3000));
    };
    timers.push(
      setTimeout(() => {
        timedOut = true;
        interrupt();
      }, timeoutMs),
    );
    // The caller left (a streamed run's client went away, an MCP call was cancelled): the cell is interrupted as on a timeout.
    signal?.addEventListener("abort", interrupt, { once: true });
    child.stdin.write(JSON.stringify({ id, code }) + "\n");
    child.stdin.flush();
    try {
      const result = await outcome;
      if (result.timedOut && !result.stateLost) {
        return { ...result, error: `execution timed out after ${requestedTimeoutMs / 1000} s and was interrupted\n` };
      }
      return restartedAfterDeath ? { ...result, stateLost: true } : result;
    } finally {
      for (const timer of timers) clearTimeout(timer);
      signal?.removeEventListener("abort", interrupt);
      this.listener = null;
      this.exitListener = null;
    }
  }

  private async readEvents(child: Subprocess<"pipe", "pipe", "inherit">): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of child.stdout) {
      buffered += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (!line) continue;
        try {
          this.listener?.(JSON.parse(line) as KernelEvent);
        } catch {
          // A malformed line can only come from a broken driver; it is dropped.
        }
      }
    }
  }
}

/** A cell that never ran: its caller gave up (`why`) while an earlier one still ran. */
function notRunInQueue(why: string, timedOut: boolean): ExecutionOutcome {
  return {
    success: false,
    error: `execution ${why} while waiting for the previous execution to finish; it did not run\n`,
    executionCount: null,
    timedOut,
    stateLost: false,
  };
}
