import { BayError, type ErrorCode } from "../shared/errors.ts";
import { parseEventStream } from "../shared/sse.ts";
import { operationUrl, type SandboxOperation } from "../shared/sandbox-operation.ts";
import type { Static, TSchema } from "@sinclair/typebox";
import {
  DELETE_FILE_OPERATION,
  FILE_INFO_OPERATION,
  LIST_DIRECTORY_OPERATION,
  MAKE_DIRECTORY_OPERATION,
  MOVE_OPERATION,
  READ_FILE_OPERATION,
  WRITE_FILE_OPERATION,
} from "../../plugins/filesystem/operations.ts";
import {
  CONTEXT_CREATE_OPERATION,
  CONTEXT_DELETE_OPERATION,
  CONTEXT_LIST_OPERATION,
  CONTEXT_RESTART_OPERATION,
  PYTHON_EXEC_OPERATION,
} from "../../plugins/python/operations.ts";
import {
  PROCESS_CLOSE_STDIN_OPERATION,
  PROCESS_GET_OPERATION,
  PROCESS_LIST_OPERATION,
  PROCESS_OUTPUT_OPERATION,
  PROCESS_RESIZE_OPERATION,
  PROCESS_SIGNAL_OPERATION,
  PROCESS_START_OPERATION,
  PROCESS_STDIN_OPERATION,
  PROCESS_WAIT_OPERATION,
  SHELL_EXEC_OPERATION,
} from "../../plugins/shell/operations.ts";
import type {
  Cargo,
  CargoPage,
  CreateCargoInput,
  CreateSandboxInput,
  DirectoryEntry,
  ErrorBody,
  ExecutionEvent,
  FileInfo,
  WatchEvent,
  GcReport,
  AdminOverview,
  Health,
  ListCargosInput,
  ListSandboxesInput,
  Profile,
  ProcessEvent,
  ProcessRunEvent,
  ProcessInfo,
  ProcessOutput,
  ProcessSignal,
  ProcessStartInput,
  ProcessStreamInput,
  PythonContext,
  PythonExecInput,
  PythonExecResult,
  Sandbox,
  SandboxPage,
  ShellExecInput,
  ShellExecResult,
  UploadResult,
} from "./types.ts";

export interface BayOptions {
  /** Base URL of a Bay daemon, e.g. http://127.0.0.1:8114. */
  url?: string;
  apiKey?: string;
  /** Another transport: `bay exec` passes the embedded app's handler here. */
  fetch?: (request: Request) => Promise<Response>;
  /** Attempts for requests that are safe to repeat (creates carry an Idempotency-Key). Default 3. */
  attempts?: number;
}

/** Statuses worth another try: the agent or engine may come back. */
const RETRYABLE_STATUSES = new Set([502, 503, 504]);

interface CallOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Repeat on network errors and 502/503/504: only for calls that are idempotent. */
  retry?: boolean;
  signal?: AbortSignal;
}

/** Per call: an AbortSignal that gives the call up (a streamed execution's end interrupts the code in the sandbox). */
export interface CallControl {
  signal?: AbortSignal;
}

/**
 * The typed client of the Bay API (the SDK): what the CLI, `bay exec` and
 * `bay mcp` use. Errors are BayError with the server's code, status and
 * details (details.request_id names the request).
 */
export class Bay {
  private readonly base: string;
  private readonly send: (request: Request) => Promise<Response>;
  private readonly attempts: number;

  constructor(private readonly options: BayOptions = {}) {
    this.base = (options.url ?? "http://bay.local").replace(/\/+$/, "");
    this.send = options.fetch ?? ((request) => fetch(request));
    this.attempts = options.attempts ?? 3;
  }

  health(): Promise<Health> {
    return this.json("GET", "/health");
  }

  profiles(): Promise<{ items: Profile[] }> {
    return this.json("GET", "/v1/profiles");
  }

