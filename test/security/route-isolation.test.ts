/**
 * Authentication and owner isolation, tried as an attacker would, on every
 * route the live OpenAPI document (and the router) lists, so that a route
 * added later is covered without touching this file, or fails it until it
 * is:
 *
 * - every route but the few public ones answers 401 with the contract's
 *   envelope without a key, with a wrong one and with a malformed one;
 * - bob, with a valid key of his own, gets 404 (never 403, never a side
 *   effect) on every route about alice's sandbox or cargo, streamed or not,
 *   and cannot attach her cargos; alice's sandbox is unchanged afterwards.
 */
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { containersWithLabel } from "../helpers/docker.ts";
import { OPENAPI_ASSET_PATHS } from "../../src/api/openapi-assets.ts";
import { DASHBOARD_PATHS } from "../../src/api/routes/dashboard.ts";
import {
  authorizationOf,
  expectErrorShape,
  OWNER_KEYS,
  type TestOwner,
  type TestResponse,
  testResponseOf,
  THREE_OWNERS_CONFIG,
  useTestBay,
} from "../helpers/test-bay.ts";

setDefaultTimeout(180_000);

const bay = useTestBay({ config: THREE_OWNERS_CONFIG });

/** The routes that answer without a key; any other route must refuse a caller without one. */
/** The API reference's page, its document and the page's own script and style (embedded, so it works offline) are public too. */
const PUBLIC_OPERATIONS = new Set([
  "GET /health",
  "GET /v1/profiles",
  "GET /metrics",
  "GET /openapi",
  "GET /openapi/json",
  ...OPENAPI_ASSET_PATHS.map((path) => `GET ${path}`),
  // The dashboard's page and files; what it shows comes from the API with a key.
  ...DASHBOARD_PATHS.map((path) => `GET ${path}`),
]);

const SECRET_PATH = "secret.txt";
const SECRET = "alice's secret\n";
const SHARED_IDEMPOTENCY_KEY = "alice-create-0001";

interface Operation {
  method: string;
  /** OpenAPI form: /v1/sandboxes/{id}. */
  path: string;
}

const operationKey = (operation: Operation) => `${operation.method} ${operation.path}`;

/** Every operation the OpenAPI document lists, plus any route the router has that the document might leave out. */
async function allOperations(): Promise<Operation[]> {
  const document = (await bay.request("GET", "/openapi/json")).body;
  const operations = new Map<string, Operation>();
  for (const [path, methods] of Object.entries<Record<string, unknown>>(document.paths)) {
    for (const method of Object.keys(methods)) {
      const operation = { method: method.toUpperCase(), path };
      operations.set(operationKey(operation), operation);
    }
  }
  for (const route of bay.app.routes) {
    const operation = { method: route.method.toUpperCase(), path: route.path.replace(/:([^/]+)/g, "{$1}") };
    operations.set(operationKey(operation), operation);
  }
  return [...operations.values()];
}

/** A request with a body of the right kind for its route: JSON, multipart or none. */
async function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<TestResponse> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)["content-type"] = "application/json";
  }
  return testResponseOf(await bay.app.handle(new Request(`http://localhost${path}`, init)));
}

/** "status code" when the answer is the contract's whole error envelope, else what is wrong with it. */
function envelopeOf(response: TestResponse): string {
  const error = (response.body as { error?: Record<string, unknown> } | null)?.error;
  const whole =
    typeof error?.message === "string" &&
    typeof error.details === "object" &&
    typeof error.request_id === "string" &&
    response.headers.get("x-request-id") === error.request_id;
  return whole ? `${response.status} ${error!.code}` : `${response.status} without the error envelope: ${String(JSON.stringify(response.body)).slice(0, 120)}`;
}

