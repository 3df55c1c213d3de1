/**
 * The TypeScript SDK against a live `bay serve` (real HTTP), and once more
 * over the embedded transport. Every answer is checked at agent against the
 * server's own TypeBox schema, so a drift between SDK and server fails here.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { Bay, BayError, type ExecutionEvent } from "../../src/client/index.ts";
import { Bay as PackageBay } from "bay";
import { Cargo, CargoPage, Health, Profile, Sandbox, SandboxPage, StatusOk, StatusStopped } from "../../src/api/schemas.ts";
import { PythonContext, PythonExecResponse } from "../../plugins/python/schemas.ts";
import { ProcessInfo, ProcessOutput, ShellExecResponse } from "../../plugins/shell/schemas.ts";
import { DirectoryEntry, FileInfo, UploadResult } from "../../plugins/filesystem/schemas.ts";
import { useServeProcess } from "../helpers/serve-process.ts";
import { useTestBay } from "../helpers/test-bay.ts";

setDefaultTimeout(120_000);

const API_KEY = "sdk-test-key-0123456789abcdef";
const server = useServeProcess({ BAY_API_KEY: API_KEY });
let bay: Bay;

beforeAll(() => {
  bay = new Bay({ url: server.url, apiKey: API_KEY });
});

/** Asserts that `value` matches the server's schema, listing every mismatch on failure. */
function expectSchema(schema: TSchema, value: unknown): void {
  const mismatches = [...Value.Errors(schema, value)].map((error) => `${error.path || "/"}: ${error.message}`);
  expect({ value, mismatches }).toEqual({ value, mismatches: [] });
}

/** Awaits `promise`, which must reject with a BayError, and returns that error. */
async function rejectionOf(promise: Promise<unknown>): Promise<BayError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof BayError) return error;
    throw error;
  }
  throw new Error("expected a BayError");
}

async function sandboxCount(client: Bay): Promise<number> {
  return (await client.sandboxes.list({ limit: 200 })).items.length;
}

interface TimedEvent {
  event: ExecutionEvent<unknown>;
  at: number;
}

/** Drains an SDK event stream, noting when each event arrived. */
async function collect(events: AsyncGenerator<ExecutionEvent<unknown>>): Promise<TimedEvent[]> {
  const startedAt = performance.now();
  const seen: TimedEvent[] = [];
  for await (const event of events) seen.push({ event, at: performance.now() - startedAt });
  return seen;
}

const textOf = (timed: TimedEvent) => (timed.event.data as { text?: string }).text ?? "";


/**
 * "first" was printed, then 1.5 s later "second": the first stdout event
 * must have arrived well before the second, and the stream ends with done.
 */
function expectLiveOutputThenDone(events: Awaited<ReturnType<typeof collect>>) {
  const first = events.find((timed) => timed.event.event === "stdout" && textOf(timed).includes("first"));
  const second = events.find((timed) => timed.event.event === "stdout" && textOf(timed).includes("second"));
  expect(first).toBeDefined();
  expect(second).toBeDefined();
  expect(second!.at - first!.at).toBeGreaterThan(1000);
  const done = events.at(-1)!.event;
  expect(done.event).toBe("done");
  return done as Extract<typeof done, { event: "done" }>;
}

