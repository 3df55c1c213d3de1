import type { Subprocess } from "bun";
import KERNEL_DRIVER from "./kernel_driver.py" with { type: "text" };

export type KernelEvent =
  | { type: "ready"; executor: "ipython" | "python"; python: string; pid: number }
  | { type: "stream"; name: "stdout" | "stderr"; text: string }
  | { type: "result" | "display"; data: Record<string, string> }
  | { type: "done"; id: number; success: boolean; error: string | null; execution_count: number };

export interface ExecutionOutcome {
  success: boolean;
  error: string | null;
  executionCount: number | null;
  timedOut: boolean;
  /** The kernel process died or was killed: variables and imports are gone. */
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

  constructor(private readonly options: KernelOptions) {}

  /** Starts the process now (the agent does so eagerly) and resolves when it is ready. */
  start(): Promise<ReadyEvent> {
    if (this.readyInfo) return this.readyInfo;
    const child = Bun.spawn(["python3", "-u", "-c", KERNEL_DRIVER], {
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
      this.exitListener?.(code);
    });
    return this.readyInfo;
  }

  execute(code: string, timeoutMs: number, onEvent: (event: KernelEvent) => void): Promise<ExecutionOutcome> {
    const run = this.queue.then(() => this.executeNow(code, timeoutMs, onEvent));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    const child = this.process;
    this.process = null;
    this.readyInfo = null;
    if (child) {
      child.kill("SIGKILL");
      await child.exited;
    }
  }

  private async executeNow(code: string, timeoutMs: number, onEvent: (event: KernelEvent) => void): Promise<ExecutionOutcome> {
    await this.start();
    const child = this.process!;
    const id = this.nextId++;
    let timedOut = false;
    const timers: Timer[] = [];
    const outcome = new Promise<ExecutionOutcome>((resolve) => {
      this.listener = (event) => {
        if (event.type === "done" && event.id === id) {
          resolve({ success: event.success, error: event.error, executionCount: event.execution_count, timedOut, stateLost: false });
        } else if (event.type !== "done" && event.type !== "ready") {
          onEvent(event);
        }
      };
      this.exitListener = (exitCode) =>
        resolve({
          success: false,
          error: timedOut
            ? `execution timed out after ${timeoutMs / 1000} s and did not stop when interrupted; the kernel was restarted and its state was lost\n`
            : `the Python kernel exited (code ${exitCode}); its state was lost and a new kernel starts on the next call\n`,
          executionCount: null,
          timedOut,
          stateLost: true,
        });
    });
    timers.push(
      setTimeout(() => {
        timedOut = true;
        child.kill("SIGINT");
        timers.push(setTimeout(() => child.kill("SIGKILL"), this.options.interruptGraceMs ?? 3000));
      }, timeoutMs),
    );
    child.stdin.write(JSON.stringify({ id, code }) + "\n");
    child.stdin.flush();
    try {
      const result = await outcome;
      if (result.timedOut && !result.stateLost) {
        return { ...result, error: `execution timed out after ${timeoutMs / 1000} s and was interrupted\n` };
      }
      return result;
    } finally {
      for (const timer of timers) clearTimeout(timer);
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
