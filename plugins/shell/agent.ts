import { existsSync, statSync } from "node:fs";
import {
  BayError,
  OutputBuffer,
  Workspace,
  eventStreamResponse,
  executionResponse,
  handle,
  wantsEventStream,
  type AgentCapabilityFactory,
} from "../../src/kit/agent.ts";
import { processCommandOf } from "./process-command.ts";
import { runInProcessGroup } from "./process-group.ts";
import { OutputDecoder, ProcessTable } from "./process-table.ts";
import {
  PROCESS_CLOSE_STDIN,
  PROCESS_LIST,
  PROCESS_OUTPUT,
  PROCESS_RESIZE,
  PROCESS_SIGNAL,
  PROCESS_START,
  PROCESS_STATUS,
  PROCESS_STDIN,
  PROCESS_STREAM,
  PROCESS_WAIT,
  SHELL_EXEC,
} from "./routes.ts";
import { SHELL_DEFAULT_TIMEOUT_SECONDS, type ProcessOutput, type ShellExecOutcome } from "./schemas.ts";

const SHELLS = ["/bin/bash", "/bin/sh"];

const createShellAgent: AgentCapabilityFactory = async (context) => {
  const shell = SHELLS.find((path) => existsSync(path));
  if (!shell) return null;
  const workspace = new Workspace(context.workspace);
  const processes = new ProcessTable(context.maxOutputBytes);
  const directory = (path: string | undefined) => {
    const cwd = workspace.resolve(path ?? ".", "cwd");
    // stat, not existsSync: access(2) would check as the agent's real uid, which cannot enter a private workspace.
    const stat = statSync(cwd.real, { throwIfNoEntry: false });
    if (!stat) throw new BayError("file_not_found", `cwd ${cwd.relative} does not exist`, { field: "cwd", path: cwd.relative });
    if (!stat.isDirectory()) throw new BayError("validation_error", `cwd ${cwd.relative} is not a directory`, { field: "cwd" });
    return cwd;
  };
  const ok = { status: "ok" as const };
  /** A process's output after `after` as events (`stdout`/`stderr`/`pty`, `dropped`), then `exit`. */
  const sendProcessEvents = async (
    pid: number,
    after: number,
    follow: boolean,
    encoding: "utf8" | "base64" | undefined,
    send: (event: string, data: unknown) => Promise<void>,
    signal: AbortSignal,
  ) => {
    const decoder = new OutputDecoder();
    for await (const event of processes.follow(pid, after, follow, signal)) {
      if (event.kind === "output") {
        const { seq, stream, bytes } = event.chunk;
        await send(stream, { seq, data: encoding === "base64" ? Buffer.from(bytes).toString("base64") : decoder.text(event.chunk) });
      } else if (event.kind === "dropped") {
        await send("dropped", { bytes: event.bytes });
      } else {
        await send("exit", event.info);
      }
    }
  };

  return {
    info: { shell },
    handlers: [
      handle(SHELL_EXEC, async (body, request) => {
        const cwd = directory(body.cwd);
        const timeoutSeconds = body.timeout ?? SHELL_DEFAULT_TIMEOUT_SECONDS;

        return executionResponse(request, async (emit, signal) => {
          const stdout = new OutputBuffer(context.maxOutputBytes);
          const stderr = new OutputBuffer(context.maxOutputBytes);
          const started = performance.now();
          const run = await runInProcessGroup({
            shell,
            command: body.command,
            cwd: cwd.real,
            env: { ...context.env, ...body.env },
            timeoutMs: timeoutSeconds * 1000,
            signal,
            onOutput: (stream, text) => {
              (stream === "stdout" ? stdout : stderr).append(text);
              emit(stream, { text });
            },
          });
          if (run.timedOut) {
            const note = `command timed out after ${timeoutSeconds} s; its process group was killed\n`;
            stderr.append(note);
            emit("error", { text: note });
          }
          const outcome: ShellExecOutcome = {
            success: run.exitCode === 0,
            output: stdout.toString(),
            error: stderr.toString(),
            exit_code: run.exitCode,
            execution_time_ms: Math.round(performance.now() - started),
            ...(stdout.truncated || stderr.truncated ? { truncated: true } : {}),
          };
          return outcome;
        });
      }),
      handle(PROCESS_START, async (body, request) => {
        const started = processes.start({
          shell,
          run: processCommandOf(body),
          cwd: directory(body.cwd),
          env: { ...context.env, ...body.env },
          stdin: body.stdin ?? false,
          pty: body.pty,
          timeoutSeconds: body.timeout ?? 0,
          tag: body.tag,
        });
        if (!wantsEventStream(request)) return started;
        // Started and followed in one call: what a client that runs a command to its end would otherwise need two for.
        return eventStreamResponse(async (send, signal) => {
          await send("start", started);
          await sendProcessEvents(started.pid, 0, true, body.encoding, send, signal);
        });
      }),
      handle(PROCESS_LIST, async () => ({ items: processes.list() })),
      handle(PROCESS_STATUS, async (body) => processes.get(body.pid).info()),
      handle(PROCESS_OUTPUT, async (query) => {
        const decoder = new OutputDecoder();
        const output: ProcessOutput = { process: processes.get(query.pid).info(), chunks: [], missed_bytes: 0 };
        for await (const event of processes.follow(query.pid, query.after ?? 0, false)) {
          if (event.kind === "dropped") output.missed_bytes = event.bytes;
          if (event.kind === "exit") output.process = event.info;
          if (event.kind !== "output") continue;
          output.chunks.push({ seq: event.chunk.seq, stream: event.chunk.stream, data: decoder.text(event.chunk) });
        }
        return output;
      }),
      handle(PROCESS_STDIN, async (body) => {
        processes.get(body.pid).writeStdin(Buffer.from(body.data, body.encoding === "base64" ? "base64" : "utf8"));
        return ok;
      }),
      handle(PROCESS_CLOSE_STDIN, async (body) => {
        processes.get(body.pid).closeStdin();
        return ok;
      }),
      handle(PROCESS_SIGNAL, async (body) => {
        processes.signal(body.pid, body.signal as NodeJS.Signals);
        return ok;
      }),
      handle(PROCESS_RESIZE, async (body) => {
        processes.resize(body.pid, body.cols, body.rows);
        return ok;
      }),
      handle(PROCESS_WAIT, async (body) => processes.wait(body.pid, (body.timeout ?? 30) * 1000)),
      handle(PROCESS_STREAM, async (query) => {
        processes.get(query.pid);
        return eventStreamResponse((send, signal) => sendProcessEvents(query.pid, query.after ?? 0, query.follow ?? true, query.encoding, send, signal));
      }),
    ],
    close: async () => processes.killAll(),
  };
};

export default createShellAgent;
