import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import fc from "fast-check";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { TEST_API_KEY, TEST_IMAGE } from "../helpers/env.ts";
import { containersWithLabel, removeInstanceObjects, volumesWithLabel } from "../helpers/docker.ts";
import { startServeProcess, type ServeProcess } from "../helpers/serve-process.ts";
import { useTestBay, type TestBay } from "../helpers/test-bay.ts";

// Hostile input (issue 6, item 6): oversized bodies, deep or huge JSON,
// header injection, and random requests at every route. Real containers start here.
setDefaultTimeout(120_000);

// ---------------------------------------------------------------------------
// The contract (api.md §2), written out here so that the product cannot
// redefine it by accident.
// ---------------------------------------------------------------------------

const STATUS_BY_CODE: Record<string, number> = {
  validation_error: 422,
  invalid_path: 400,
  capability_not_supported: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  file_not_found: 404,
  conflict: 409,
  sandbox_expired: 409,
  sandbox_ttl_infinite: 409,
  payload_too_large: 413,
  quota_exceeded: 429,
  internal_error: 500,
  ship_error: 502,
  session_not_ready: 503,
  driver_unavailable: 503,
  timeout: 504,
};
/** Statuses a client of the contract may see; 500 is a bug by definition. */
const CONTRACT_STATUSES = new Set([400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 502, 503, 504]);
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** An error answer names the problem; it does not echo a huge input back. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

const SERVE_KEY = "hostile-key-0123456789abcdef";
const BODY_LIMIT = 100_000;

