import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { executeAsEventStream } from "../../src/api/execution-proxy.ts";
import { BayError } from "../../src/shared/errors.ts";
import type { SandboxService } from "../../src/core/sandbox-service.ts";
import { MAX_AGENT_ERROR_BYTES, AgentClient } from "../../src/core/agent-client.ts";
import { PYTHON_EXEC } from "../../plugins/python/routes.ts";
import { READ_FILE } from "../../plugins/filesystem/routes.ts";
import { MAX_EVENT_BYTES, parseEventStream, type StreamEvent } from "../../src/shared/sse.ts";
import type { SessionRow } from "../../src/db/schema.ts";

// What Bay reads from an agent (issue 11, item 2): the agent shares a
// machine with user code, which may kill it and answer in its place. Fake
// agents here answer what such code would: endless bodies, endless lines, a
// stream faster than the client reads, and a socket path that is a symlink.
setDefaultTimeout(120_000);

const TOKEN = "agent-token-0123456789";
/** Far beyond what a bounded read needs; reaching it means Bay waited for the endless body. */
const CALL_TIMEOUT_MS = 60_000;

const servers: { stop(force?: boolean): unknown }[] = [];
const directories: string[] = [];
afterAll(() => {
  for (const server of servers) server.stop(true);
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

/** A body that never ends; `sent` counts what the fake agent managed to hand over, `cancelled` says Bay let go. */
function endless(piece: string, prefix = "") {
  const chunk = new TextEncoder().encode(piece.repeat(Math.max(1, Math.floor(65_536 / piece.length))));
  const state = { sent: 0, cancelled: false };
  let started = false;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const bytes = !started && prefix ? new TextEncoder().encode(prefix) : chunk;
        started = true;
        controller.enqueue(bytes);
        state.sent += bytes.byteLength;
      },
      cancel() {
        state.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, state };
}

function fakeAgent(answer: (request: Request) => Response): AgentClient {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", idleTimeout: 0, fetch: answer });
  servers.push(server);
  return new AgentClient(`http://127.0.0.1:${server.port}`, TOKEN);
}

async function thrown(call: Promise<unknown>): Promise<BayError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof BayError) return error;
    throw error;
  }
  throw new Error("the call succeeded");
}

/** Waits (within a generous bound) until `condition` holds. */
async function eventually(condition: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await Bun.sleep(20);
  }
}

describe("error bodies", () => {
  test("an endless error body ends in ship_error after a bounded read, not in a wait for its end", async () => {
    const body = endless('{"error":');
    const agent = fakeAgent(() => new Response(body.stream, { status: 500, headers: { "content-type": "application/json" } }));
    const error = await thrown(agent.call(PYTHON_EXEC, { code: "1" }, { timeoutMs: CALL_TIMEOUT_MS }));
    expect({ code: error.code, runtime_status: error.details.runtime_status }).toEqual({ code: "ship_error", runtime_status: 500 });
    expect(error.message).toContain(`over ${MAX_AGENT_ERROR_BYTES} bytes`);
    // Bay let go of the body: the agent was not made to send it for ever.
    await eventually(() => body.state.cancelled, "cancelling the error body");
  });

  test("a small error envelope still passes through (caller mistakes keep their code)", async () => {
    const agent = fakeAgent(() =>
      Response.json({ error: { code: "file_not_found", message: "a.txt does not exist", details: { path: "a.txt" } } }, { status: 404 }),
    );
    const error = await thrown(agent.call(READ_FILE, { path: "a.txt" }, { timeoutMs: CALL_TIMEOUT_MS }));
    expect({ code: error.code, details: error.details }).toEqual({ code: "file_not_found", details: { path: "a.txt" } });
  });
});

// ---------------------------------------------------------------------------
// The SSE relay, over a fake agent
// ---------------------------------------------------------------------------

/** Just enough of a SandboxService for the relay: every call goes to `agent`. */
function serviceFor(agent: AgentClient): SandboxService {
  const session = { id: "session-fake" } as SessionRow;
  return {
    streamFromAgent: async (_owner: string, _id: string, _capability: string, open: (client: AgentClient, row: SessionRow) => Promise<Response>) =>
      open(agent, session),
  } as unknown as SandboxService;
}

function relay(agent: AgentClient): Promise<Response> {
  return executeAsEventStream({
    sandboxes: serviceFor(agent),
    owner: "alice",
    sandboxId: "sandbox-000000000000",
    capability: "python",
    route: PYTHON_EXEC,
    body: { code: "print(1)", timeout: 30 },
    responseHeaders: {},
  });
}

async function eventsOf(response: Response): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const event of parseEventStream(response.body!)) events.push(event);
  return events;
}

