import type { FileSink, Subprocess, Terminal } from "bun";
import { existsSync } from "node:fs";
import { BayError, killSandboxProcessGroup, signalSandboxProcess, spawnAsSandboxUser } from "../../src/kit/agent.ts";
import { argvAsCommand, type ProcessCommand } from "./process-command.ts";
import { exitStatus } from "./process-group.ts";
import { findProgram } from "./program-lookup.ts";
import { KEPT_FINISHED_PROCESSES, MAX_RUNNING_PROCESSES, type ProcessInfo } from "./schemas.ts";

export type OutputStream = "stdout" | "stderr" | "pty";

/**
 * One piece of a process's output. Its `seq` is the count of output bytes up
 * to its end, so that a reader resumes after the last seq it got and can be
 * told exactly how many bytes it missed if the buffer dropped them.
 */
export interface OutputChunk {
  readonly seq: number;
  readonly stream: OutputStream;
  bytes: Uint8Array;
}

export interface StartOptions {
  shell: string;
  /** A shell command (run by `shell -c`) or a program's argv. */
  run: ProcessCommand;
  /** The real directory, and how the caller named it (relative to /workspace). */
  cwd: { real: string; relative: string };
  env: Record<string, string>;
  stdin: boolean;
  pty?: { cols: number; rows: number };
  timeoutSeconds: number;
  tag?: string;
}

/** After a process exits, how long output still in its pipes is awaited (background children may hold them open). */
const DRAIN_MS = 200;

const SETSID_PATHS = ["/usr/bin/setsid", "/bin/setsid"];

/**
 * A terminal's program as the leader of its own session with the terminal as
 * its controlling one (util-linux's setsid, which execs it in place: the pid
 * stays). Bun gives the child the terminal as stdio only: without this, Ctrl-C
 * on the keyboard signalled nothing, a shell had no job control, and a signal
 * to the process's group found none. Images without setsid keep the old way.
 */
function asTerminalSession(argv: string[]): string[] {
  const setsid = SETSID_PATHS.find((path) => existsSync(path));
  return setsid ? [setsid, "--ctty", ...argv] : argv;
}

/** What a reader of a process's output is told, in order. */
export type OutputEvent = { kind: "output"; chunk: OutputChunk } | { kind: "dropped"; bytes: number } | { kind: "exit"; info: ProcessInfo };

/**
 * A background process of the sandbox user: started in a process group of its
 * own (or a terminal's session), its output kept in a bounded buffer that
 * readers can replay from any point still held and then follow live.
 */
class ManagedProcess {
  readonly startedAt = new Date();
  endedAt: Date | null = null;
  exitCode: number | null = null;
  private readonly chunks: OutputChunk[] = [];
  private keptBytes = 0;
  private totalBytes = 0;
  private droppedBytes = 0;
  private readonly listeners = new Set<() => void>();
  private stdinOpen: boolean;
  readonly exited: Promise<void>;

  constructor(
    readonly child: Subprocess<"pipe" | "ignore", "pipe", "pipe">,
    readonly terminal: Terminal | null,
    readonly options: StartOptions,
    private readonly limitBytes: number,
    /** Resolves once the output the process left in its pipes (or terminal) has been read, or a moment after its exit. */
    outputDrained: Promise<unknown>,
  ) {
    this.stdinOpen = options.stdin || terminal !== null;
    this.exited = child.exited.then(() => Promise.race([outputDrained, Bun.sleep(DRAIN_MS)])).then(() => {
      this.exitCode = exitStatus(child.exitCode, child.signalCode);
      this.endedAt = new Date();
      this.stdinOpen = false;
      this.notify();
    });
  }

  get pid(): number {
    return this.child.pid;
  }

  get running(): boolean {
    return this.endedAt === null;
  }

  append(stream: OutputStream, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.totalBytes += bytes.length;
    this.chunks.push({ seq: this.totalBytes, stream, bytes });
    this.keptBytes += bytes.length;
    // The oldest output goes first: whole chunks, then the head of the last one if it alone is over the limit.
    while (this.keptBytes > this.limitBytes) {
      const oldest = this.chunks[0]!;
      const excess = this.keptBytes - this.limitBytes;
      const cut = this.chunks.length > 1 ? oldest.bytes.length : excess;
      if (cut >= oldest.bytes.length) this.chunks.shift();
      else oldest.bytes = oldest.bytes.subarray(cut);
      this.keptBytes -= cut;
      this.droppedBytes += cut;
    }
    this.notify();
  }