// ---------------------------------------------------------------------------
// Answers and their contract check
// ---------------------------------------------------------------------------

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  elapsedMs: number;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/** What a streamed body sends within `ms`; the stream is then cancelled. */
async function firstMoment(response: Response, ms: number): Promise<string> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + ms;
  try {
    while (Date.now() < deadline) {
      const next = await Promise.race([reader.read(), Bun.sleep(deadline - Date.now()).then(() => null)]);
      if (!next || next.done) break;
      text += decoder.decode(next.value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return text;
}

async function answerOf(response: Promise<Response>, what: string, timeoutMs: number): Promise<Answer> {
  const started = performance.now();
  return withTimeout(
    (async () => {
      const answered = await response;
      // A successful event stream may follow something that never ends (a directory, a server process):
      // what it sends in its first moment is enough to check, then the client leaves.
      const endless = answered.ok && (answered.headers.get("content-type") ?? "").includes("text/event-stream");
      const text = endless ? await firstMoment(answered, 1_000) : await answered.text();
      return { status: answered.status, headers: answered.headers, text, elapsedMs: performance.now() - started };
    })(),
    timeoutMs,
    what,
  );
}

/**
 * Everything that is wrong with one answer, as readable lines (empty: the
 * answer is contract-shaped). HEAD answers carry no body to check.
 */
function contractProblems(method: string, answer: Pick<Answer, "status" | "headers" | "text">): string[] {
  const problems: string[] = [];
  const { status, headers, text } = answer;
  if (!(status >= 200 && status < 300) && !CONTRACT_STATUSES.has(status)) problems.push(`status ${status} is outside the contract`);
  const requestId = headers.get("x-request-id");
  if (requestId === null || !SAFE_REQUEST_ID.test(requestId)) problems.push(`X-Request-Id header is ${JSON.stringify(requestId)}`);
  if (status < 400 || method === "HEAD") return problems;

  if (!(headers.get("content-type") ?? "").includes("application/json")) {
    problems.push(`error answer has content-type ${headers.get("content-type")}`);
  }
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    return [...problems, `error answer is not JSON: ${JSON.stringify(text.slice(0, 200))}`];
  }
  const error = body?.error;
  const shaped =
    error !== null &&
    typeof error === "object" &&
    typeof error.code === "string" &&
    typeof error.message === "string" &&
    typeof error.request_id === "string" &&
    error.details !== null &&
    typeof error.details === "object" &&
    !Array.isArray(error.details);
  if (!shaped) return [...problems, `error body is not the envelope: ${text.slice(0, 200)}`];
  if (!(error.code in STATUS_BY_CODE)) problems.push(`error code ${error.code} is not one of api.md §2`);
  else if (STATUS_BY_CODE[error.code] !== status) problems.push(`error code ${error.code} comes with status ${status}`);
  if (error.request_id !== requestId) problems.push(`request_id ${error.request_id} differs from X-Request-Id ${requestId}`);
  return problems;
}

/**
 * /mcp speaks MCP's streamable HTTP: what Bay refuses before MCP sees the
 * request (no key, a body Bay will not read) is Bay's envelope; what MCP
 * refuses is a JSON-RPC error object, as MCP clients read them. Never a 5xx,
 * and the request id still comes back.
 */
function mcpProblems(answer: Pick<Answer, "status" | "headers" | "text">): string[] {
  if (contractProblems("POST", answer).length === 0) return [];
  const problems: string[] = [];
  if (answer.status >= 500) problems.push(`status ${answer.status}`);
  if (!SAFE_REQUEST_ID.test(answer.headers.get("x-request-id") ?? "")) problems.push("no X-Request-Id");
  if (answer.status < 400) return problems;
  try {
    const body = JSON.parse(answer.text);
    if (body.jsonrpc !== "2.0" || typeof body.error?.code !== "number" || typeof body.error?.message !== "string") {
      problems.push(`error body is not a JSON-RPC error: ${answer.text.slice(0, 200)}`);
    }
  } catch {
    problems.push(`error answer is not JSON: ${JSON.stringify(answer.text.slice(0, 200))}`);
  }
  return problems;
}

const codeOf = (answer: Answer): string | undefined => {
  try {
    return JSON.parse(answer.text)?.error?.code;
  } catch {
    return undefined;
  }
};

/** One request through the in-process app, exactly as given (no default headers). */
function sendTo(bay: TestBay, request: Request, timeoutMs = 30_000): Promise<Answer> {
  return answerOf(Promise.resolve(bay.app.handle(request)), `${request.method} ${request.url.slice(0, 120)}`, timeoutMs);
}

const authorized = (headers: Record<string, string> = {}) => ({ authorization: `Bearer ${TEST_API_KEY}`, ...headers });

function jsonRequest(method: string, path: string, body: string, headers: Record<string, string> = {}): Request {
  return new Request(`http://localhost${path}`, {
    method,
    headers: authorized({ "content-type": "application/json", ...headers }),
    body,
  });
}

async function expectHealthyQuickly(health: () => Promise<Answer>): Promise<void> {
  const answer = await health();
  expect(answer.status).toBe(200);
  expect(JSON.parse(answer.text).status).toBe("ok");
  expect(answer.elapsedMs).toBeLessThan(2_000);
}

// ---------------------------------------------------------------------------
// Raw HTTP (to see header bytes exactly as the server wrote them)
// ---------------------------------------------------------------------------

interface RawAnswer {
  status: number;
  /** The header block as sent, between the status line and the blank line. */
  headerBlock: string;
  headerLines: string[];
  headers: Headers;
  text: string;
}

function rawHttp(baseUrl: string, method: string, target: string, extraHeaders: string[] = [], body = ""): Promise<RawAnswer> {
  const { hostname, port } = new URL(baseUrl);
  const head = [
    `${method} ${target} HTTP/1.1`,
    `Host: ${hostname}`,
    `Authorization: Bearer ${SERVE_KEY}`,
    "Connection: close",
    ...(body ? ["Content-Type: application/json", `Content-Length: ${Buffer.byteLength(body)}`] : []),
    ...extraHeaders,
  ].join("\r\n");
  return withTimeout(
    new Promise<RawAnswer>((resolve, reject) => {
      const socket = connect(Number(port), hostname);
      const chunks: Buffer[] = [];
      socket.on("data", (chunk) => chunks.push(chunk));
      socket.on("error", reject);
      socket.on("end", () => resolve(parseRawAnswer(Buffer.concat(chunks).toString("latin1"))));
      socket.write(Buffer.from(`${head}\r\n\r\n${body}`, "latin1"));
    }),
    30_000,
    `raw ${method} ${target.slice(0, 80)}`,
  );
}

function parseRawAnswer(raw: string): RawAnswer {
  const end = raw.indexOf("\r\n\r\n");
  const head = raw.slice(0, end);
  const statusLine = head.slice(0, head.indexOf("\r\n"));
  const headerBlock = head.slice(statusLine.length + 2);
  const headerLines = headerBlock.split("\r\n");
  const headers = new Headers();
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  let text = raw.slice(end + 4);
  if (headers.get("transfer-encoding")?.includes("chunked")) text = dechunk(text);
  return { status: Number(statusLine.split(" ")[1]), headerBlock, headerLines, headers, text: Buffer.from(text, "latin1").toString("utf8") };
}

function dechunk(body: string): string {
  let out = "";
  let at = 0;
  for (;;) {
    const lineEnd = body.indexOf("\r\n", at);
    const size = parseInt(body.slice(at, lineEnd), 16);
    if (!size) return out;
    out += body.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
}

/** Every header line is `name: value` with a token name, and no bare CR or LF hides anywhere. */
function expectWellFormedHeaders(answer: RawAnswer): void {
  expect(answer.headerBlock).not.toMatch(/\r(?!\n)|(?<!\r)\n/);
  for (const line of answer.headerLines) expect(line).toMatch(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+: ?[^\r\n]*$/);
  const names = answer.headerLines.map((line) => line.slice(0, line.indexOf(":")).toLowerCase());
  expect(names).not.toContain("set-cookie");
  expect(names).not.toContain("x-injected");
}

// ---------------------------------------------------------------------------
// A real `bay serve` with a small body limit (parts 1 and 3)
// ---------------------------------------------------------------------------

interface ServedBay {
  server: ServeProcess;
  instanceId: string;
  dataDir: string;
  fetch(method: string, path: string, init?: { body?: RequestInit["body"]; headers?: Record<string, string>; timeoutMs?: number }): Promise<Answer>;
}

async function startServedBay(): Promise<ServedBay> {
  const dataDir = mkdtempSync(join(tmpdir(), "bay-hostile-"));
  const instanceId = `test-${randomBytes(4).toString("hex")}`;
  const server = await startServeProcess({
    BAY_DATA_DIR: dataDir,
    BAY_INSTANCE_ID: instanceId,
    BAY_DEFAULT_IMAGE: TEST_IMAGE,
    BAY_API_KEY: SERVE_KEY,
    BAY_SERVER__MAX_BODY_BYTES: String(BODY_LIMIT),
  });
  return {
    server,
    instanceId,
    dataDir,
    fetch: (method, path, init = {}) =>
      answerOf(
        fetch(`${server.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${SERVE_KEY}`, ...init.headers },
          body: init.body,
        }),
        `${method} ${path.slice(0, 80)}`,
        init.timeoutMs ?? 60_000,
      ),
  };
}