  readonly sandboxes = {
    /** Retried safely: every attempt carries the same Idempotency-Key. */
    create: (input: CreateSandboxInput = {}, idempotencyKey: string = newIdempotencyKey()): Promise<Sandbox> =>
      this.json("POST", "/v1/sandboxes", { body: input, headers: { "idempotency-key": idempotencyKey }, retry: true }),
    list: (input: Partial<ListSandboxesInput> = {}): Promise<SandboxPage> =>
      this.json("GET", "/v1/sandboxes", { query: input, retry: true }),
    /** Every page, following cursors. */
    listAll: (input: Omit<Partial<ListSandboxesInput>, "cursor"> = {}): Promise<Sandbox[]> =>
      allPages((cursor) => this.sandboxes.list({ limit: 200, ...input, cursor })),
    get: (id: string): Promise<Sandbox> => this.json("GET", `/v1/sandboxes/${encodeURIComponent(id)}`, { retry: true }),
    keepalive: (id: string): Promise<{ status: "ok" }> => this.json("POST", `/v1/sandboxes/${encodeURIComponent(id)}/keepalive`, { retry: true }),
    extendTtl: (id: string, extendBy: number, idempotencyKey: string = newIdempotencyKey()): Promise<Sandbox> =>
      this.json("POST", `/v1/sandboxes/${encodeURIComponent(id)}/extend_ttl`, {
        body: { extend_by: extendBy },
        headers: { "idempotency-key": idempotencyKey },
        retry: true,
      }),
    stop: (id: string): Promise<{ status: "stopped" }> => this.json("POST", `/v1/sandboxes/${encodeURIComponent(id)}/stop`, { retry: true }),
    /** With `wait: false`, returns once the sandbox is deleted, while Bay removes its container and managed cargo (Prefer: respond-async). */
    delete: async (id: string, options: { wait?: boolean } = {}): Promise<void> => {
      const headers = options.wait === false ? { prefer: "respond-async" } : undefined;
      await this.call("DELETE", `/v1/sandboxes/${encodeURIComponent(id)}`, { retry: true, headers });
    },
  };

  readonly cargos = {
    create: (input: CreateCargoInput = {}, idempotencyKey: string = newIdempotencyKey()): Promise<Cargo> =>
      this.json("POST", "/v1/cargos", { body: input, headers: { "idempotency-key": idempotencyKey }, retry: true }),
    list: (input: Partial<ListCargosInput> = {}): Promise<CargoPage> => this.json("GET", "/v1/cargos", { query: input, retry: true }),
    listAll: (input: Omit<Partial<ListCargosInput>, "cursor"> = {}): Promise<Cargo[]> =>
      allPages((cursor) => this.cargos.list({ limit: 200, ...input, cursor })),
    get: (id: string): Promise<Cargo> => this.json("GET", `/v1/cargos/${encodeURIComponent(id)}`, { retry: true }),
    delete: async (id: string): Promise<void> => {
      await this.call("DELETE", `/v1/cargos/${encodeURIComponent(id)}`, { retry: true });
    },
  };

  /**
   * @internal The published SDK leaves this out: its operations are the plugins' declarations, which it does not carry.
   *
   * Runs any capability's operation on a sandbox (plugins/<name>/operations.ts
   * declares them): what the named helpers below do, for every capability,
   * including ones added after this client was written.
   */
  run<I extends TSchema, O extends TSchema>(
    operation: SandboxOperation<I, O>,
    sandboxId: string,
    input: Static<I>,
    control: CallControl = {},
  ): Promise<Static<O>> {
    const place = operation.inputIn === "query" ? { query: input as CallOptions["query"] } : { body: input };
    return this.json(operation.method, operationUrl(operation, sandboxId), { ...place, retry: operation.safeToRepeat, signal: control.signal });
  }

  /** @internal An operation that streams (operation.streams), as its events; the last is `done` with what `run` answers. */
  stream<I extends TSchema, O extends TSchema>(
    operation: SandboxOperation<I, O>,
    sandboxId: string,
    input: Static<I>,
    control: CallControl = {},
  ): AsyncGenerator<ExecutionEvent<Static<O>>> {
    return this.eventsOf<ExecutionEvent<Static<O>>>(operation.method, operationUrl(operation, sandboxId), { body: input, signal: control.signal });
  }

  readonly python = {
    exec: (id: string, input: PythonExecInput, control?: CallControl): Promise<PythonExecResult> => this.run(PYTHON_EXEC_OPERATION, id, input, control),
    /** Live output as it is produced; the last event is `done` with the same answer as exec. Aborting `control.signal` (or leaving the loop) interrupts the code. */
    stream: (id: string, input: PythonExecInput, control?: CallControl): AsyncGenerator<ExecutionEvent<PythonExecResult>> =>
      this.stream(PYTHON_EXEC_OPERATION, id, input, control),
    /** Independent kernels: pass a context's id as `context_id` to exec and stream. */
    contexts: {
      create: (id: string, input: { cwd?: string } = {}): Promise<PythonContext> => this.run(CONTEXT_CREATE_OPERATION, id, input),
      list: async (id: string): Promise<PythonContext[]> => (await this.run(CONTEXT_LIST_OPERATION, id, {})).items,
      restart: (id: string, contextId: string): Promise<PythonContext> => this.run(CONTEXT_RESTART_OPERATION, id, { id: contextId }),
      delete: async (id: string, contextId: string): Promise<void> => {
        await this.run(CONTEXT_DELETE_OPERATION, id, { id: contextId });
      },
    },
  };