describe("every SDK method against a live daemon", () => {
  let sandboxId: string;

  test("health and profiles", async () => {
    const health = await bay.health();
    expectSchema(Health, health);
    expect(health.status).toBe("ok");

    const profiles = await bay.profiles();
    expect(profiles.items.length).toBeGreaterThan(0);
    for (const profile of profiles.items) expectSchema(Profile, profile);
  });

  test("sandboxes: create, list, get, keepalive, extendTtl", async () => {
    const created = await bay.sandboxes.create({ ttl: 600 });
    expectSchema(Sandbox, created);
    sandboxId = created.id;

    const page = await bay.sandboxes.list();
    expectSchema(SandboxPage, page);
    expect(page.items.map((sandbox) => sandbox.id)).toContain(sandboxId);

    const fetched = await bay.sandboxes.get(sandboxId);
    expectSchema(Sandbox, fetched);
    expect(fetched.id).toBe(sandboxId);

    expectSchema(StatusOk, await bay.sandboxes.keepalive(sandboxId));

    const extended = await bay.sandboxes.extendTtl(sandboxId, 600);
    expectSchema(Sandbox, extended);
    expect(Date.parse(extended.expires_at!)).toBeGreaterThan(Date.parse(created.expires_at!));
  });

  test("python.exec and shell.exec", async () => {
    const python = await bay.python.exec(sandboxId, { code: "x = 6\nprint(x * 7)" });
    expectSchema(PythonExecResponse, python);
    expect(python).toMatchObject({ success: true, output: "42\n", error: null });

    const failed = await bay.python.exec(sandboxId, { code: "1/0" });
    expectSchema(PythonExecResponse, failed);
    expect(failed.success).toBe(false);

    const shell = await bay.shell.exec(sandboxId, { command: "echo out; echo err >&2; exit 3" });
    expectSchema(ShellExecResponse, shell);
    expect(shell).toMatchObject({ success: false, output: "out\n", error: "err\n", exit_code: 3 });
  });

  test("python contexts: create, exec in one, list, restart, delete", async () => {
    const context = await bay.python.contexts.create(sandboxId, { cwd: "ctx" });
    expectSchema(PythonContext, context);
    await bay.python.exec(sandboxId, { code: "inside = 1", context_id: context.id });
    expect((await bay.python.exec(sandboxId, { code: "print('inside' in globals())" })).output).toBe("False\n");
    expect((await bay.python.exec(sandboxId, { code: "print(inside)", context_id: context.id })).output).toBe("1\n");
    expect((await bay.python.contexts.list(sandboxId)).map((item) => item.id)).toEqual(["default", context.id]);
    await bay.python.contexts.restart(sandboxId, context.id);
    expect((await bay.python.exec(sandboxId, { code: "print('inside' in globals())", context_id: context.id })).output).toBe("False\n");
    await bay.python.contexts.delete(sandboxId, context.id);
    expect((await rejectionOf(bay.python.exec(sandboxId, { code: "1", context_id: context.id }))).code).toBe("not_found");
  });

  test("processes: start, stream, stdin, wait, list, get, output, signal, resize", async () => {
    const echo = await bay.processes.start(sandboxId, { command: "while read line; do echo \"<$line>\"; done", stdin: true });
    expectSchema(ProcessInfo, echo);
    await bay.processes.writeStdin(sandboxId, echo.pid, "one\n");
    await bay.processes.writeStdin(sandboxId, echo.pid, new TextEncoder().encode("two\n"));
    await bay.processes.closeStdin(sandboxId, echo.pid);
    const events = [];
    for await (const event of bay.processes.stream(sandboxId, echo.pid)) events.push(event);
    expect(events.filter((event) => event.event === "stdout").map((event) => (event.data as { data: string }).data).join("")).toBe("<one>\n<two>\n");
    expect(events.at(-1)).toMatchObject({ event: "exit", data: { pid: echo.pid, exit_code: 0 } });
    expectSchema(ProcessInfo, await bay.processes.wait(sandboxId, echo.pid));
    expectSchema(ProcessOutput, await bay.processes.output(sandboxId, echo.pid));

    const terminal = await bay.processes.start(sandboxId, { command: "sleep 300", pty: { cols: 80, rows: 24 } });
    await bay.processes.resize(sandboxId, terminal.pid, { cols: 100, rows: 30 });
    expect((await bay.processes.list(sandboxId)).map((process) => process.pid)).toEqual(expect.arrayContaining([echo.pid, terminal.pid]));
    await bay.processes.signal(sandboxId, terminal.pid, "SIGKILL");
    expect(await bay.processes.wait(sandboxId, terminal.pid)).toMatchObject({ running: false, exit_code: 137 });
    expect((await bay.processes.get(sandboxId, terminal.pid)).running).toBe(false);
    expect((await rejectionOf(bay.processes.get(sandboxId, 999_999))).code).toBe("not_found");
  });

  test("files: stat, makeDirectory, move, list to a depth, watch", async () => {
    expect(await bay.files.makeDirectory(sandboxId, "entries/deep/er")).toBe(true);
    expect(await bay.files.makeDirectory(sandboxId, "entries/deep/er")).toBe(false);
    await bay.files.write(sandboxId, "entries/a.txt", "a");
    const moved = await bay.files.move(sandboxId, "entries/a.txt", "entries/deep/b.txt");
    expectSchema(FileInfo, moved);
    expect(moved).toMatchObject({ path: "entries/deep/b.txt", type: "file", size: 1 });
    expectSchema(FileInfo, await bay.files.stat(sandboxId, "entries/deep"));
    expect((await bay.files.list(sandboxId, "entries", 3)).map((entry) => entry.path)).toEqual(["entries/deep", "entries/deep/b.txt", "entries/deep/er"]);
    const watch = bay.files.watch(sandboxId, "entries", { recursive: true });
    expect((await watch.next()).value).toEqual({ event: "ready", data: { path: "entries", recursive: true } });
    await bay.files.write(sandboxId, "entries/deep/c.txt", "c");
    let change = (await watch.next()).value;
    while (change && change.event !== "create") change = (await watch.next()).value;
    expect(change).toEqual({ event: "create", data: { path: "entries/deep/c.txt" } });
    await watch.return(undefined);
  });

  test("files: write, read, list, upload, download, delete", async () => {
    await bay.files.write(sandboxId, "notes/hello.txt", "héllo\n");
    expect(await bay.files.read(sandboxId, "notes/hello.txt")).toBe("héllo\n");

    const bytes = new Uint8Array([0, 1, 2, 0xfe, 0xff, 0x80, 10]);
    const uploaded = await bay.files.upload(sandboxId, "data/blob.bin", bytes);
    expectSchema(UploadResult, uploaded);
    expect(uploaded.size).toBe(bytes.length);
    expect(await bay.files.download(sandboxId, "data/blob.bin")).toEqual(bytes);

    const root = await bay.files.list(sandboxId);
    for (const entry of root) expectSchema(DirectoryEntry, entry);
    expect(root.map((entry) => entry.name).sort()).toEqual(expect.arrayContaining(["data", "notes"]));
    const notes = await bay.files.list(sandboxId, "notes");
    expect(notes.map((entry) => [entry.name, entry.is_file, entry.size])).toEqual([["hello.txt", true, 7]]);

    await bay.files.delete(sandboxId, "notes/hello.txt");
    expect(await bay.files.list(sandboxId, "notes")).toEqual([]);
    const gone = await rejectionOf(bay.files.read(sandboxId, "notes/hello.txt"));
    expect(gone.code).toBe("file_not_found");
  });

  test("sandboxes: stop, then delete", async () => {
    expectSchema(StatusStopped, await bay.sandboxes.stop(sandboxId));
    // Stopped compute, kept cargo: the sandbox is idle until its next call.
    expect((await bay.sandboxes.get(sandboxId)).status).toBe("idle");

    expect(await bay.sandboxes.delete(sandboxId)).toBeUndefined();
    expect((await rejectionOf(bay.sandboxes.get(sandboxId))).code).toBe("not_found");
  });

  test("cargos: create, list, get, delete", async () => {
    const created = await bay.cargos.create({ size_limit_mb: 64 });
    expectSchema(Cargo, created);
    expect(created).toMatchObject({ managed: false, size_limit_mb: 64 });

    const page = await bay.cargos.list();
    expectSchema(CargoPage, page);
    expect(page.items.map((cargo) => cargo.id)).toContain(created.id);

    const fetched = await bay.cargos.get(created.id);
    expectSchema(Cargo, fetched);
    expect(fetched.id).toBe(created.id);

    expect(await bay.cargos.delete(created.id)).toBeUndefined();
    expect((await rejectionOf(bay.cargos.get(created.id))).code).toBe("not_found");
  });

  test("admin.runGc", async () => {
    const report = await bay.admin.runGc();
    expect(Array.isArray(report.results)).toBe(true);
    for (const result of report.results) {
      expect(typeof result.task_name).toBe("string");
      expect(Number.isInteger(result.cleaned_count)).toBe(true);
      expect(Array.isArray(result.errors)).toBe(true);
    }
    expect(Number.isInteger(report.total_cleaned)).toBe(true);
    expect(Number.isInteger(report.duration_ms)).toBe(true);
  });
});

