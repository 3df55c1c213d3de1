/**
 * A whole Bay core over the in-memory driver, for unit tests that need no
 * engine: the composition root builds it from config as `bay serve` does,
 * with a temporary data dir, gc off (tests run its tasks by hand) and two
 * API keys. `request` goes through the real HTTP app without a socket.
 */
import { afterEach } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBay, createBayApp, loadBayConfig } from "../../../src/composition/bay.ts";
import type { BayApp } from "../../../src/api/app.ts";
import type { BayCore } from "../../../src/core/bay-core.ts";
import type { ContainerInfo, SessionContainerSpec, StartedContainer } from "../../../src/core/driver.ts";
import { LABEL } from "../../../src/core/labels.ts";
import { StateStore } from "../../../src/core/state-store.ts";
import { MemoryDriver, type MemoryDriverOptions } from "../../drivers/memory-driver.ts";

export const OWNER = "tester";
export const OTHER_OWNER = "other";
const KEYS: Record<string, string> = { [OWNER]: "unit-key-0123456789abcdef", [OTHER_OWNER]: "unit-key-other-0123456789abcdef" };

/**
 * The memory driver with hooks around a container start, to play what an
 * engine does at its own pace: a slow start, an agent that exits or freezes
 * before it is ready.
 */
export class ScriptedDriver extends MemoryDriver {
  beforeStart: ((spec: SessionContainerSpec) => Promise<void>) | null = null;
  afterStart: ((started: StartedContainer) => Promise<void>) | null = null;

  override async startSessionContainer(spec: SessionContainerSpec): Promise<StartedContainer> {
    await this.beforeStart?.(spec);
    const started = await super.startSessionContainer(spec);
    await this.afterStart?.(started);
    return started;
  }

  /** How many container starts were asked of the driver so far. */
  get starts(): number {
    return this.calls.filter((call) => call === "startSessionContainer").length;
  }

  /** Containers that belong to a sandbox, running or not. */
  containersOf(sandboxId: string): ContainerInfo[] {
    return this.containers.filter((container) => container.labels[LABEL.sandboxId] === sandboxId);
  }
}

/** Starts held at the driver until released: for what happens while a start is in flight. */
export function holdStarts(driver: ScriptedDriver): { entered: Promise<void>; release: () => void } {
  const entered = Promise.withResolvers<void>();
  const gate = Promise.withResolvers<void>();
  driver.beforeStart = async () => {
    entered.resolve();
    await gate.promise;
  };
  return {
    entered: entered.promise,
    release: () => {
      driver.beforeStart = null;
      gate.resolve();
    },
  };
}

export interface UnitBayOptions {
  /** Config sections shaped like the config file, replacing the defaults below section by section. */
  config?: Record<string, unknown>;
  driver?: MemoryDriverOptions;
}

export interface UnitBay {
  core: BayCore;
  driver: ScriptedDriver;
  /** The state database, for what the API does not show (sessions, deadlines). */
  store: StateStore;
  dataDir: string;
  /** A request through the HTTP app, authenticated as `as` (OWNER by default). */
  request(method: string, path: string, init?: { body?: unknown; headers?: Record<string, string>; as?: string }): Promise<Response>;
  close(): Promise<void>;
}

/** The profile most tests use; its image is any name the memory driver has. */
export const UNIT_PROFILE = { id: "python-default", image: "unit/python:1", idle_timeout: 600 };

export async function startUnitBay(options: UnitBayOptions = {}): Promise<UnitBay> {
  const dataDir = mkdtempSync(join(tmpdir(), "bay-unit-"));
  const defaults: Record<string, unknown> = {
    data_dir: dataDir,
    instance_id: `unit-${crypto.randomUUID().slice(0, 8)}`,
    log: { level: "silent" },
    ship: { binary_path: process.execPath },
    security: { api_keys: Object.entries(KEYS).map(([owner, key]) => ({ key, owner, admin: owner === OWNER })) },
    profiles: [UNIT_PROFILE],
    gc: { enabled: false, orphan_grace_seconds: 0 },
  };
  const config = loadBayConfig({ env: {}, cwd: dataDir, flags: mergeSections(defaults, options.config ?? {}) });
  const driver = new ScriptedDriver(options.driver);
  const core = await createBay(config, driver);
  // The only replica: it keeps the warm pools, as a daemon would.
  await core.replica.lead();
  let app: BayApp | null = null;
  return {
    core,
    driver,
    store: new StateStore(core.state),
    dataDir,
    async request(method, path, init = {}) {
      app ??= await createBayApp(core);
      const headers: Record<string, string> = { authorization: `Bearer ${KEYS[init.as ?? OWNER]}`, ...init.headers };
      if (init.body !== undefined) headers["content-type"] = "application/json";
      const body = init.body === undefined ? undefined : JSON.stringify(init.body);
      return app.handle(new Request(`http://bay.unit${path}`, { method, headers, body }));
    },
    async close() {
      await core.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** For a test file: a start function whose bays are closed (data dir removed) after each test. */
export function useUnitBays(): (options?: UnitBayOptions) => Promise<UnitBay> {
  const open: UnitBay[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((bay) => bay.close()));
  });
  return async (options) => {
    const bay = await startUnitBay(options);
    open.push(bay);
    return bay;
  };
}

/** A Python cell through the HTTP API, as a client sends it. */
export function execPython(bay: UnitBay, sandboxId: string, code = "x = 1", as?: string): Promise<Response> {
  return bay.request("POST", `/v1/sandboxes/${sandboxId}/python/exec`, { body: { code }, as });
}

/** Each given section replaces the default's keys it names; other sections stay. */
function mergeSections(defaults: Record<string, unknown>, given: Record<string, unknown>): Record<string, unknown> {
  const merged = { ...defaults };
  for (const [key, value] of Object.entries(given)) {
    const base = merged[key];
    merged[key] = isPlainObject(base) && isPlainObject(value) ? { ...base, ...value } : value;
  }
  return merged;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Waits for a condition the core reaches in the background (an engine event handled). */
export async function eventually(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > giveUpAt) throw new Error(`timed out waiting until ${what}`);
    await Bun.sleep(10);
  }
}