  readonly shell = {
    exec: (id: string, input: ShellExecInput, control?: CallControl): Promise<ShellExecResult> => this.run(SHELL_EXEC_OPERATION, id, input, control),
    /** Aborting `control.signal` (or leaving the loop) kills the command's process group. */
    stream: (id: string, input: ShellExecInput, control?: CallControl): AsyncGenerator<ExecutionEvent<ShellExecResult>> =>
      this.stream(SHELL_EXEC_OPERATION, id, input, control),
  };

  /** Background processes and terminals: they run on after the call that started them, until they exit or the session ends. */
  readonly processes = {
    start: (id: string, input: ProcessStartInput): Promise<ProcessInfo> => this.run(PROCESS_START_OPERATION, id, input),
    /** Starts and follows in one call: `start` with the process, its output, then `exit`. Leaving the loop leaves the process running. */
    run: (id: string, input: ProcessStartInput): AsyncGenerator<ProcessRunEvent> =>
      this.eventsOf<ProcessRunEvent>("POST", operationUrl(PROCESS_START_OPERATION, id), { body: input }),
    list: async (id: string): Promise<ProcessInfo[]> => (await this.run(PROCESS_LIST_OPERATION, id, {})).items,
    get: (id: string, pid: number): Promise<ProcessInfo> => this.run(PROCESS_GET_OPERATION, id, { pid }),
    /** The output kept so far, after `after` (the last seq read). */
    output: (id: string, pid: number, after = 0): Promise<ProcessOutput> => this.run(PROCESS_OUTPUT_OPERATION, id, { pid, after }),
    writeStdin: async (id: string, pid: number, data: string | Uint8Array): Promise<void> => {
      const input = typeof data === "string" ? { pid, data } : { pid, data: base64Of(data), encoding: "base64" as const };
      await this.run(PROCESS_STDIN_OPERATION, id, input);
    },
    closeStdin: async (id: string, pid: number): Promise<void> => {
      await this.run(PROCESS_CLOSE_STDIN_OPERATION, id, { pid });
    },
    signal: async (id: string, pid: number, signal: ProcessSignal = "SIGTERM"): Promise<void> => {
      await this.run(PROCESS_SIGNAL_OPERATION, id, { pid, signal });
    },
    resize: async (id: string, pid: number, size: { cols: number; rows: number }): Promise<void> => {
      await this.run(PROCESS_RESIZE_OPERATION, id, { pid, ...size });
    },
    /** Waits up to `timeoutSeconds` (at most 300); the answer says whether it still runs. */
    wait: (id: string, pid: number, timeoutSeconds = 30): Promise<ProcessInfo> => this.run(PROCESS_WAIT_OPERATION, id, { pid, timeout: timeoutSeconds }),
    /** Kept output, then live output, then `exit`; resume a dropped stream with `after` set to the last seq received. */
    stream: (id: string, pid: number, input: ProcessStreamInput = {}): AsyncGenerator<ProcessEvent> =>
      this.eventsOf<ProcessEvent>("GET", `/v1/sandboxes/${encodeURIComponent(id)}/processes/stream`, { query: { pid, ...input } }),
  };