const as = (owner: TestOwner, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  send(method, path, { ...authorizationOf(owner), ...headers }, body);

const STREAM = { accept: "text/event-stream" };

function uploadForm(content: string): FormData {
  const form = new FormData();
  form.append("path", SECRET_PATH);
  form.append("file", new Blob([content]), "secret.txt");
  return form;
}

interface Attempt {
  label: string;
  body?: unknown;
  query?: string;
  headers?: Record<string, string>;
}

/**
 * What bob tries on each route about one of alice's sandboxes: each would
 * read her data or change her sandbox if it were let through. A route missing
 * here fails the coverage test below.
 */
const SANDBOX_ATTEMPTS: Record<string, Attempt[]> = {
  "GET /v1/sandboxes/{id}": [{ label: "get" }],
  "DELETE /v1/sandboxes/{id}": [{ label: "delete" }],
  "POST /v1/sandboxes/{id}/keepalive": [{ label: "keepalive" }],
  "POST /v1/sandboxes/{id}/extend_ttl": [{ label: "extend_ttl", body: { extend_by: 86_400 }, headers: { "idempotency-key": "bob-extend-1" } }],
  "POST /v1/sandboxes/{id}/stop": [{ label: "stop" }],
  "POST /v1/sandboxes/{id}/python/exec": [
    { label: "python exec", body: { code: `import os; os.remove(${JSON.stringify(SECRET_PATH)}); secret_value = None` } },
    { label: "python exec, streamed", body: { code: "print(secret_value)" }, headers: STREAM },
  ],
  "POST /v1/sandboxes/{id}/shell/exec": [
    { label: "shell exec", body: { command: `cat ${SECRET_PATH}; rm -f ${SECRET_PATH}` } },
    { label: "shell exec, streamed", body: { command: `cat ${SECRET_PATH}` }, headers: STREAM },
  ],
  "GET /v1/sandboxes/{id}/filesystem/files": [{ label: "read", query: `path=${SECRET_PATH}` }],
  "PUT /v1/sandboxes/{id}/filesystem/files": [{ label: "write", body: { path: SECRET_PATH, content: "bob was here" } }],
  "DELETE /v1/sandboxes/{id}/filesystem/files": [{ label: "delete file", query: `path=${SECRET_PATH}` }],
  "GET /v1/sandboxes/{id}/filesystem/directories": [{ label: "list", query: "path=." }],
  "POST /v1/sandboxes/{id}/filesystem/upload": [{ label: "upload", body: "upload" }],
  "GET /v1/sandboxes/{id}/filesystem/download": [{ label: "download", query: `path=${SECRET_PATH}` }],
  "GET /v1/sandboxes/{id}/filesystem/stat": [{ label: "stat", query: `path=${SECRET_PATH}` }],
  "POST /v1/sandboxes/{id}/filesystem/directories": [{ label: "mkdir", body: { path: "bob-was-here" } }],
  "POST /v1/sandboxes/{id}/filesystem/move": [{ label: "move", body: { source: SECRET_PATH, destination: "stolen.txt" } }],
  "GET /v1/sandboxes/{id}/filesystem/watch": [{ label: "watch", query: "path=." }],
  "POST /v1/sandboxes/{id}/files/read": [{ label: "files/read", body: { path: SECRET_PATH } }],
  "POST /v1/sandboxes/{id}/files/write": [{ label: "files/write", body: { path: SECRET_PATH, content: "bob was here" } }],
  "POST /v1/sandboxes/{id}/files/list": [{ label: "files/list", body: { path: "." } }],
  "POST /v1/sandboxes/{id}/files/delete": [{ label: "files/delete", body: { path: SECRET_PATH } }],
  "POST /v1/sandboxes/{id}/python/contexts": [{ label: "create context", body: { cwd: "." } }],
  "GET /v1/sandboxes/{id}/python/contexts": [{ label: "list contexts" }],
  "POST /v1/sandboxes/{id}/python/contexts/restart": [{ label: "restart default context", body: { id: "default" } }],
  "DELETE /v1/sandboxes/{id}/python/contexts": [{ label: "delete context", query: "id=ctx-000000000000" }],
  // Alice's background process is real (started before the attempts), so a leak would answer 200, not 404.
  "POST /v1/sandboxes/{id}/processes": [{ label: "start process", body: { command: `cat ${SECRET_PATH}` } }],
  "GET /v1/sandboxes/{id}/processes": [{ label: "list processes" }],
  "GET /v1/sandboxes/{id}/processes/status": [{ label: "process status", get query() { return `pid=${alice.pid}`; } }],
  "GET /v1/sandboxes/{id}/processes/output": [{ label: "process output", get query() { return `pid=${alice.pid}`; } }],
  "GET /v1/sandboxes/{id}/processes/stream": [{ label: "process stream", get query() { return `pid=${alice.pid}`; } }],
  "POST /v1/sandboxes/{id}/processes/stdin": [{ label: "process stdin", get body() { return { pid: alice.pid, data: "bob\n" }; } }],
  "POST /v1/sandboxes/{id}/processes/close-stdin": [{ label: "close stdin", get body() { return { pid: alice.pid }; } }],
  "POST /v1/sandboxes/{id}/processes/signal": [{ label: "signal", get body() { return { pid: alice.pid, signal: "SIGKILL" }; } }],
  "POST /v1/sandboxes/{id}/processes/resize": [{ label: "resize", get body() { return { pid: alice.pid, cols: 10, rows: 10 }; } }],
  "POST /v1/sandboxes/{id}/processes/wait": [{ label: "wait", get body() { return { pid: alice.pid, timeout: 0 }; } }],
};

/** What bob tries on each route about one of alice's cargos. */
const CARGO_ATTEMPTS: Record<string, Attempt[]> = {
  "GET /v1/cargos/{id}": [{ label: "get cargo" }],
  "DELETE /v1/cargos/{id}": [{ label: "delete cargo" }],
};

const alice = {
  sandboxId: "",
  pid: 0,
  externalCargoId: "",
  managedCargoId: "",
  containers: [] as string[],
  view: null as unknown,
};

const sandboxPath = () => `/v1/sandboxes/${alice.sandboxId}`;
const aliceView = async () => (await as("alice", "GET", sandboxPath())).body;

beforeAll(async () => {
  const cargo = await as("alice", "POST", "/v1/cargos", {});
  expect(cargo.status).toBe(201);
  alice.externalCargoId = cargo.body.id;
  const sandbox = await as("alice", "POST", "/v1/sandboxes", { ttl: 3600 }, { "idempotency-key": SHARED_IDEMPOTENCY_KEY });
  expect(sandbox.status).toBe(201);
  alice.sandboxId = sandbox.body.id;
  alice.managedCargoId = sandbox.body.cargo_id;
  // Started: a file in her workspace and a value in her Python session.
  expect((await as("alice", "POST", `${sandboxPath()}/files/write`, { path: SECRET_PATH, content: SECRET })).status).toBe(200);
  expect((await as("alice", "POST", `${sandboxPath()}/python/exec`, { code: "secret_value = 42" })).body.success).toBe(true);
  alice.pid = (await as("alice", "POST", `${sandboxPath()}/processes`, { command: "cat", stdin: true, pty: { cols: 80, rows: 24 } })).body.pid;
  expect(alice.pid).toBeGreaterThan(1);
  alice.containers = containersWithLabel(`bay.sandbox_id=${alice.sandboxId}`);
  expect(alice.containers.length).toBe(1);
  alice.view = await aliceView();
  expect((alice.view as { status: string }).status).toBe("ready");
});

describe("authentication on every route", () => {
  const BAD_AUTHORIZATIONS: Record<string, Record<string, string>> = {
    "no key": {},
    "a wrong key": { authorization: "Bearer wrong-key-0123456789abcdef" },
    "an empty bearer": { authorization: "Bearer " },
    "another scheme": { authorization: `Basic ${OWNER_KEYS.alice}` },
    "a key without its scheme": { authorization: OWNER_KEYS.alice },
    "a key with something after it": { authorization: `Bearer ${OWNER_KEYS.alice} x` },
    "a prefix of a key": { authorization: `Bearer ${OWNER_KEYS.alice.slice(0, -1)}` },
  };

  /** The route with alice's real ids in it: a caller without a key must not reach her things either. */
  const concretePath = (path: string) =>
    path.startsWith("/v1/cargos/") ? path.replace("{id}", alice.externalCargoId) : path.replace("{id}", alice.sandboxId);

  test("every route but the public ones answers 401 with the envelope, before validating anything", async () => {
    const operations = await allOperations();
    const guarded = operations.filter((operation) => !PUBLIC_OPERATIONS.has(operationKey(operation)));
    expect(guarded.length).toBeGreaterThan(20);
    const outcomes: Record<string, string> = {};
    const expected: Record<string, string> = {};
    for (const operation of guarded) {
      for (const [label, headers] of Object.entries(BAD_AUTHORIZATIONS)) {
        const key = `${operationKey(operation)} with ${label}`;
        // A body that fails every route's schema: 401 must come before validation says so.
        const body = ["POST", "PUT", "PATCH"].includes(operation.method) ? { unexpected: true } : undefined;
        outcomes[key] = envelopeOf(await send(operation.method, concretePath(operation.path), headers, body));
        expected[key] = "401 unauthorized";
      }
    }
    expect(outcomes).toEqual(expected);
  });

  test("the public routes are exactly the listed ones, and answer without a key", async () => {
    const operations = (await allOperations()).map(operationKey);
    for (const operation of PUBLIC_OPERATIONS) expect(operations).toContain(operation);
    for (const operation of PUBLIC_OPERATIONS) {
      const [method, path] = operation.split(" ");
      expect({ operation, status: (await send(method!, path!, {})).status }).toEqual({ operation, status: 200 });
    }
  });

  test("unknown routes need a key too: 401, not a 404 that maps the API", async () => {
    for (const path of ["/v1/nothing-here", "/v1/sandboxes/x/y/z", "/admin"]) {
      expectErrorShape(await send("GET", path, {}), 401, "unauthorized");
    }
  });

  test("none of the refused calls changed anything", async () => {
    expect(await aliceView()).toEqual(alice.view);
    expect((await as("alice", "GET", "/v1/cargos")).body.items.map((c: { id: string }) => c.id)).toEqual([alice.externalCargoId]);
  });
});

describe("owner isolation: bob against alice's sandbox and cargos", () => {
  test("every sandbox and cargo route has an attempt (a new route fails here until it gets one)", async () => {
    const byId = (await allOperations()).filter((operation) => /^\/v1\/(sandboxes|cargos)\/\{[^}]+\}/.test(operation.path)).map(operationKey);
    expect(byId.sort()).toEqual([...Object.keys(SANDBOX_ATTEMPTS), ...Object.keys(CARGO_ATTEMPTS)].sort());
  });

  test("bob gets 404 not_found on every route, streamed or not, and learns nothing", async () => {
    const outcomes: Record<string, string> = {};
    const expected: Record<string, string> = {};
    const run = async (attempts: Record<string, Attempt[]>, id: string) => {
      for (const [operation, tries] of Object.entries(attempts)) {
        const [method, template] = operation.split(" ") as [string, string];
        for (const attempt of tries) {
          const path = template.replace("{id}", id) + (attempt.query ? `?${attempt.query}` : "");
          const body = attempt.body === "upload" ? uploadForm("bob was here") : attempt.body;
          const response = await as("bob", method, path, body, attempt.headers);
          const key = `${attempt.label} (${operation}) on ${id}`;
          // Nothing of alice's may come back, whatever the status.
          const leaked = JSON.stringify(response.body).includes(SECRET.trim()) ? " (and her secret)" : "";
          outcomes[key] = envelopeOf(response) + leaked;
          expected[key] = "404 not_found";
        }
      }
    };
    await run(SANDBOX_ATTEMPTS, alice.sandboxId);
    await run(CARGO_ATTEMPTS, alice.externalCargoId);
    await run(CARGO_ATTEMPTS, alice.managedCargoId);
    expect(outcomes).toEqual(expected);
  });

  test("bob cannot attach alice's cargos at create, external or managed: 404, as for a cargo that does not exist", async () => {
    for (const cargoId of [alice.externalCargoId, alice.managedCargoId]) {
      const error = expectErrorShape(await as("bob", "POST", "/v1/sandboxes", { cargo_id: cargoId }), 404, "not_found");
      expect(error.details).toEqual({ cargo_id: cargoId });
    }
    expect((await as("bob", "GET", "/v1/sandboxes")).body.items).toEqual([]);
  });

  test("bob's lists hold none of alice's things", async () => {
    expect((await as("bob", "GET", "/v1/sandboxes?limit=200")).body.items).toEqual([]);
    expect((await as("bob", "GET", "/v1/cargos?limit=200")).body.items).toEqual([]);
    expect((await as("bob", "GET", "/v1/cargos?managed=true&limit=200")).body.items).toEqual([]);
  });

  test("alice's idempotency key, reused by bob, is his own: no replay of her sandbox", async () => {
    const response = await as("bob", "POST", "/v1/sandboxes", { ttl: 3600 }, { "idempotency-key": SHARED_IDEMPOTENCY_KEY });
    expect(response.status).toBe(201);
    expect(response.body.id).not.toBe(alice.sandboxId);
    expect(response.body.cargo_id).not.toBe(alice.managedCargoId);
    expect((await as("bob", "DELETE", `/v1/sandboxes/${response.body.id}`)).status).toBe(204);
  });

  test("after all of bob's attempts alice's sandbox is unchanged: same view, container, file and Python state", async () => {
    expect(await aliceView()).toEqual(alice.view);
    expect(containersWithLabel(`bay.sandbox_id=${alice.sandboxId}`)).toEqual(alice.containers);
    const file = await as("alice", "POST", `${sandboxPath()}/files/read`, { path: SECRET_PATH });
    expect(file.body).toEqual({ content: SECRET });
    const python = await as("alice", "POST", `${sandboxPath()}/python/exec`, { code: "print(secret_value)" });
    expect(python.body.output).toBe("42\n");
    expect((await as("alice", "GET", `/v1/cargos/${alice.externalCargoId}`)).status).toBe(200);
    // Her process still runs, its terminal unresized and its input untouched by bob's.
    const processes = (await as("alice", "GET", `${sandboxPath()}/processes`)).body.items;
    expect(processes.map((process: { pid: number; running: boolean }) => [process.pid, process.running])).toEqual([[alice.pid, true]]);
    const output = await as("alice", "GET", `${sandboxPath()}/processes/output?pid=${alice.pid}`);
    expect(output.body.process.output_bytes).toBe(0);
  });
});