/** A body sent without Content-Length (chunked), `size` bytes of JSON in all. */
function chunkedJson(prefix: string, size: number, suffix: string): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let left = size - prefix.length - suffix.length;
  let started = false;
  return new ReadableStream({
    pull(controller) {
      if (!started) {
        started = true;
        controller.enqueue(encoder.encode(prefix));
      } else if (left > 0) {
        const piece = Math.min(16_384, left);
        left -= piece;
        controller.enqueue(encoder.encode("x".repeat(piece)));
      } else {
        controller.enqueue(encoder.encode(suffix));
        controller.close();
      }
    },
  });
}

function uploadForm(path: string, size: number): FormData {
  const form = new FormData();
  form.set("path", path);
  form.set("file", new Blob([new Uint8Array(size).fill(7)]), "blob.bin");
  return form;
}

// ---------------------------------------------------------------------------
// Bodies for part 2
// ---------------------------------------------------------------------------

const DEPTH = 100_000;
const DEEP_ARRAY = "[".repeat(DEPTH) + "]".repeat(DEPTH);
const DEEP_OBJECT = '{"a":'.repeat(DEPTH) + "1" + "}".repeat(DEPTH);
const HUGE_STRING = JSON.stringify("x".repeat(10 * 1024 * 1024));
const MANY_KEYS = Array.from({ length: 200_000 }, (_, i) => `"k${i}":${i}`).join(",");

/**
 * Routes with a JSON body, and the field each body attacks. `timeout: 0` is
 * out of range for the executions, so no body below can be valid anywhere.
 */
const JSON_ROUTES = [
  { method: "POST", path: "/v1/sandboxes", field: "profile" },
  { method: "POST", path: "/v1/cargos", field: "size_limit_mb" },
  { method: "POST", path: "/v1/sandboxes/{sandbox}/extend_ttl", field: "extend_by" },
  { method: "POST", path: "/v1/sandboxes/{sandbox}/python/exec", field: "code" },
  { method: "POST", path: "/v1/sandboxes/{sandbox}/shell/exec", field: "command" },
  { method: "PUT", path: "/v1/sandboxes/{sandbox}/filesystem/files", field: "path" },
] as const;

const HOSTILE_BODIES: Record<string, (field: string) => string> = {
  "100 000 nested arrays in a field": (field) => `{"${field}":${DEEP_ARRAY}}`,
  '100 000 nested {"a": objects in a field': (field) => `{"${field}":${DEEP_OBJECT}}`,
  "100 000 nested arrays as the body": () => DEEP_ARRAY,
  "a 10 MB string field": (field) => `{"${field}":${HUGE_STRING},"timeout":0}`,
  "an object of 200 000 keys": (field) => `{${MANY_KEYS},"${field}":true,"timeout":0}`,
};

const NON_OBJECT_BODIES = ["[]", "[1,2]", "42", "-1.5e300", '"a string"', "null", "true"];

// ---------------------------------------------------------------------------
// Random requests for part 4
// ---------------------------------------------------------------------------

const METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"] as const;

/** Placeholders filled at send time, so a fixture that a random DELETE removed can be replaced. */
const SANDBOX = "{sandbox}";
const CARGO = "{cargo}";

const hex12 = fc.stringMatching(/^[0-9a-f]{12}$/);
const junkSegment = fc.constantFrom(
  "%ZZ",
  "%",
  "%E0%A4%A",
  "%00",
  "%0D%0ASet-Cookie:%20x=1",
  "%C0%AF",
  "%FF%FE",
  "%25",
  "%2F..%2F..%2Fetc",
  "..",
  "%2E%2E",
  ";",
  "a".repeat(5_000),
);
const idSegment = fc.oneof(
  { weight: 4, arbitrary: fc.constant(SANDBOX) },
  { weight: 2, arbitrary: fc.constant(CARGO) },
  { weight: 1, arbitrary: hex12.map((hex) => `sandbox-${hex}`) },
  { weight: 1, arbitrary: hex12.map((hex) => `ws-${hex}`) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }).map(encodeURIComponent) },
  { weight: 2, arbitrary: junkSegment },
);

const queryValue = fc.oneof(
  fc.constantFrom("a.txt", "dir/b.txt", ".", "..", "../etc/passwd", "/etc/passwd", "", "0", "1", "200", "201", "-1", "true", "maybe", "idle", "ready"),
  fc.string({ unit: "binary", maxLength: 30 }).map(encodeURIComponent),
  fc.integer().map(String),
  junkSegment,
);
const queryString = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom("path", "limit", "cursor", "status", "managed"), fc.string({ maxLength: 8 }).map(encodeURIComponent)), queryValue), {
    maxLength: 4,
  })
  .map((pairs) => (pairs.length ? `?${pairs.map(([key, value]) => `${key}=${value}`).join("&")}` : ""));

/** Values for the fields of the API: mostly plausible (so that requests get past validation), sometimes anything. */
const anyJsonValue = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 3 }));
const mostly = <T>(plausible: fc.Arbitrary<T>, other: fc.Arbitrary<unknown> = anyJsonValue) =>
  fc.oneof({ weight: 3, arbitrary: plausible }, { weight: 1, arbitrary: other });
