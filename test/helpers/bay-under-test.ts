/**
 * A Bay under test, whatever it runs on: started from config through the
 * composition root as `bay serve` is, and driven through its HTTP app
 * without a socket. test/helpers/test-bay.ts runs it on the real engine,
 * test/helpers/memory-bay.ts on the in-memory driver (no engine needed).
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { BayConfig } from "../../src/core/config/index.ts";
import type { BayCore } from "../../src/core/bay-core.ts";
import type { BayApp } from "../../src/api/app.ts";
import type { Driver } from "../../src/core/driver.ts";
import { createBay, createBayApp, loadBayConfig } from "../../src/composition/bay.ts";
import { TEST_API_KEY, TEST_RUNTIME } from "./env.ts";

export interface TestBay {
  core: BayCore;
  app: BayApp;
  instanceId: string;
  config: BayConfig;
  /** Sends one request through the app, as a client would, with the test key unless told otherwise. */
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<TestResponse>;
  /** Multipart bodies in, raw bytes out (uploads, downloads); a JSON answer is parsed into `body`. */
  raw(method: string, path: string, body?: FormData): Promise<RawTestResponse>;
  close(): Promise<void>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  body: any;
}

export interface RawTestResponse extends TestResponse {
  /** The body's bytes as received (downloads). */
  bytes: Uint8Array;
}

/** Keys of the test owners: "tester" (the default, admin), "alice" and "bob". */
export const OWNER_KEYS = {
  tester: TEST_API_KEY,
  alice: "alice-key-0123456789ab",
  bob: "bob-key-0123456789abcd",
} as const;
export type TestOwner = keyof typeof OWNER_KEYS;

/** Config for a Bay that knows all three test owners. */
export const THREE_OWNERS_CONFIG = {
  security: {
    api_keys: [
      { key: OWNER_KEYS.tester, owner: "tester", admin: true },
      { key: OWNER_KEYS.alice, owner: "alice", admin: false },
      { key: OWNER_KEYS.bob, owner: "bob", admin: false },
    ],
  },
};

export const authorizationOf = (owner: TestOwner) => ({ authorization: `Bearer ${OWNER_KEYS[owner]}` });

export interface TestBayOptions {
  /** Extra YAML-shaped config, merged over the test defaults. */
  config?: Record<string, unknown>;
  env?: Record<string, string>;
  /** Start the daemon's background work too: reconciliation, engine events, the collector. */
  background?: boolean;
}

/** Where a test Bay runs: its engine (a driver, or the configured one), image and agent binary, and how its objects are removed. */
export interface TestEngine {
  image: string;
  agentBinaryPath: string;
  /** A driver to run on instead of the one the config names (the in-memory driver). */
  driver?: () => Driver;
  /** Removes what the Bay left on the engine, behind its back. */
  removeObjects(instanceId: string): Promise<void>;
}

/** A Bay (real SQLite, the real HTTP app) on a fresh data dir with its own instance id, over the given engine. */
export async function openTestBay(engine: TestEngine, options: TestBayOptions = {}): Promise<TestBay> {
  const dataDir = mkdtempSync(join(tmpdir(), "bay-test-"));
  const instanceId = `test-${randomBytes(4).toString("hex")}`;
  const config = loadBayConfig({
    env: { BAY_DEFAULT_IMAGE: engine.image, ...options.env },
    flags: {
      data_dir: dataDir,
      instance_id: instanceId,
      log: { level: process.env.BAY_TEST_LOG ?? "warn" },
      ship: { binary_path: engine.agentBinaryPath, ready_timeout_seconds: 30 },
      security: { api_keys: [{ key: TEST_API_KEY, owner: "tester", admin: true }] },
      ...options.config,
    },
  });
  if (TEST_RUNTIME === "gvisor") for (const profile of config.profiles) profile.runtime = "gvisor";
  const core = await createBay(config, engine.driver?.());
  if (options.background) await core.startBackground();
  const app = await createBayApp(core);

  return {
    core,
    app,
    instanceId,
    config,
    async request(method, path, body, headers = {}) {
      const response = await app.handle(
        new Request(`http://localhost${path}`, {
          method,
          headers: {
            authorization: `Bearer ${TEST_API_KEY}`,
            ...(body === undefined ? {} : { "content-type": "application/json" }),
            ...headers,
          },
          body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
        }),
      );
      return testResponseOf(response);
    },
    async raw(method, path, body) {
      const response = await app.handle(
        new Request(`http://localhost${path}`, { method, headers: { authorization: `Bearer ${TEST_API_KEY}` }, body }),
      );
      const bytes = new Uint8Array(await response.arrayBuffer());
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(new TextDecoder().decode(bytes));
      } catch {
        // Raw bytes: no JSON body.
      }
      return { status: response.status, headers: response.headers, body: parsed, bytes };
    },
    async close() {
      await core.close();
      await engine.removeObjects(instanceId);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A response as tests read it: the body parsed as JSON, or kept as text when it is not JSON (event streams, downloads). */
export async function testResponseOf(response: Response): Promise<TestResponse> {
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: the raw text is the body.
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/**
 * Asserts that each request is a 422 validation_error naming its field, in
 * one comparison, so that a failure shows every case at once.
 */
export async function expectFieldErrors(
  fieldByCase: Record<string, string>,
  send: (testCase: string) => Promise<TestResponse>,
): Promise<void> {
  const outcomes: Record<string, string> = {};
  for (const testCase of Object.keys(fieldByCase)) {
    const { status, body } = await send(testCase);
    outcomes[testCase] = `${status} ${body?.error?.code} field=${body?.error?.details?.field}`;
  }
  const expected = Object.fromEntries(Object.entries(fieldByCase).map(([c, field]) => [c, `422 validation_error field=${field}`]));
  expect(outcomes).toEqual(expected);
}

/**
 * A test Bay for the whole file: started before its first test, closed after
 * its last. The returned object stands for it once started.
 */
export function useBayFrom(start: (options: TestBayOptions) => Promise<TestBay>, options: TestBayOptions = {}): TestBay {
  let started: TestBay | undefined;
  beforeAll(async () => {
    started = await start(options);
  });
  afterAll(async () => {
    await started?.close();
  });
  return new Proxy({} as TestBay, {
    get(_, property) {
      if (!started) throw new Error("the test Bay is used before beforeAll started it");
      return started[property as keyof TestBay];
    },
  });
}

/** A sandbox of the file's test Bay, created once before its tests (register after useTestBay). */
export function useSandbox(bay: TestBay, body: Record<string, unknown> = {}): { readonly id: string } {
  const sandbox = { id: "" };
  beforeAll(async () => {
    sandbox.id = (await bay.request("POST", "/v1/sandboxes", body)).body.id;
  });
  return sandbox;
}

/** Asserts the contract's error envelope and returns its error. */
export function expectErrorShape(response: TestResponse, status: number, code: string) {
  expect({ status: response.status, code: response.body?.error?.code }).toEqual({ status, code });
  expect(typeof response.body.error.message).toBe("string");
  expect(typeof response.body.error.request_id).toBe("string");
  expect(typeof response.body.error.details).toBe("object");
  expect(response.headers.get("x-request-id")).toBe(response.body.error.request_id);
  return response.body.error;
}
