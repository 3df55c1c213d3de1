import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TEST_IMAGE } from "../helpers/env.ts";
import { readEvents } from "../helpers/event-stream.ts";
import { removeInstanceObjects } from "../helpers/docker.ts";
import { startServeProcess, type ServeProcess } from "../helpers/serve-process.ts";

// The HTTP edge of a real `bay serve` (issue 11, item 4): the key before the
// body, header and body timeouts, the connection limit, and executions that
// outlive every timeout. Raw sockets, to send exactly what a hostile client would.
setDefaultTimeout(120_000);

const KEY = "edge-key-0123456789abcdef";
const HEADER_TIMEOUT_S = 2;
const BODY_TIMEOUT_S = 3;
const MAX_CONNECTIONS = 6;
const BODY_LIMIT = 1_000_000;
/** Far beyond every timeout above; reaching it means the server never acted. */
const NEVER_MS = 30_000;
/**
 * Generous for HEADER_TIMEOUT_S, yet short of the ~10 s Bun's HTTP server
 * gives a first header by itself: a close before it is the configured timeout at work.
 */
const HEADER_DEADLINE_MS = HEADER_TIMEOUT_S * 1000 + 6_000;

/** A `bay serve` of its own, with the given server settings; stopped and cleaned up after the file. */
async function startServer(settings: Record<string, number>): Promise<ServeProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), "bay-edge-"));
  const instanceId = `test-${randomBytes(4).toString("hex")}`;
  const started = await startServeProcess({
    BAY_DATA_DIR: dataDir,
    BAY_INSTANCE_ID: instanceId,
    BAY_DEFAULT_IMAGE: TEST_IMAGE,
    BAY_API_KEY: KEY,
    ...Object.fromEntries(Object.entries(settings).map(([key, value]) => [`BAY_SERVER__${key.toUpperCase()}`, String(value)])),
  });
  cleanups.push(async () => {
    const listed = await api("GET", "/v1/sandboxes?limit=200", undefined, {}, started);
    for (const sandbox of listed.body?.items ?? []) await api("DELETE", `/v1/sandboxes/${sandbox.id}`, undefined, {}, started);
    await started.stop("SIGKILL");
    await removeInstanceObjects(instanceId);
    rmSync(dataDir, { recursive: true, force: true });
  });
  return started;
}

const cleanups: (() => Promise<void>)[] = [];
let server: ServeProcess;