const FIELD_VALUES: Record<string, fc.Arbitrary<unknown>> = {
  profile: mostly(fc.constantFrom("python-default", "gpu-huge")),
  cargo_id: mostly(fc.oneof(fc.constant(CARGO), fc.constant(SANDBOX), hex12.map((hex) => `ws-${hex}`), fc.constant(null))),
  ttl: mostly(fc.integer({ min: 0, max: 3_600 }), fc.constantFrom(-1, null, 1e12, "60", 1.5)),
  extend_by: mostly(fc.integer({ min: 1, max: 3_600 }), fc.constantFrom(0, -1, 1e12, "60", 1.5)),
  size_limit_mb: mostly(fc.integer({ min: 1, max: 65_536 }), fc.constantFrom(0, 65_537, "1", 1.5)),
  code: mostly(fc.oneof(fc.constantFrom("1 + 1", "print('hi')", "import time; time.sleep(10)", "raise ValueError('x')", "x = 1", ""), fc.string({ maxLength: 30 }))),
  command: mostly(fc.oneof(fc.constantFrom("echo hi", "true", "exit 3", "sleep 10", "cat /etc/hostname", "echo err >&2", "ls -la"), fc.string({ minLength: 1, maxLength: 30 }))),
  timeout: mostly(fc.integer({ min: 1, max: 3 }), fc.constantFrom(0, -1, 301, 1.5, "x", null, 1e20)),
  cwd: mostly(fc.constantFrom(".", "sub", "dir"), fc.oneof(fc.constantFrom("..", "/tmp", "a\u0000b", ""), fc.string({ maxLength: 10 }))),
  env: mostly(fc.dictionary(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,6}$/), fc.string({ maxLength: 8 }), { maxKeys: 3 }), fc.oneof(fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }), anyJsonValue)),
  path: mostly(fc.constantFrom("a.txt", "dir/b.txt", ".", "dir", "a/../b.txt"), fc.oneof(fc.constantFrom("..", "../x", "/etc/passwd", "a\u0000b", ""), fc.string({ maxLength: 20 }))),
  content: mostly(fc.string({ maxLength: 100 })),
};
/** The fields of each route's body, so that random bodies are sometimes valid. */
const FIELDS_BY_ROUTE: [RegExp, string[]][] = [
  [/^POST \/v1\/sandboxes$/, ["profile", "cargo_id", "ttl"]],
  [/extend_ttl$/, ["extend_by"]],
  [/^POST \/v1\/cargos$/, ["size_limit_mb"]],
  [/python\/exec$/, ["code", "timeout"]],
  [/shell\/exec$/, ["command", "timeout", "cwd", "env"]],
  [/(filesystem\/files|files\/write)$/, ["path", "content"]],
  [/files\/(read|list|delete)$/, ["path"]],
];
const ALL_FIELDS = Object.keys(FIELD_VALUES);

function plausibleObject(route: Route): fc.Arbitrary<Record<string, unknown>> {
  const fields = FIELDS_BY_ROUTE.find(([pattern]) => pattern.test(`${route.method} ${route.path}`))?.[1];
  const pick = fields ? fc.constant(fields) : fc.subarray(ALL_FIELDS, { maxLength: 4 });
  return pick.chain((chosen) => fc.record(Object.fromEntries(chosen.map((field) => [field, FIELD_VALUES[field]!])), { requiredKeys: [] }));
}

function serialise(value: unknown): string {
  try {
    return JSON.stringify(value) ?? "undefined";
  } catch {
    return "[unserialisable]";
  }
}

type BodySpec =
  | { kind: "none" }
  | { kind: "text"; text: string }
  | { kind: "bytes"; bytes: Uint8Array }
  | { kind: "form"; path?: string; file?: Uint8Array; extra?: string };

const INVALID_UTF8 = [[0xff], [0xc3, 0x28], [0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]];

function bodySpec(route: Route): fc.Arbitrary<BodySpec> {
  const text = (arbitrary: fc.Arbitrary<string>) => arbitrary.map((text) => ({ kind: "text" as const, text }));
  return fc.oneof(
    fc.constant({ kind: "none" as const }),
    text(fc.constant("")),
    text(fc.json({ maxDepth: 4 })),
    text(fc.anything({ maxDepth: 3 }).map(serialise)),
    { weight: 4, arbitrary: text(plausibleObject(route).map((value) => JSON.stringify(value))) },
    fc.uint8Array({ maxLength: 512 }).map((bytes) => ({ kind: "bytes" as const, bytes })),
    fc.constantFrom(...INVALID_UTF8).map((bytes) => ({ kind: "bytes" as const, bytes: new Uint8Array(bytes) })),
    {
      weight: route.path.endsWith("/upload") ? 4 : 1,
      arbitrary: fc
        .record({ path: FIELD_VALUES.path!.map(String), file: fc.uint8Array({ maxLength: 256 }), extra: fc.string({ maxLength: 10 }) }, { requiredKeys: [] })
        .map((form) => ({ kind: "form" as const, ...form })),
    },
  );
}