  /** The output kept after `after` (a byte count), and how many bytes after it are no longer kept. */
  since(after: number): { dropped: number; chunks: OutputChunk[] } {
    const oldest = this.chunks[0];
    const firstKept = oldest ? oldest.seq - oldest.bytes.length : this.totalBytes;
    return { dropped: Math.max(0, firstKept - after), chunks: this.chunks.filter((chunk) => chunk.seq > after) };
  }

  /** Resolves at the next output or exit. */
  changed(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.listeners.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      this.listeners.add(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  writeStdin(bytes: Uint8Array): void {
    if (!this.running) throw new BayError("conflict", `process ${this.pid} has exited`, { pid: this.pid });
    if (!this.stdinOpen) throw new BayError("conflict", `process ${this.pid}'s stdin is closed (start it with stdin: true)`, { pid: this.pid });
    if (this.terminal) {
      this.terminal.write(bytes);
      return;
    }
    const stdin = this.child.stdin as FileSink;
    stdin.write(bytes);
    void stdin.flush();
  }

  closeStdin(): void {
    if (!this.stdinOpen) return;
    this.stdinOpen = false;
    // A terminal's end of input is its EOF character; a pipe is closed.
    if (this.terminal) this.terminal.write("\x04");
    else void (this.child.stdin as FileSink).end();
  }

  info(): ProcessInfo {
    return {
      pid: this.pid,
      command: this.options.run.argv ? argvAsCommand(this.options.run.argv) : this.options.run.command,
      argv: this.options.run.argv ?? null,
      cwd: this.options.cwd.relative,
      tag: this.options.tag ?? null,
      pty: this.terminal !== null,
      stdin: this.stdinOpen,
      running: this.running,
      exit_code: this.exitCode,
      started_at: this.startedAt.toISOString(),
      ended_at: this.endedAt?.toISOString() ?? null,
      output_bytes: this.totalBytes,
      dropped_bytes: this.droppedBytes,
    };
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

/** The background processes of one agent; they end with it (and so with the session). */
export class ProcessTable {
  private readonly processes = new Map<number, ManagedProcess>();

  constructor(private readonly limitBytes: number) {}

  start(options: StartOptions): ProcessInfo {
    const running = [...this.processes.values()].filter((process) => process.running).length;
    if (running >= MAX_RUNNING_PROCESSES) {
      throw new BayError("quota_exceeded", `processes quota reached: ${running} of ${MAX_RUNNING_PROCESSES} running`, {
        quota: "processes",
        limit: MAX_RUNNING_PROCESSES,
        current: running,
      });
    }
    let process!: ManagedProcess;
    const onData = (stream: OutputStream) => (bytes: Uint8Array) => process.append(stream, new Uint8Array(bytes));
    let terminal: Terminal | null = null;
    let child: Subprocess<"pipe" | "ignore", "pipe", "pipe">;
    const argv = options.run.argv ?? [options.shell, "-c", options.run.command];
    // Looked up here, so that a missing program is refused alike whichever way the spawn enters the directory.
    if (!findProgram(argv[0]!, options.env.PATH ?? "", options.cwd.real)) {
      throw new BayError("validation_error", `${argv[0]}: no such program (looked up in PATH, or relative to cwd)`, { field: "argv" });
    }
    try {
      if (options.pty) {
        const onTerminalData = onData("pty");
        terminal = new Bun.Terminal({ cols: options.pty.cols, rows: options.pty.rows, name: "xterm-256color", data: (_, bytes) => onTerminalData(bytes) });
        child = spawnAsSandboxUser(asTerminalSession(argv), {
          cwd: options.cwd.real,
          env: { TERM: "xterm-256color", ...options.env },
          terminal,
        } as never) as never;
      } else {
        child = spawnAsSandboxUser(argv, {
          cwd: options.cwd.real,
          env: options.env,
          detached: true,
          stdio: [options.stdin ? "pipe" : "ignore", "pipe", "pipe"],
        }) as never;
      }
    } catch (error) {
      terminal?.close();
      throw new BayError("validation_error", `could not start ${argv[0]}: ${error instanceof Error ? error.message : String(error)}`, {
        field: options.run.argv ? "argv" : "command",
      });
    }
    const drained = terminal ? Bun.sleep(DRAIN_MS) : Promise.all([pump(child.stdout, onData("stdout")), pump(child.stderr, onData("stderr"))]);
    process = new ManagedProcess(child, terminal, options, this.limitBytes, drained);
    if (options.timeoutSeconds > 0) {
      const timer = setTimeout(() => void killSandboxProcessGroup(process.pid), options.timeoutSeconds * 1000);
      void process.exited.then(() => clearTimeout(timer));
    }
    void process.exited.then(() => {
      terminal?.close();
      this.forgetOldFinished();
    });
    this.processes.set(process.pid, process);
    return process.info();
  }

  list(): ProcessInfo[] {
    return [...this.processes.values()].map((process) => process.info());
  }

  get(pid: number): ManagedProcess {
    const process = this.processes.get(pid);
    if (!process) throw new BayError("not_found", `process ${pid} not found (processes end with the sandbox's session)`, { pid });
    return process;
  }

  signal(pid: number, signal: NodeJS.Signals): void {
    const process = this.get(pid);
    if (!process.running) throw new BayError("conflict", `process ${pid} has exited`, { pid });
    // The group: what the command started goes too (sleep 1000 & included).
    if (!signalSandboxProcess(-pid, signal)) signalSandboxProcess(pid, signal);
  }

  resize(pid: number, cols: number, rows: number): void {
    const process = this.get(pid);
    if (!process.terminal) throw new BayError("conflict", `process ${pid} has no terminal (start it with pty)`, { pid });
    if (process.running) process.terminal.resize(cols, rows);
  }

  async wait(pid: number, timeoutMs: number): Promise<ProcessInfo> {
    const process = this.get(pid);
    let timer: Timer | undefined;
    await Promise.race([process.exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    return process.info();
  }

  /** Replays what is kept after `after`, then follows live output until the exit (or until the reader leaves). */
  async *follow(pid: number, after: number, follow: boolean, signal?: AbortSignal): AsyncGenerator<OutputEvent> {
    const process = this.get(pid);
    let last = after;
    for (;;) {
      const ended = !process.running;
      const { dropped, chunks } = process.since(last);
      if (dropped > 0) yield { kind: "dropped", bytes: dropped };
      for (const chunk of chunks) {
        yield { kind: "output", chunk };
        last = chunk.seq;
      }
      if (ended) {
        // The output was complete when the exit was recorded (outputDrained).
        yield { kind: "exit", info: process.info() };
        return;
      }
      if (!follow || signal?.aborted) return;
      if (process.since(last).chunks.length === 0 && process.running) await process.changed(signal);
      if (signal?.aborted) return;
    }
  }

  /** Ends every process (the agent is stopping). */
  killAll(): void {
    for (const process of this.processes.values()) if (process.running) signalSandboxProcess(-process.pid, "SIGKILL");
  }

  private forgetOldFinished(): void {
    const finished = [...this.processes.values()].filter((process) => !process.running).sort((a, b) => b.endedAt!.getTime() - a.endedAt!.getTime());
    for (const process of finished.slice(KEPT_FINISHED_PROCESSES)) this.processes.delete(process.pid);
  }
}

/** Decodes a reader's chunks to text, per stream, so that a character split across two reads arrives whole. */
export class OutputDecoder {
  private readonly decoders = new Map<OutputStream, TextDecoder>();

  text(chunk: OutputChunk): string {
    let decoder = this.decoders.get(chunk.stream);
    if (!decoder) this.decoders.set(chunk.stream, (decoder = new TextDecoder()));
    return decoder.decode(chunk.bytes, { stream: true });
  }
}

async function pump(stream: ReadableStream<Uint8Array>, onData: (bytes: Uint8Array) => void): Promise<void> {
  try {
    for await (const bytes of stream) onData(bytes);
  } catch {
    // The process is gone.
  }
}
