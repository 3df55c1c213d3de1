import { parseEventStream } from "../../src/kit/front-door.ts";
import { SandboxCalls, sandboxPath, workspacePath } from "./bay-calls.ts";
import { ConnectError } from "./connect-protocol.ts";

/**
 * envd's process service (process.Process) on Bay's background processes:
 * Start and Connect stream a process's output as envd events, the unary
 * calls map one to one onto …/processes routes.
 */

interface ProcessInfo {
  pid: number;
  command: string;
  argv: string[] | null;
  cwd: string;
  tag: string | null;
  running: boolean;
  exit_code: number | null;
}

type Send = (message: object) => void;
type Selector = { pid?: number; tag?: string } | undefined;

const SIGNALS: Record<string, string> = { SIGNAL_SIGKILL: "SIGKILL", SIGNAL_SIGTERM: "SIGTERM" };

/** Start: the process, then its output as it comes, then its end; one followed start on Bay's side. */
export async function startProcess(calls: SandboxCalls, request: Record<string, unknown>, timeoutMs: number, send: Send, signal: AbortSignal) {
  const config = (request.process ?? {}) as { cmd?: string; args?: string[]; envs?: Record<string, string>; cwd?: string };
  if (!config.cmd) throw new ConnectError("invalid_argument", "process.cmd is required");
  const pty = (request.pty as { size?: { cols?: number; rows?: number } } | undefined)?.size;
  const stream = await calls.raw("POST", "/processes", {
    json: {
      argv: [config.cmd, ...(config.args ?? [])],
      cwd: config.cwd === undefined ? undefined : workspacePath(config.cwd),
      env: config.envs,
      stdin: request.stdin === true,
      pty: pty ? { cols: pty.cols || 80, rows: pty.rows || 24 } : undefined,
      timeout: Math.ceil(timeoutMs / 1000),
      tag: typeof request.tag === "string" ? request.tag : undefined,
      encoding: "base64",
    },
    headers: { accept: "text/event-stream" },
  });
  await relayEvents(stream, send, signal);
}

/** Connect: the same events for a process already running, from now on. */
export async function connectProcess(calls: SandboxCalls, request: Record<string, unknown>, send: Send, signal: AbortSignal) {
  const pid = await pidOf(calls, request.process as Selector);
  // A seq counts output bytes: the process's output so far is where "from now on" begins.
  const { output_bytes: now } = await calls.json<{ output_bytes: number }>("GET", `/processes/status?pid=${pid}`);
  send({ event: { start: { pid } } });
  await relayEvents(await calls.raw("GET", `/processes/stream?pid=${pid}&after=${now}&encoding=base64`), send, signal);
}

export async function listProcesses(calls: SandboxCalls) {
  const { items } = await calls.json<{ items: ProcessInfo[] }>("GET", "/processes");
  return {
    processes: items
      .filter((item) => item.running)
      .map((item) => ({
        pid: item.pid,
        config: { ...(item.argv ? { cmd: item.argv[0]!, args: item.argv.slice(1) } : { cmd: "/bin/bash", args: ["-c", item.command] }), envs: {}, cwd: sandboxPath(item.cwd) },
        ...(item.tag ? { tag: item.tag } : {}),
      })),
  };
}

export async function sendInput(calls: SandboxCalls, request: Record<string, unknown>) {
  const pid = await pidOf(calls, request.process as Selector);
  const input = (request.input ?? {}) as { stdin?: string; pty?: string };
  await calls.json("POST", "/processes/stdin", { json: { pid, data: input.stdin ?? input.pty ?? "", encoding: "base64" } });
  return {};
}

export async function sendSignal(calls: SandboxCalls, request: Record<string, unknown>) {
  const pid = await pidOf(calls, request.process as Selector);
  const signal = SIGNALS[String(request.signal)];
  if (!signal) throw new ConnectError("invalid_argument", `signal ${String(request.signal)} is not one of ${Object.keys(SIGNALS).join(", ")}`);
  try {
    await calls.json("POST", "/processes/signal", { json: { pid, signal } });
  } catch (error) {
    // A process that has exited is no longer there to signal, as envd says it.
    if ((error as { code?: string }).code === "conflict") throw new ConnectError("not_found", `process ${pid} has exited`, 404);
    throw error;
  }
  return {};
}

export async function closeStdin(calls: SandboxCalls, request: Record<string, unknown>) {
  const pid = await pidOf(calls, request.process as Selector);
  await calls.json("POST", "/processes/close-stdin", { json: { pid } });
  return {};
}

export async function updateProcess(calls: SandboxCalls, request: Record<string, unknown>) {
  const pid = await pidOf(calls, request.process as Selector);
  const size = (request.pty as { size?: { cols?: number; rows?: number } } | undefined)?.size;
  if (size) await calls.json("POST", "/processes/resize", { json: { pid, cols: size.cols || 80, rows: size.rows || 24 } });
  return {};
}

/** Bay's event stream of a process (base64 output) as envd events, ending with `end`. */
async function relayEvents(stream: Response, send: Send, signal: AbortSignal) {
  for await (const event of parseEventStream(stream.body!, { signal })) {
    if (event.event === "start") {
      send({ event: { start: { pid: (event.data as ProcessInfo).pid } } });
    } else if (event.event === "stdout" || event.event === "stderr" || event.event === "pty") {
      send({ event: { data: { [event.event]: (event.data as { data: string }).data } } });
    } else if (event.event === "exit") {
      const exitCode = (event.data as ProcessInfo).exit_code ?? -1;
      send({ event: { end: { exitCode, exited: true, status: `exit status ${exitCode}`, ...(exitCode === 0 ? {} : { error: `exit status ${exitCode}` }) } } });
      return;
    }
  }
  // The sandbox's session ended under the stream (a stop, a crash): the process went with it.
  if (!signal.aborted) throw new ConnectError("unavailable", "the process's output stream ended before its exit (the sandbox's session ended)", 503);
}

async function pidOf(calls: SandboxCalls, selector: Selector): Promise<number> {
  if (selector?.pid) return selector.pid;
  if (selector?.tag) {
    const { items } = await calls.json<{ items: ProcessInfo[] }>("GET", "/processes");
    const tagged = items.find((item) => item.running && item.tag === selector.tag);
    if (!tagged) throw new ConnectError("not_found", `no running process is tagged ${selector.tag}`, 404);
    return tagged.pid;
  }
  throw new ConnectError("invalid_argument", "process.pid or process.tag is required");
}