const contentType = fc.option(
  fc.constantFrom(
    "application/json",
    "application/json",
    "application/json; charset=utf-16",
    "text/plain",
    "text/event-stream",
    "multipart/form-data",
    "multipart/form-data; boundary=nothing-like-it",
    "application/x-www-form-urlencoded",
    "application/octet-stream",
    "application/xml",
    "garbage/;;;",
  ),
  { nil: undefined },
);
const authorization = fc.oneof(
  { weight: 6, arbitrary: fc.constant(`Bearer ${TEST_API_KEY}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      undefined,
      "Bearer wrong-key-0123456789abcdef",
      `Basic ${btoa(`tester:${TEST_API_KEY}`)}`,
      "Bearer ",
      `bearer ${TEST_API_KEY}`,
      `Bearer ${TEST_API_KEY} ${TEST_API_KEY}`,
    ),
  },
);
const idempotencyKey = fc.option(
  fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/), fc.string({ maxLength: 20 }), fc.constant("k".repeat(200))),
  { nil: undefined },
);
const prefer = fc.option(fc.oneof(fc.constantFrom("wait=0", "wait=1", "wait=2.5", "wait=abc", "wait=-1", "respond-async", "wait="), fc.string({ maxLength: 15 })), {
  nil: undefined,
});
const accept = fc.option(fc.constantFrom("text/event-stream", "application/json", "*/*", "text/html"), { nil: undefined });
const requestId = fc.option(fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:-]{1,40}$/), fc.string({ maxLength: 40 })), { nil: undefined });

interface Route {
  method: string;
  path: string;
}

/** Every route the app has, read from the app itself so that a new route cannot escape the property. */
function appRoutes(bay: TestBay): Route[] {
  return bay.app.routes.map((route: Route) => ({ method: route.method, path: route.path }));
}

function pathFor(route: Route): fc.Arbitrary<string> {
  const filled = idSegment.map((id) => route.path.replace(":id", id));
  return fc.oneof(
    { weight: 8, arbitrary: filled },
    { weight: 1, arbitrary: fc.tuple(filled, fc.constantFrom("/", "/extra", "//", "/%2e%2e")).map(([path, tail]) => path + tail) },
    { weight: 1, arbitrary: fc.webPath() },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom("/v1/", "/v1/sandboxes/", "/v2/"), junkSegment).map(([head, tail]) => head + tail) },
  );
}

interface RandomRequest {
  method: string;
  path: string;
  query: string;
  body: BodySpec;
  contentType?: string;
  authorization?: string;
  idempotencyKey?: string;
  prefer?: string;
  accept?: string;
  requestId?: string;
}

/** Everything random: method, path, headers and body. */
function hostileRequest(route: Route): fc.Arbitrary<RandomRequest> {
  return fc.record(
    {
      method: fc.oneof({ weight: 3, arbitrary: fc.constant(route.method) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
      path: pathFor(route),
      query: queryString,
      body: bodySpec(route),
      contentType,
      authorization,
      idempotencyKey,
      prefer,
      accept,
      requestId,
    },
    { requiredKeys: ["method", "path", "query", "body", "authorization"] },
  );
}

/**
 * The route's own method, key and content type on the real sandbox, with a
 * body of the route's fields (random values, valid or not): these reach the
 * agent, where the answers come from the container.
 */
function wellFormedRequest(route: Route): fc.Arbitrary<RandomRequest> {
  const upload = route.path.endsWith("/upload");
  return fc.record(
    {
      method: fc.constant(route.method),
      path: fc.constant(route.path.replace(":id", SANDBOX)),
      query: queryString,
      body: upload ? bodySpec(route) : plausibleObject(route).map((value) => ({ kind: "text" as const, text: JSON.stringify(value) })),
      contentType: fc.constant(upload ? undefined : "application/json"),
      authorization: fc.constant(`Bearer ${TEST_API_KEY}`),
      idempotencyKey,
      prefer,
      accept,
      requestId,
    },
    { requiredKeys: ["method", "path", "query", "body", "authorization"] },
  );
}

function randomRequest(routes: Route[]): fc.Arbitrary<RandomRequest> {
  return fc
    .constantFrom(...routes)
    .chain((route) => fc.oneof(hostileRequest(route), wellFormedRequest(route)));
}

const EXECUTION_PATH = /\/(python|shell)\/exec\/?$/;

/**
 * Keeps executions short: a JSON object sent to an execution route gets a
 * timeout of at most 3 s, unless it carries a deliberately invalid one.
 */
function tameExecution(path: string, text: string): string {
  if (!EXECUTION_PATH.test(path)) return text;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return text;
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) return text;
  const fields = body as Record<string, unknown>;
  const seconds = Number(fields.timeout);
  if (fields.timeout === undefined || fields.timeout === null || (Number.isFinite(seconds) && seconds > 3 && seconds <= 300)) fields.timeout = 3;
  return JSON.stringify(fields);
}

interface Fixtures {
  sandboxId: string;
  cargoId: string;
}

function toRequest(spec: RandomRequest, fixtures: Fixtures): Request {
  const fill = (text: string) => text.replaceAll(SANDBOX, fixtures.sandboxId).replaceAll(CARGO, fixtures.cargoId);
  const path = fill(spec.path);
  const headers = new Headers();
  const optional: [string, string | undefined][] = [
    ["content-type", spec.contentType],
    ["authorization", spec.authorization],
    ["idempotency-key", spec.idempotencyKey],
    ["prefer", spec.prefer],
    ["accept", spec.accept],
    ["x-request-id", spec.requestId],
  ];
  for (const [name, value] of optional) {
    if (value === undefined) continue;
    try {
      headers.set(name, value);
    } catch {
      // A value no client could send (e.g. a control character): leave the header out.
    }
  }
  let body: RequestInit["body"];
  if (spec.method !== "GET" && spec.method !== "HEAD") {
    if (spec.body.kind === "text") body = tameExecution(path, fill(spec.body.text));
    if (spec.body.kind === "bytes") body = spec.body.bytes;
    if (spec.body.kind === "form") {
      const form = new FormData();
      if (spec.body.path !== undefined) form.set("path", spec.body.path);
      if (spec.body.file !== undefined) form.set("file", new Blob([spec.body.file]), "random.bin");
      if (spec.body.extra !== undefined) form.set("extra", spec.body.extra);
      body = form;
    }
  }
  return new Request(`http://localhost${path}${spec.query}`, { method: spec.method, headers, body });
}

// ===========================================================================
// 1 + 3: through a real `bay serve` with BAY_SERVER__MAX_BODY_BYTES=100000
// ===========================================================================

describe("bay serve with a 100 000-byte body limit", () => {
  let served: ServedBay;
  let sandboxId: string;
  const sandboxFiles = (query = "") => `/v1/sandboxes/${sandboxId}/filesystem/files${query}`;
  const health = () => served.fetch("GET", "/health", { timeoutMs: 10_000 });

  beforeAll(async () => {
    served = await startServedBay();
    const created = await served.fetch("POST", "/v1/sandboxes", { body: "{}", headers: { "content-type": "application/json" } });
    expect(created.status).toBe(201);
    sandboxId = JSON.parse(created.text).id;
  });

  afterAll(async () => {
    if (!served) return;
    const listed = await served.fetch("GET", "/v1/sandboxes?limit=200");
    for (const sandbox of JSON.parse(listed.text).items ?? []) await served.fetch("DELETE", `/v1/sandboxes/${sandbox.id}`);
    await served.server.stop("SIGKILL");
    await removeInstanceObjects(served.instanceId);
    rmSync(served.dataDir, { recursive: true, force: true });
  });

  describe("oversized bodies", () => {
    test("a 150 KB JSON body is 413 payload_too_large in the envelope and creates nothing", async () => {
      const before = JSON.parse((await served.fetch("GET", "/v1/sandboxes")).text).items.length;
      const answer = await served.fetch("POST", "/v1/sandboxes", {
        body: JSON.stringify({ profile: "python-default", padding: "x".repeat(150_000) }),
        headers: { "content-type": "application/json" },
      });
      expect({ status: answer.status, code: codeOf(answer), problems: contractProblems("POST", answer) }).toEqual({
        status: 413,
        code: "payload_too_large",
        problems: [],
      });
      expect(JSON.parse((await served.fetch("GET", "/v1/sandboxes")).text).items.length).toBe(before);
      await expectHealthyQuickly(health);
    });

    test("a 150 KB multipart upload is 413 payload_too_large and stores nothing", async () => {
      const answer = await served.fetch("POST", `/v1/sandboxes/${sandboxId}/filesystem/upload`, { body: uploadForm("too-big.bin", 150_000) });
      expect({ status: answer.status, code: codeOf(answer), problems: contractProblems("POST", answer) }).toEqual({
        status: 413,
        code: "payload_too_large",
        problems: [],
      });
      const download = await served.fetch("GET", `/v1/sandboxes/${sandboxId}/filesystem/download?path=too-big.bin`);
      expect({ status: download.status, code: codeOf(download) }).toEqual({ status: 404, code: "file_not_found" });
      await expectHealthyQuickly(health);
    });

    test("bodies just under the limit are accepted: a JSON write and a multipart upload", async () => {
      const content = "y".repeat(BODY_LIMIT - 1_000);
      const written = await served.fetch("PUT", sandboxFiles(), {
        body: JSON.stringify({ path: "just-under.txt", content }),
        headers: { "content-type": "application/json" },
      });
      expect(written.status).toBe(200);
      const read = await served.fetch("GET", sandboxFiles("?path=just-under.txt"));
      expect(JSON.parse(read.text).content).toBe(content);

      const uploaded = await served.fetch("POST", `/v1/sandboxes/${sandboxId}/filesystem/upload`, { body: uploadForm("just-under.bin", BODY_LIMIT - 2_000) });
      expect(uploaded.status).toBe(200);
      expect(JSON.parse(uploaded.text)).toMatchObject({ status: "ok", size: BODY_LIMIT - 2_000 });
      await expectHealthyQuickly(health);
    });

    test("a 150 KB body sent without Content-Length (chunked) is 413 payload_too_large too", async () => {
      const answer = await served.fetch("PUT", sandboxFiles(), {
        body: chunkedJson('{"path":"chunked.txt","content":"', 150_000, '"}'),
        headers: { "content-type": "application/json" },
      });
      expect({ status: answer.status, code: codeOf(answer), problems: contractProblems("PUT", answer) }).toEqual({
        status: 413,
        code: "payload_too_large",
        problems: [],
      });
      await expectHealthyQuickly(health);
    });

    test("a body without Content-Length that grows past twice the limit is cut with 413, and Bay stays healthy", async () => {
      const answer = await served.fetch("PUT", sandboxFiles(), {
        body: chunkedJson('{"path":"huge.txt","content":"', 10 * 1024 * 1024, '"}'),
        headers: { "content-type": "application/json" },
      });
      expect(answer.status).toBe(413);
      await expectHealthyQuickly(health);
    });
  });

  describe("header injection", () => {
    const CRLF_ID = "x%0D%0ASet-Cookie:%20injected=1%0D%0AX-Injected:%20yes";

    test("ids and paths with CR/LF answer in the envelope and add no header", async () => {
      const cases: [string, string, number, string, string?][] = [
        ["GET", `/v1/sandboxes/${CRLF_ID}`, 404, "not_found"],
        ["DELETE", `/v1/sandboxes/${CRLF_ID}`, 404, "not_found"],
        ["POST", `/v1/sandboxes/${CRLF_ID}/python/exec`, 404, "not_found", '{"code":"1","timeout":1}'],
        ["GET", `/v1/cargos/${CRLF_ID}`, 404, "not_found"],
        ["DELETE", `/v1/cargos/${CRLF_ID}`, 404, "not_found"],
        ["GET", `/v1/sandboxes/${sandboxId}/filesystem/download?path=${CRLF_ID}`, 404, "file_not_found"],
        ["GET", `/v1/sandboxes/${sandboxId}/filesystem/files?path=${CRLF_ID}`, 404, "file_not_found"],
        ["GET", `/v1/sandboxes/${sandboxId}/filesystem/directories?path=${CRLF_ID}`, 404, "file_not_found"],
      ];
      for (const [method, target, status, code, body] of cases) {
        const answer = await rawHttp(served.server.url, method, target, [], body);
        expectWellFormedHeaders(answer);
        expect({ target, status: answer.status, code: JSON.parse(answer.text).error?.code, problems: contractProblems(method, answer) }).toEqual({
          target,
          status,
          code,
          problems: [],
        });
      }
    });

    test("a file named with CR LF and a quote downloads with a safe Content-Disposition", async () => {
      const name = 'evil\r\nSet-Cookie: injected=1\r\nX-Injected: "yes".txt';
      const written = await served.fetch("PUT", sandboxFiles(), {
        body: JSON.stringify({ path: name, content: "payload" }),
        headers: { "content-type": "application/json" },
      });
      expect(written.status).toBe(200);

      const answer = await rawHttp(served.server.url, "GET", `/v1/sandboxes/${sandboxId}/filesystem/download?path=${encodeURIComponent(name)}`);
      expect(answer.status).toBe(200);
      expect(answer.text).toBe("payload");
      expectWellFormedHeaders(answer);
      const disposition = answer.headers.get("content-disposition") ?? "";
      expect(disposition).toStartWith("attachment");
      // The quote of the name does not end the quoted filename early.
      expect(disposition.split('"').length - 1).toBeLessThanOrEqual(2);
    });

    test("an unsafe X-Request-Id is replaced, never echoed; a safe one is echoed", async () => {
      const unsafe = ["abc def", "<script>alert(1)</script>", "r".repeat(129), "id\tx", "a;b=c", "../../etc/passwd", "\xc3\xa9t\xc3\xa9", "%0D%0Ax"];
      for (const sent of unsafe) {
        const answer = await rawHttp(served.server.url, "GET", "/v1/sandboxes/sandbox-000000000000", [`X-Request-Id: ${sent}`]);
        expectWellFormedHeaders(answer);
        const echoed = answer.headers.get("x-request-id");
        expect({ sent, echoedIsSent: echoed === sent.trim(), safe: SAFE_REQUEST_ID.test(echoed ?? "") }).toEqual({ sent, echoedIsSent: false, safe: true });
        expect(contractProblems("GET", answer)).toEqual([]);
      }
      const safe = "req-123.abc:XYZ";
      const answer = await rawHttp(served.server.url, "GET", "/v1/sandboxes/sandbox-000000000000", [`X-Request-Id: ${safe}`]);
      expect(answer.headers.get("x-request-id")).toBe(safe);
      expect(JSON.parse(answer.text).error.request_id).toBe(safe);
    });
  });
});

// ===========================================================================
// 2 + 4: through the app in-process, with quotas that bound what random
// requests can start
// ===========================================================================

describe("in-process Bay", () => {
  const bay = useTestBay({ config: { quotas: { default: { max_sandboxes: 10, max_running_sessions: 2 } } } });
  const fixtures: Fixtures = { sandboxId: "", cargoId: "" };
  const health = () => sendTo(bay, new Request("http://localhost/health"), 10_000);

  async function createFixture(path: string): Promise<string | undefined> {
    const answer = await sendTo(bay, jsonRequest("POST", path, "{}"), 30_000);
    return answer.status === 201 ? JSON.parse(answer.text).id : undefined;
  }

  /** A random DELETE may have removed a fixture: replace it (if quotas allow) so later runs still reach real objects. */
  async function replaceDeletedFixtures(): Promise<void> {
    const sandbox = await sendTo(bay, new Request(`http://localhost/v1/sandboxes/${fixtures.sandboxId}`, { headers: authorized() }));
    if (sandbox.status === 404) fixtures.sandboxId = (await createFixture("/v1/sandboxes")) ?? fixtures.sandboxId;
    const cargo = await sendTo(bay, new Request(`http://localhost/v1/cargos/${fixtures.cargoId}`, { headers: authorized() }));
    if (cargo.status === 404) fixtures.cargoId = (await createFixture("/v1/cargos")) ?? fixtures.cargoId;
  }

  beforeAll(async () => {
    fixtures.sandboxId = (await createFixture("/v1/sandboxes"))!;
    fixtures.cargoId = (await createFixture("/v1/cargos"))!;
    expect(fixtures.sandboxId).toMatch(/^sandbox-/);
    expect(fixtures.cargoId).toMatch(/^ws-/);
  });

  describe("deeply nested and huge JSON", () => {
    const fill = (path: string) => path.replace(SANDBOX, fixtures.sandboxId);

    for (const [label, bodyFor] of Object.entries(HOSTILE_BODIES)) {
      test(`${label}: a quick contract-shaped 4xx on every JSON route, and /health stays quick`, async () => {
        const outcomes: Record<string, unknown> = {};
        const expected: Record<string, unknown> = {};
        for (const route of JSON_ROUTES) {
          const key = `${route.method} ${route.path}`;
          const answer = await sendTo(bay, jsonRequest(route.method, fill(route.path), bodyFor(route.field)), 20_000);
          outcomes[key] = {
            is4xx: answer.status >= 400 && answer.status < 500,
            status: answer.status,
            problems: contractProblems(route.method, answer),
            quick: answer.elapsedMs < 3_000,
            echoesInput: answer.text.length > MAX_ERROR_BODY_BYTES,
          };
          expected[key] = { is4xx: true, status: answer.status, problems: [], quick: true, echoesInput: false };
        }
        expect(outcomes).toEqual(expected);
        await expectHealthyQuickly(health);
      });
    }

    test("JSON bodies that are not objects are 422 validation_error", async () => {
      const outcomes: Record<string, string> = {};
      const expected: Record<string, string> = {};
      for (const route of JSON_ROUTES) {
        for (const body of NON_OBJECT_BODIES) {
          const key = `${route.method} ${route.path} ${body}`;
          const answer = await sendTo(bay, jsonRequest(route.method, fill(route.path), body));
          outcomes[key] = `${answer.status} ${codeOf(answer)} ${contractProblems(route.method, answer).join("; ")}`.trim();
          expected[key] = "422 validation_error";
        }
      }
      expect(outcomes).toEqual(expected);
    });
  });

  describe("over-long paths", () => {
    test("a name past NAME_MAX or a path past PATH_MAX is the caller's mistake (4xx), not a runtime failure", async () => {
      const base = () => `/v1/sandboxes/${fixtures.sandboxId}`;
      const requests: Record<string, (path: string) => Request> = {
        "GET files": (path) => new Request(`http://localhost${base()}/filesystem/files?path=${encodeURIComponent(path)}`, { headers: authorized() }),
        "PUT files": (path) => jsonRequest("PUT", `${base()}/filesystem/files`, JSON.stringify({ path, content: "x" })),
        "GET directories": (path) => new Request(`http://localhost${base()}/filesystem/directories?path=${encodeURIComponent(path)}`, { headers: authorized() }),
        "GET download": (path) => new Request(`http://localhost${base()}/filesystem/download?path=${encodeURIComponent(path)}`, { headers: authorized() }),
        "shell cwd": (path) => jsonRequest("POST", `${base()}/shell/exec`, JSON.stringify({ command: "pwd", cwd: path, timeout: 2 })),
      };
      const outcomes: Record<string, unknown> = {};
      const expected: Record<string, unknown> = {};
      for (const [label, path] of [["a 300-byte name", "n".repeat(300)], ["a 5000-byte path", "d/".repeat(2_500)]]) {
        for (const [route, requestFor] of Object.entries(requests)) {
          const request = requestFor(path!);
          const answer = await sendTo(bay, request, 60_000);
          const key = `${route} with ${label}`;
          const seen = `${answer.status} ${codeOf(answer)}`;
          outcomes[key] = { seen, is4xx: answer.status >= 400 && answer.status < 500, problems: contractProblems(request.method, answer) };
          expected[key] = { seen, is4xx: true, problems: [] };
        }
      }
      expect(outcomes).toEqual(expected);
    });
  });

  describe("random and malformed requests at every route", () => {
    const SEED = Number(process.env.BAY_HOSTILE_SEED ?? 6_061_006);
    const RUNS = Number(process.env.BAY_HOSTILE_RUNS ?? 300);

    test(
      `${RUNS} random requests (seed ${SEED}) all get contract-shaped answers, never a 500`,
      async () => {
        const routes = appRoutes(bay);
        expect(routes).toContainEqual({ method: "POST", path: "/v1/sandboxes/:id/python/exec" });
        const seen = new Map<string, number>();

        await fc.assert(
          fc.asyncProperty(randomRequest(routes), async (spec) => {
            const request = toRequest(spec, fixtures);
            const answer = await sendTo(bay, request, 90_000);
            const problems = new URL(request.url).pathname === "/mcp" ? mcpProblems(answer) : contractProblems(request.method, answer);
            if (problems.length) {
              throw new Error(`${request.method} ${request.url} → ${answer.status}: ${problems.join("; ")}\n${answer.text.slice(0, 500)}`);
            }
            const tally = `${answer.status} ${answer.status >= 400 ? codeOf(answer) : ""}`.trim();
            seen.set(tally, (seen.get(tally) ?? 0) + 1);
            if (request.method === "DELETE" && answer.status === 204) await replaceDeletedFixtures();
          }),
          {
            seed: SEED,
            numRuns: RUNS,
            endOnFailure: true,
            reporter: (details) => {
              if (details.failed) {
                throw new Error(`${fc.defaultReportMessage(details)}\nRe-run with BAY_HOSTILE_SEED=${SEED} to reproduce.`);
              }
            },
          },
        );
        console.info(`hostile-input: answers by status: ${JSON.stringify(Object.fromEntries([...seen].sort()))}`);
        // The run reached past validation: some requests succeeded, some were refused.
        expect([...seen.keys()].some((status) => status.startsWith("2"))).toBe(true);
        expect([...seen.keys()].some((status) => status.startsWith("4"))).toBe(true);
      },
      900_000,
    );

    test("afterwards Bay is healthy, and deleting what the run created leaves nothing on the engine", async () => {
      await expectHealthyQuickly(health);

      const listAll = async (path: string) => {
        const answer = await sendTo(bay, new Request(`http://localhost${path}`, { headers: authorized() }));
        expect(answer.status).toBe(200);
        return JSON.parse(answer.text).items as { id: string }[];
      };
      for (const sandbox of await listAll("/v1/sandboxes?limit=200")) {
        const deleted = await sendTo(bay, new Request(`http://localhost/v1/sandboxes/${sandbox.id}`, { method: "DELETE", headers: authorized() }), 60_000);
        expect(deleted.status).toBe(204);
      }
      for (const cargo of await listAll("/v1/cargos?limit=200")) {
        const deleted = await sendTo(bay, new Request(`http://localhost/v1/cargos/${cargo.id}`, { method: "DELETE", headers: authorized() }), 60_000);
        expect(deleted.status).toBe(204);
      }
      expect(await listAll("/v1/cargos?limit=200&managed=true")).toEqual([]);
      expect(containersWithLabel(`bay.instance_id=${bay.instanceId}`)).toEqual([]);
      expect(volumesWithLabel(`bay.instance_id=${bay.instanceId}`)).toEqual([]);
    });
  });
});