describe("errors are BayError with the server's code, status and request id", () => {
  test("an unknown sandbox is not_found (404) with details.request_id", async () => {
    const error = await rejectionOf(bay.sandboxes.get("sandbox-000000000000"));
    expect(error).toBeInstanceOf(BayError);
    expect({ code: error.code, status: error.status }).toEqual({ code: "not_found", status: 404 });
    expect(error.details.request_id).toEqual(expect.any(String));
    expect(String(error.details.request_id).length).toBeGreaterThan(0);
  });

  test("a wrong API key is unauthorized (401)", async () => {
    const stranger = new Bay({ url: server.url, apiKey: "not-the-key-0123456789abcdef" });
    const error = await rejectionOf(stranger.sandboxes.list());
    expect({ code: error.code, status: error.status }).toEqual({ code: "unauthorized", status: 401 });
    expect(error.details.request_id).toEqual(expect.any(String));
  });
});

describe("streaming as async iterators", () => {
  let sandboxId: string;

  beforeAll(async () => {
    sandboxId = (await bay.sandboxes.create()).id;
    // Start compute first, so the streams below time the code, not a cold start.
    await bay.shell.exec(sandboxId, { command: "true" });
  });

  afterAll(async () => {
    await bay.sandboxes.delete(sandboxId);
  });

  test("python.stream: the first print arrives while the code still runs; the last event is done", async () => {
    const events = await collect(
      bay.python.stream(sandboxId, { code: "import time\nprint('first', flush=True)\ntime.sleep(1.5)\nprint('second')" }),
    );
    const done = expectLiveOutputThenDone(events);
    expectSchema(PythonExecResponse, done.data);
    expect(done.data).toMatchObject({ success: true, output: "first\nsecond\n" });
  });

  test("shell.stream: the same, with the shell's answer in done", async () => {
    const events = await collect(bay.shell.stream(sandboxId, { command: "echo first; sleep 1.5; echo second" }));
    const done = expectLiveOutputThenDone(events);
    expectSchema(ShellExecResponse, done.data);
    expect(done.data).toMatchObject({ success: true, output: "first\nsecond\n", exit_code: 0 });
  });
});

