import { expect } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { loadConfig, type BayConfig } from "../../src/core/config/index.ts";
import { createBayCore, type BayCore } from "../../src/core/bay-core.ts";
import { createApp, type BayApp } from "../../src/api/app.ts";
import { BAY_BINARY, TEST_API_KEY, TEST_IMAGE } from "./env.ts";
import { removeInstanceObjects } from "./docker.ts";

export interface TestBay {
  core: BayCore;
  app: BayApp;
  instanceId: string;
  config: BayConfig;
  /** Sends one request through the app, as a client would, with the test key unless told otherwise. */
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  body: any;
}

export interface TestBayOptions {
  /** Extra YAML-shaped config, merged over the test defaults. */
  config?: Record<string, unknown>;
  env?: Record<string, string>;
}

/** A real Bay (real SQLite, real Docker) on a fresh data dir with its own instance id. */
export async function startTestBay(options: TestBayOptions = {}): Promise<TestBay> {
  const dataDir = mkdtempSync(join(tmpdir(), "bay-test-"));
  const instanceId = `test-${randomBytes(4).toString("hex")}`;
  const config = loadConfig({
    env: { BAY_DEFAULT_IMAGE: TEST_IMAGE, ...options.env },
    flags: {
      data_dir: dataDir,
      instance_id: instanceId,
      log: { level: process.env.BAY_TEST_LOG ?? "warn" },
      ship: { binary_path: BAY_BINARY, ready_timeout_seconds: 30 },
      security: { api_keys: [{ key: TEST_API_KEY, owner: "tester", admin: true }] },
      ...options.config,
    },
  });
  const core = await createBayCore(config);
  const app = await createApp(core);

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
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        // Not JSON: the raw text is the body.
      }
      return { status: response.status, headers: response.headers, body: parsed };
    },
    async close() {
      await core.close();
      await removeInstanceObjects(instanceId);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
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