beforeAll(async () => {
  server = await startServer({
    request_header_timeout_seconds: HEADER_TIMEOUT_S,
    request_body_timeout_seconds: BODY_TIMEOUT_S,
    max_body_bytes: BODY_LIMIT,
  });
});

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, to: ServeProcess = server) {
  const response = await fetch(`${to.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, text, body: parsed };
}

// ---------------------------------------------------------------------------
// A raw connection: what it was sent back, and when the server closed it
// ---------------------------------------------------------------------------

interface RawConnection {
  socket: Socket;
  /** Everything received so far, as latin1. */
  received(): string;
  /** Resolves when the server has closed the connection (or it broke). */
  closed: Promise<void>;
  write(text: string): void;
  /** Resolves once the next whole response (head and Content-Length body) has arrived. */
  response(): Promise<RawResponse>;
}

interface RawResponse {
  status: number;
  headers: Headers;
  body: string;
  /** Characters of the stream this response took. */
  length: number;
}

function parseResponse(raw: string): RawResponse | null {
  const end = raw.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const [statusLine, ...lines] = raw.slice(0, end).split("\r\n");
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  const length = Number(headers.get("content-length") ?? 0);
  const body = raw.slice(end + 4);
  if (body.length < length) return null;
  return { status: Number(statusLine!.split(" ")[1]), headers, body: body.slice(0, length), length: end + 4 + length };
}

async function openConnection(to: ServeProcess = server, localAddress?: string): Promise<RawConnection> {
  const { hostname, port } = new URL(to.url);
  const socket = connect({ port: Number(port), host: hostname, localAddress });
  socket.setNoDelay(true);
  let data = "";
  let answered = 0;
  const waiters = new Set<() => void>();
  socket.on("data", (chunk) => {
    data += chunk.toString("latin1");
    for (const wake of waiters) wake();
  });
  const closed = new Promise<void>((resolve) => {
    socket.on("close", () => {
      resolve();
      for (const wake of waiters) wake();
    });
    socket.on("error", () => resolve());
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return {
    socket,
    received: () => data,
    closed,
    write: (text) => void socket.write(Buffer.from(text, "latin1")),
    response: () =>
      new Promise<RawResponse>((resolve, reject) => {
        const check = () => {
          const parsed = parseResponse(data.slice(answered));
          if (parsed) {
            answered += parsed.length;
            waiters.delete(check);
            resolve(parsed);
          } else if (socket.destroyed || socket.readyState === "closed") {
            waiters.delete(check);
            reject(new Error(`the connection closed without a whole response; received ${JSON.stringify(data.slice(0, 200))}`));
          }
        };
        waiters.add(check);
        check();
      }),
  };
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: Timer | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing happened within ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

const head = (method: string, path: string, headers: string[]) => [`${method} ${path} HTTP/1.1`, "Host: 127.0.0.1", ...headers, "", ""].join("\r\n");

// ---------------------------------------------------------------------------

describe("the API key is checked before any of the body is read", () => {
  /** Every operation of the OpenAPI document that needs a key, with a made-up id in its path. */
  async function protectedOperations(): Promise<{ method: string; path: string }[]> {
    const document = (await api("GET", "/openapi/json")).body;
    const operations: { method: string; path: string }[] = [];
    for (const [path, methods] of Object.entries<Record<string, any>>(document.paths)) {
      for (const method of Object.keys(methods)) {
        if (["/health", "/v1/profiles", "/metrics"].includes(path) || path.startsWith("/openapi")) continue;
        operations.push({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, "sandbox-000000000000") });
      }
    }
    return operations;
  }

  test("every route that needs a key answers 401 to a 100 MB body whose first byte never comes", async () => {
    const operations = await protectedOperations();
    expect(operations.length).toBeGreaterThan(20);
    for (const { method, path } of operations) {
      for (const authorization of [[], ["Authorization: Bearer not-the-key"]]) {
        const connection = await openConnection();
        connection.write(head(method, path, [...authorization, "Content-Type: application/json", "Content-Length: 100000000"]));
        const answer = await within(connection.response(), NEVER_MS, `${method} ${path}`);
        const envelope = JSON.parse(answer.body);
        expect({ route: `${method} ${path}`, status: answer.status, code: envelope.error?.code }).toEqual({
          route: `${method} ${path}`,
          status: 401,
          code: "unauthorized",
        });
        expect(answer.headers.get("x-request-id")).toBeTruthy();
        expect(envelope.error.request_id).toBe(answer.headers.get("x-request-id"));
        connection.socket.destroy();
      }
    }
  });

  test("a chunked body without a key gets 401 before its first chunk too", async () => {
    const connection = await openConnection();
    connection.write(head("POST", "/v1/sandboxes", ["Content-Type: application/json", "Transfer-Encoding: chunked"]));
    const answer = await within(connection.response(), NEVER_MS, "chunked POST without a key");
    expect(answer.status).toBe(401);
    connection.socket.destroy();
  });

  test("public routes still answer without a key", async () => {
    for (const path of ["/health", "/v1/profiles", "/openapi/json", "/metrics"]) {
      const response = await fetch(`${server.url}${path}`);
      await response.arrayBuffer();
      expect({ path, status: response.status }).toEqual({ path, status: 200 });
    }
  });
});

describe("timeouts", () => {
  test("a connection that sends half a request header and falls silent is closed", async () => {
    const connection = await openConnection();
    connection.write("POST /v1/sandboxes HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bear");
    await within(connection.closed, HEADER_DEADLINE_MS, "half-sent header");
    expect(connection.received()).not.toContain("HTTP/1.1 2");
  });

  test("a connection that opens and sends nothing is closed", async () => {
    const connection = await openConnection();
    await within(connection.closed, HEADER_DEADLINE_MS, "silent connection");
  });

  test("a kept-alive connection that falls silent after its answer is closed", async () => {
    const connection = await openConnection();
    connection.write(head("GET", "/health", []));
    expect((await within(connection.response(), NEVER_MS, "GET /health")).status).toBe(200);
    await within(connection.closed, NEVER_MS, "idle keep-alive connection");
  });

  test("a JSON body that stalls halfway is cut", async () => {
    const connection = await openConnection();
    connection.write(head("POST", "/v1/sandboxes", [`Authorization: Bearer ${KEY}`, "Content-Type: application/json", "Content-Length: 1000"]));
    connection.write('{"profile": "pyt');
    await within(connection.closed, NEVER_MS, "stalled JSON body");
    expect(connection.received()).not.toContain("HTTP/1.1 201");
    // Nothing was created from half a body.
    expect((await api("GET", "/v1/sandboxes")).body.items).toHaveLength(0);
  });

  describe("with a sandbox", () => {
    let sandboxId: string;
    beforeAll(async () => {
      const created = await api("POST", "/v1/sandboxes", {});
      expect(created.status).toBe(201);
      sandboxId = created.body.id;
    });

    test("an upload whose body stalls is cut, and leaves no file", async () => {
      const connection = await openConnection();
      const boundary = "edgeboundary";
      connection.write(
        head("POST", `/v1/sandboxes/${sandboxId}/filesystem/upload`, [
          `Authorization: Bearer ${KEY}`,
          `Content-Type: multipart/form-data; boundary=${boundary}`,
          "Content-Length: 100000",
        ]),
      );
      connection.write(
        `--${boundary}\r\nContent-Disposition: form-data; name="path"\r\n\r\nstalled.bin\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="stalled.bin"\r\n\r\n` +
          "x".repeat(1000),
      );
      await within(connection.closed, NEVER_MS * 3, "stalled upload");
      expect(connection.received()).not.toContain("HTTP/1.1 200");
      const listing = await api("GET", `/v1/sandboxes/${sandboxId}/filesystem/directories`);
      expect(listing.status).toBe(200);
      expect(listing.body.entries.map((entry: { name: string }) => entry.name)).not.toContain("stalled.bin");
    });

    test("an upload past server.max_body_bytes sent without Content-Length is cut with 413, and leaves no file", async () => {
      const encoder = new TextEncoder();
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(
            encoder.encode(
              '--b\r\nContent-Disposition: form-data; name="path"\r\n\r\nover.bin\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="over.bin"\r\n\r\n',
            ),
          );
        },
        pull(controller) {
          // Twice the limit, then the end of the form: a body Bay must cut, not store.
          if (sent > 2 * BODY_LIMIT) {
            controller.enqueue(encoder.encode("\r\n--b--\r\n"));
            return controller.close();
          }
          controller.enqueue(new Uint8Array(65_536).fill(120));
          sent += 65_536;
        },
      });
      const response = await fetch(`${server.url}/v1/sandboxes/${sandboxId}/filesystem/upload`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}`, "content-type": "multipart/form-data; boundary=b" },
        body,
      });
      const answer = (await response.json()) as { error?: { code: string } };
      expect({ status: response.status, code: answer.error?.code }).toEqual({ status: 413, code: "payload_too_large" });
      const listing = await api("GET", `/v1/sandboxes/${sandboxId}/filesystem/directories`);
      expect(listing.body.entries.map((entry: { name: string }) => entry.name)).not.toContain("over.bin");
    });

    test("an upload whose file comes before its path is refused before any compute, with a clear message", async () => {
      const form = new FormData();
      form.set("file", new Blob(["x"]), "early.bin");
      form.set("path", "early.bin");
      const answer = await fetch(`${server.url}/v1/sandboxes/${sandboxId}/filesystem/upload`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}` },
        body: form,
      });
      expect({ status: answer.status, body: await answer.json() }).toMatchObject({
        status: 422,
        body: { error: { code: "validation_error", details: { field: "path" } } },
      });
    });

    const SLEEP_S = BODY_TIMEOUT_S + HEADER_TIMEOUT_S + 2;

    test(`an execution silent for ${SLEEP_S} s (longer than every timeout) still answers`, async () => {
      const answer = await api("POST", `/v1/sandboxes/${sandboxId}/python/exec`, {
        code: `import time\ntime.sleep(${SLEEP_S})\nprint('woke')`,
        timeout: 60,
      });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ success: true, output: "woke\n" });
    });

    test(`an event stream quiet for ${SLEEP_S} s still ends with done`, async () => {
      const response = await fetch(`${server.url}/v1/sandboxes/${sandboxId}/shell/exec`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify({ command: `sleep ${SLEEP_S}; echo woke`, timeout: 60 }),
      });
      expect(response.status).toBe(200);
      const events = await readEvents(response, performance.now());
      expect(events.map((event) => event.event)).toEqual(["stdout", "done"]);
      expect(events.at(-1)!.data).toMatchObject({ success: true });
    });
  });
});

describe("the connection limit", () => {
  // Default timeouts here: a held connection sends its body slowly, well within them.
  let limited: ServeProcess;
  beforeAll(async () => {
    limited = await startServer({ max_connections: MAX_CONNECTIONS });
  });

  const BODY_LENGTH = 200;
  const PREFIX = '{"path":"a.txt","content":"';
  const SUFFIX = '"}';

  /** A connection in the middle of a JSON body, which it sends one byte at a time. */
  async function heldConnection() {
    const connection = await openConnection(limited);
    connection.write(
      head("PUT", "/v1/sandboxes/sandbox-000000000000/filesystem/files", [
        `Authorization: Bearer ${KEY}`,
        "Content-Type: application/json",
        `Content-Length: ${BODY_LENGTH}`,
      ]),
    );
    connection.write(PREFIX);
    let sent = PREFIX.length;
    return {
      connection,
      trickle: () => {
        if (sent < BODY_LENGTH - SUFFIX.length - 1) {
          connection.write("x");
          sent += 1;
        }
      },
      finish: () => connection.write("x".repeat(BODY_LENGTH - SUFFIX.length - sent) + SUFFIX),
    };
  }

  test(`past ${MAX_CONNECTIONS} open connections a new one is refused, while those open carry on`, async () => {
    const held: Awaited<ReturnType<typeof heldConnection>>[] = [];
    const trickle = setInterval(() => held.forEach((h) => h.trickle()), 500);
    try {
      for (let i = 0; i < MAX_CONNECTIONS; i += 1) held.push(await heldConnection());
      const refused = await openConnection(limited);
      refused.write(head("GET", "/health", []));
      await within(refused.closed, NEVER_MS, "the connection past the limit");
      expect(refused.received()).toBe("");

      // The held ones are still served: each finishes its body and gets its answer (no such sandbox).
      clearInterval(trickle);
      for (const { connection, finish } of held) {
        finish();
        const answer = await within(connection.response(), NEVER_MS, "a held connection");
        expect({ status: answer.status, code: JSON.parse(answer.body).error.code }).toEqual({ status: 404, code: "not_found" });
      }
    } finally {
      clearInterval(trickle);
      for (const { connection } of held) connection.socket.destroy();
    }

    // Below the limit again, new connections are served.
    await Promise.all(held.map(({ connection }) => connection.closed));
    expect((await api("GET", "/health", undefined, {}, limited)).status).toBe(200);
  });
});

describe("the connection limit per client", () => {
  const PER_CLIENT = 2;
  let limited: ServeProcess;
  beforeAll(async () => {
    limited = await startServer({ max_connections: MAX_CONNECTIONS, max_connections_per_client: PER_CLIENT });
  });

  test("one client address cannot take every slot: past its share it is refused, while another address is served", async () => {
    const held: RawConnection[] = [];
    try {
      for (let i = 0; i < PER_CLIENT; i += 1) held.push(await openConnection(limited, "127.0.0.1"));
      const refused = await openConnection(limited, "127.0.0.1");
      refused.write(head("GET", "/health", []));
      await within(refused.closed, NEVER_MS, "the connection past the client's share");
      expect(refused.received()).toBe("");

      const other = await openConnection(limited, "127.0.0.2");
      other.write(head("GET", "/health", []));
      const answer = await within(other.response(), NEVER_MS, "another client's connection");
      expect(answer.status).toBe(200);
      other.socket.destroy();
    } finally {
      for (const connection of held) connection.socket.destroy();
    }
  });
});