  readonly files = {
    read: async (id: string, path: string): Promise<string> => (await this.run(READ_FILE_OPERATION, id, { path })).content,
    write: async (id: string, path: string, content: string): Promise<void> => {
      await this.run(WRITE_FILE_OPERATION, id, { path, content });
    },
    /** `depth` 2 and more lists subdirectories' entries too. */
    list: async (id: string, path = ".", depth = 1): Promise<DirectoryEntry[]> => (await this.run(LIST_DIRECTORY_OPERATION, id, { path, depth })).entries,
    stat: (id: string, path: string): Promise<FileInfo> => this.run(FILE_INFO_OPERATION, id, { path }),
    /** Makes the directory and its parents; false when it existed. */
    makeDirectory: async (id: string, path: string): Promise<boolean> => (await this.run(MAKE_DIRECTORY_OPERATION, id, { path })).created,
    move: (id: string, source: string, destination: string): Promise<FileInfo> => this.run(MOVE_OPERATION, id, { source, destination }),
    /** `ready`, then `create`/`write`/`remove` events until the loop is left. */
    watch: (id: string, path = ".", options: { recursive?: boolean } = {}): AsyncGenerator<WatchEvent> =>
      this.eventsOf<WatchEvent>("GET", `/v1/sandboxes/${encodeURIComponent(id)}/filesystem/watch`, { query: { path, ...options } }),
    delete: async (id: string, path: string): Promise<void> => {
      await this.run(DELETE_FILE_OPERATION, id, { path });
    },
    upload: (id: string, path: string, bytes: Uint8Array | Blob): Promise<UploadResult> => {
      const form = new FormData();
      form.set("path", path);
      form.set("file", bytes instanceof Blob ? bytes : new Blob([bytes]), path.split("/").pop() ?? "file");
      return this.json("POST", `/v1/sandboxes/${encodeURIComponent(id)}/filesystem/upload`, { body: form, retry: true });
    },
    download: async (id: string, path: string): Promise<Uint8Array> => {
      const response = await this.call("GET", `/v1/sandboxes/${encodeURIComponent(id)}/filesystem/download`, { query: { path }, retry: true });
      return new Uint8Array(await response.arrayBuffer());
    },
  };

  readonly admin = {
    runGc: (): Promise<GcReport> => this.json("POST", "/v1/admin/gc/run"),
    /** Owners and their sandboxes by status, running sessions, warm pools, executions (admin keys only). */
    overview: (): Promise<AdminOverview> => this.json("GET", "/v1/admin/overview"),
  };

  private async json<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
    const response = await this.call(method, path, options);
    return (await response.json()) as T;
  }

  private async *eventsOf<Event>(method: string, path: string, options: Pick<CallOptions, "body" | "query" | "signal">): AsyncGenerator<Event> {
    const response = await this.call(method, path, { ...options, headers: { accept: "text/event-stream" } });
    if (!response.body) return;
    for await (const event of parseEventStream(response.body, { signal: options.signal })) yield event as Event;
    options.signal?.throwIfAborted();
  }

  private async call(method: string, path: string, options: CallOptions = {}): Promise<Response> {
    const attempts = options.retry ? this.attempts : 1;
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await this.send(this.request(method, path, options));
      } catch (error) {
        if (options.signal?.aborted) throw error;
        if (attempt < attempts) {
          await sleep(backoff(attempt));
          continue;
        }
        throw new BayError("driver_unavailable", `cannot reach Bay at ${this.base}: ${(error as Error).message}`, { url: this.base });
      }
      if (response.ok) return response;
      if (attempt < attempts && RETRYABLE_STATUSES.has(response.status)) {
        await response.body?.cancel();
        await sleep(retryAfterMs(response) ?? backoff(attempt));
        continue;
      }
      throw await errorOf(response);
    }
  }

  private request(method: string, path: string, options: CallOptions): Request {
    const url = new URL(`${this.base}${path}`);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { ...options.headers };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    let body: FormData | string | undefined;
    if (options.body instanceof FormData) body = options.body;
    else if (options.body !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    return new Request(url.toString(), { method, headers, body, signal: options.signal });
  }
}

async function allPages<T>(page: (cursor: string | undefined) => Promise<{ items: T[]; next_cursor: string | null }>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const next = await page(cursor);
    items.push(...next.items);
    cursor = next.next_cursor ?? undefined;
  } while (cursor);
  return items;
}

/**
 * A v4 UUID from the Web Crypto API, which Node.js, Bun and browsers share;
 * randomUUID itself is missing from browsers on plain-HTTP pages (the
 * dashboard on a LAN address), getRandomValues is not.
 */
function newIdempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Base64 without Node's Buffer, which browsers lack. */
function base64Of(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** setTimeout rather than Bun.sleep: the SDK is published for Node.js too. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function backoff(attempt: number): number {
  return Math.min(200 * 2 ** (attempt - 1), 2000);
}

function retryAfterMs(response: Response): number | undefined {
  const seconds = Number(response.headers.get("retry-after"));
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined;
}

async function errorOf(response: Response): Promise<BayError> {
  const text = await response.text().catch(() => "");
  try {
    const { error } = JSON.parse(text) as ErrorBody;
    return new BayError(error.code as ErrorCode, error.message, { ...error.details, request_id: error.request_id, status: response.status });
  } catch {
    return new BayError("internal_error", `Bay answered HTTP ${response.status}: ${text.slice(0, 200)}`, { status: response.status });
  }
}