describe("create is retried under one Idempotency-Key", () => {
  /** A transport over the real fetch that spoils the first attempt after the server has processed it. */
  function flakyTransport(spoil: (response: Response) => Response | never) {
    const attempts: { key: string | null; status: number; body: any }[] = [];
    const transport = async (request: Request): Promise<Response> => {
      const key = request.headers.get("idempotency-key");
      const response = await fetch(request);
      const body = await response.clone().json().catch(() => null);
      attempts.push({ key, status: response.status, body });
      return attempts.length === 1 ? spoil(response) : response;
    };
    return { attempts, transport };
  }

  test("a network error after the server created the sandbox: the retry replays it, and only one exists", async () => {
    const { attempts, transport } = flakyTransport(() => {
      throw new TypeError("socket hang up (simulated, after the server answered)");
    });
    const client = new Bay({ url: server.url, apiKey: API_KEY, fetch: transport });
    const before = await sandboxCount(bay);

    const sandbox = await client.sandboxes.create({ ttl: 300 });
    expectSchema(Sandbox, sandbox);
    expect(attempts.length).toBe(2);
    expect(attempts[0]!.key).toBeTruthy();
    expect(attempts[1]!.key).toBe(attempts[0]!.key);
    expect(attempts[0]!.status).toBe(201);
    expect(sandbox.id).toBe(attempts[0]!.body.id);
    expect(await sandboxCount(bay)).toBe(before + 1);

    await bay.sandboxes.delete(sandbox.id);
  });

  test("a first attempt answered 503 is retried, and only one sandbox exists", async () => {
    const { attempts, transport } = flakyTransport(
      () =>
        Response.json(
          { error: { code: "driver_unavailable", message: "engine briefly away (simulated)", request_id: "req-simulated", details: {} } },
          { status: 503 },
        ),
    );
    const client = new Bay({ url: server.url, apiKey: API_KEY, fetch: transport });
    const before = await sandboxCount(bay);

    const sandbox = await client.sandboxes.create();
    expectSchema(Sandbox, sandbox);
    expect(attempts.length).toBe(2);
    expect(attempts[1]!.key).toBe(attempts[0]!.key);
    expect(sandbox.id).toBe(attempts[0]!.body.id);
    expect(await sandboxCount(bay)).toBe(before + 1);

    await bay.sandboxes.delete(sandbox.id);
  });
});

describe("the package's own name", () => {
  test('import { Bay } from "bay" is the SDK and talks to the daemon', async () => {
    expect(PackageBay).toBe(Bay);
    const client = new PackageBay({ url: server.url, apiKey: API_KEY });
    expectSchema(Health, await client.health());
    expectSchema(SandboxPage, await client.sandboxes.list());
  });
});

describe("the SDK over the embedded transport", () => {
  const testBay = useTestBay();
  let embedded: Bay;

  beforeAll(() => {
    const apiKey = testBay.config.security.api_keys[0]!.key!;
    embedded = new Bay({ apiKey, fetch: (request) => testBay.app.handle(request) });
  });

  test("the same calls work through app.handle", async () => {
    expectSchema(Health, await embedded.health());

    const sandbox = await embedded.sandboxes.create();
    expectSchema(Sandbox, sandbox);
    expectSchema(SandboxPage, await embedded.sandboxes.list());

    const python = await embedded.python.exec(sandbox.id, { code: "print(6 * 7)" });
    expectSchema(PythonExecResponse, python);
    expect(python.output).toBe("42\n");

    const events = await collect(embedded.shell.stream(sandbox.id, { command: "echo streamed" }));
    expect(events.map((timed) => timed.event.event)).toEqual(["stdout", "done"]);
    expectSchema(ShellExecResponse, events.at(-1)!.event.data);

    await embedded.files.write(sandbox.id, "a.txt", "embedded");
    expect(await embedded.files.read(sandbox.id, "a.txt")).toBe("embedded");
    expectSchema(UploadResult, await embedded.files.upload(sandbox.id, "b.bin", new Uint8Array([1, 2, 3])));
    expect(await embedded.files.download(sandbox.id, "b.bin")).toEqual(new Uint8Array([1, 2, 3]));

    await embedded.sandboxes.delete(sandbox.id);
    const error = await rejectionOf(embedded.sandboxes.get(sandbox.id));
    expect({ code: error.code, status: error.status }).toEqual({ code: "not_found", status: 404 });
    expect(error.details.request_id).toEqual(expect.any(String));
  });
});