describe("the event stream relay", () => {
  test("an endless line from the agent ends the stream with a ship_error event, not an endless buffer", async () => {
    const body = endless("x", "event: stdout\ndata: ");
    const agent = fakeAgent(() => new Response(body.stream, { headers: { "content-type": "text/event-stream" } }));
    const events = await eventsOf(await relay(agent));
    expect(events.map((event) => event.event)).toEqual(["error"]);
    expect(events[0]!.data).toMatchObject({ code: "ship_error" });
    expect(body.state.sent).toBeGreaterThan(MAX_EVENT_BYTES);
    await eventually(() => body.state.cancelled, "cancelling the endless stream");
  });

  test("a client that does not read holds the agent back: what the agent sends stays bounded", async () => {
    const event = `event: stdout\ndata: ${JSON.stringify({ text: "y".repeat(1_000) })}\n\n`;
    const body = endless(event);
    const agent = fakeAgent(() => new Response(body.stream, { headers: { "content-type": "text/event-stream" } }));
    const response = await relay(agent);
    const reader = response.body!.getReader();
    await reader.read();
    // The client now stops reading. Without backpressure the relay would take all the agent sends, for ever.
    let last = -1;
    await eventually(
      () => {
        const settled = body.state.sent === last;
        last = body.state.sent;
        return settled;
      },
      "the agent being held back",
    );
    expect(body.state.sent).toBeLessThan(64 * 1024 * 1024);
    const heldAt = body.state.sent;
    // Reading on lets the agent go on (once the buffers between have drained).
    for (let reads = 0; body.state.sent === heldAt && reads < 1_000_000; reads += 1) await reader.read();
    expect(body.state.sent).toBeGreaterThan(heldAt);
    await reader.cancel();
    await eventually(() => body.state.cancelled, "cancelling the agent's stream when the client leaves");
  });
});

// ---------------------------------------------------------------------------
// Unix socket paths (profile network: none)
// ---------------------------------------------------------------------------

describe("the agent's unix socket", () => {
  /** A socket that stands for something else on the host; it counts who reached it. */
  function hostSocket(directory: string) {
    const path = join(directory, "host.sock");
    const reached = { count: 0 };
    servers.push(
      Bun.serve({
        unix: path,
        fetch: () => {
          reached.count += 1;
          return Response.json({ runtime: { name: "impostor" } });
        },
      } as unknown as Parameters<typeof Bun.serve>[0]),
    );
    return { path, reached };
  }

  function scratch(): string {
    const directory = mkdtempSync(join(tmpdir(), "bay-agent-sock-"));
    directories.push(directory);
    return directory;
  }

  test("a genuine socket is used", async () => {
    const directory = scratch();
    const host = hostSocket(directory);
    const agent = new AgentClient(`unix://${host.path}`, TOKEN);
    expect(await agent.get("/meta", { timeoutMs: CALL_TIMEOUT_MS })).toEqual({ runtime: { name: "impostor" } });
    expect(host.reached.count).toBe(1);
  });

  test("a socket path that is a symlink is refused with ship_error, and what it points to is never reached", async () => {
    const directory = scratch();
    const host = hostSocket(directory);
    const agentPath = join(directory, "agent.sock");
    symlinkSync(host.path, agentPath);
    const agent = new AgentClient(`unix://${agentPath}`, TOKEN);
    const error = await thrown(agent.get("/meta", { timeoutMs: CALL_TIMEOUT_MS }));
    expect({ code: error.code, reached: error.details.reached }).toEqual({ code: "ship_error", reached: false });
    expect(await agent.health(5_000)).toBe(false);
    expect(host.reached.count).toBe(0);
  });
});

describe("what Bay says when an agent fails", () => {
  test("a silent agent, a dropped connection and a garbled answer are described without the agent's internal routes", async () => {
    const silent = fakeAgent(() => new Response(new ReadableStream({ pull: () => new Promise(() => undefined) })));
    // Reads the request, then closes without a word, as an agent killed mid-call would.
    const dropper = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: (socket) => void socket.end() } });
    servers.push(dropper);
    const dropping = new AgentClient(`http://127.0.0.1:${dropper.port}`, TOKEN);
    const garbled = fakeAgent(() => new Response("not json", { headers: { "content-type": "application/json" } }));
    const failures = [
      await thrown(silent.call(PYTHON_EXEC, { code: "1" }, { timeoutMs: 500 })),
      await thrown(dropping.call(PYTHON_EXEC, { code: "1" }, { timeoutMs: CALL_TIMEOUT_MS })),
      await thrown(garbled.call(PYTHON_EXEC, { code: "1" }, { timeoutMs: CALL_TIMEOUT_MS })),
    ];
    for (const failure of failures) {
      expect(failure.message).not.toContain("/ipython");
      expect(failure.message).toContain("the sandbox's agent");
      expect(failure.details.runtime_route).toBe("POST /ipython/exec");
    }
    expect(failures.map((failure) => failure.code)).toEqual(["timeout", "ship_error", "ship_error"]);
  });
});
