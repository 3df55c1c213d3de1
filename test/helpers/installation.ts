import { afterAll, expect } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { TEST_IMAGE } from "./env.ts";
import { containerIdsWithLabels, removeInstanceObjects, volumesWithLabel } from "./docker.ts";
import { startServeProcess, type ServeProcess } from "./serve-process.ts";

/** The admin key of every installation's daemon. */
const API_KEY = "daemon-key-0123456789abcdef";

export interface Answer {
  status: number;
  body: any;
}

/** One Bay installation — a data dir and an instance id — whose daemon the tests kill and restart. */
export class Installation {
  static readonly all: Installation[] = [];
  readonly dataDir = mkdtempSync(join(tmpdir(), "bay-daemon-"));
  readonly instanceId = `test-${randomBytes(4).toString("hex")}`;
  /** Other instance ids whose objects a test created and afterAll must remove. */
  readonly foreignInstances: string[] = [];
  private daemon: ServeProcess | null = null;

  constructor(private readonly settings: Record<string, string> = {}) {
    Installation.all.push(this);
  }

  get label(): string {
    return `bay.instance_id=${this.instanceId}`;
  }

  get url(): string {
    if (!this.daemon) throw new Error("the daemon is not running");
    return this.daemon.url;
  }

  get process(): ServeProcess["process"] {
    if (!this.daemon) throw new Error("the daemon is not running");
    return this.daemon.process;
  }

  async start(): Promise<void> {
    this.daemon = await startServeProcess({
      BAY_DATA_DIR: this.dataDir,
      BAY_INSTANCE_ID: this.instanceId,
      BAY_DEFAULT_IMAGE: TEST_IMAGE,
      BAY_API_KEY: API_KEY,
      ...this.settings,
    });
  }

  /** SIGKILL: the daemon gets no chance to clean anything up. */
  async crash(): Promise<void> {
    await this.daemon?.stop("SIGKILL");
    this.daemon = null;
  }

  /** Sends a signal and returns the exit code once the daemon has exited. */
  async signal(signal: NodeJS.Signals): Promise<number> {
    const code = await this.daemon!.stop(signal);
    this.daemon = null;
    return code;
  }

  async call(method: string, path: string, body?: unknown): Promise<Answer> {
    const response = await this.send(method, path, body);
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }

  /** The raw request, for callers that watch it while the daemon goes away. */
  send(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`${this.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  async createSandbox(): Promise<string> {
    const created = await this.call("POST", "/v1/sandboxes", {});
    expect(created.status).toBe(201);
    return created.body.id;
  }

  python(sandboxId: string, code: string): Promise<Answer> {
    return this.call("POST", `/v1/sandboxes/${sandboxId}/python/exec`, { code });
  }

  shell(sandboxId: string, command: string): Promise<Answer> {
    return this.call("POST", `/v1/sandboxes/${sandboxId}/shell/exec`, { command });
  }

  /** Reads the state database as it is now (WAL mode: a read-only connection sees committed rows). */
  query<T>(sql: string, ...params: (string | number)[]): T[] {
    const db = new Database(join(this.dataDir, "bay.sqlite"), { readonly: true });
    try {
      return db.query(sql).all(...params) as T[];
    } finally {
      db.close();
    }
  }

  /** Only while the daemon is down: changes the state database as an interrupted operation would have left it. */
  writeDatabase(sql: string, ...params: (string | number)[]): void {
    expect(this.daemon).toBeNull();
    const db = new Database(join(this.dataDir, "bay.sqlite"));
    try {
      db.query(sql).run(...params);
    } finally {
      db.close();
    }
  }
}

/** Registers the clean-up of every installation a test file makes. */
export function cleanUpInstallations(): void {
  afterAll(async () => {
    for (const installation of Installation.all) {
      await installation.crash();
      for (const instance of [installation.instanceId, ...installation.foreignInstances]) await removeInstanceObjects(instance);
      rmSync(installation.dataDir, { recursive: true, force: true });
    }
  });
}

export function docker(...args: string[]): string {
  const result = Bun.spawnSync(["docker", ...args], { stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`docker ${args.join(" ")} failed: ${result.stderr.toString()}`);
  return result.stdout.toString().trim();
}


/** Full ids of the containers carrying all these labels; running ones only unless `all`. */
export const containerIds = containerIdsWithLabels;

/**
 * The engine's containers and volumes of this instance next to what the
 * database says should exist: exactly the running sessions' containers (all
 * of them running) and the volumes of the cargos not deleted. `problems`
 * lists rows that contradict each other.
 */
export function engineAndDatabase(installation: Installation) {
  const runningSessions = installation.query<{ container_id: string | null }>("SELECT container_id FROM sessions WHERE status = 'running'");
  const liveCargos = installation.query<{ volume_name: string; id: string }>("SELECT id, volume_name FROM cargos WHERE deleted_at IS NULL");
  const problems = [
    ...installation.query<{ id: string }>("SELECT id FROM sessions WHERE status = 'starting'").map((s) => `session ${s.id} still starting`),
    ...installation
      .query<{ id: string }>("SELECT s.id FROM sessions s JOIN sandboxes b ON b.id = s.sandbox_id WHERE s.status = 'running' AND b.deleted_at IS NOT NULL")
      .map((s) => `session ${s.id} runs for a deleted sandbox`),
    ...installation
      .query<{ sandbox_id: string }>("SELECT sandbox_id FROM sessions WHERE status = 'running' GROUP BY sandbox_id HAVING count(*) > 1")
      .map((s) => `sandbox ${s.sandbox_id} has several running sessions`),
    ...installation
      .query<{ id: string }>(
        "SELECT b.id FROM sandboxes b LEFT JOIN cargos c ON c.id = b.cargo_id WHERE b.deleted_at IS NULL AND (c.id IS NULL OR c.deleted_at IS NOT NULL)",
      )
      .map((s) => `live sandbox ${s.id} has no live cargo`),
    ...liveCargos.filter((c) => c.volume_name !== `bay-cargo-${c.id}`).map((c) => `cargo ${c.id} names volume ${c.volume_name}`),
  ];
  const sessionContainers = runningSessions.map((s) => s.container_id ?? "(none)").sort();
  return {
    engine: {
      containers: containerIds([installation.label], { all: true }),
      running: containerIds([installation.label]),
      volumes: volumesWithLabel(installation.label).sort(),
    },
    database: {
      containers: sessionContainers,
      running: sessionContainers,
      volumes: liveCargos.map((c) => `bay-cargo-${c.id}`).sort(),
    },
    problems,
  };
}

export function expectEngineMatchesDatabase(installation: Installation): void {
  const { engine, database, problems } = engineAndDatabase(installation);
  expect(problems).toEqual([]);
  expect(engine).toEqual(database);
}

