/**
 * A driver with no engine, for tests of the core: containers and volumes are
 * entries in maps, and each started container serves a fake agent over real
 * HTTP (loopback, or a unix socket for network "none"), so that Bay's agent
 * client runs unchanged. It passes the same contract as DockerDriver
 * (test/drivers/contract.ts); the hooks below play what the engine would do
 * on its own (a kill, a pause, a lost event stream, a failure).
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Server } from "bun";
import { PYTHON_EXEC } from "../../plugins/python/routes.ts";
import type { PythonExecOutcome } from "../../plugins/python/schemas.ts";
import { SHELL_EXEC } from "../../plugins/shell/routes.ts";
import type { ShellExecOutcome } from "../../plugins/shell/schemas.ts";
import { describeContainerEnd } from "../../src/core/container-end.ts";
import type {
  ContainerEndEvent,
  ContainerInfo,
  Driver,
  EventSubscription,
  Labels,
  SessionContainerSpec,
  StartedContainer,
  VolumeInfo,
} from "../../src/core/driver.ts";
import {
  AGENT_API_VERSION,
  AGENT_SOCKET_NAME,
  AGENT_TOKEN_FILE_NAME,
  SANDBOX_GID,
  SANDBOX_UID,
  WORKSPACE_MOUNT_PATH,
  type AgentErrorBody,
  type AgentMeta,
} from "../../src/shared/agent-protocol.ts";
import { AgentError, BayError } from "../../src/shared/errors.ts";
import { VERSION } from "../../src/shared/version.ts";

export type FakeAgentRoute = (request: Request) => Response | Promise<Response>;

export interface MemoryDriverOptions {
  /** Images the engine has; by default every image except those named `missing/…`. */
  images?: string[];
  /** Capabilities the fake agent reports in /meta. */
  capabilities?: string[];
  /** Routes of the fake agent, keyed "METHOD /path"; they replace the defaults of the same key. */
  agentRoutes?: Record<string, FakeAgentRoute>;
  /** Every call fails as against an engine that cannot be reached. */
  unreachable?: boolean;
}

export const DEFAULT_FAKE_CAPABILITIES = ["filesystem", "shell", "python"];
/** SIGKILL's exit status, what `docker kill` leaves. */
const KILLED_EXIT_CODE = 137;

const pythonSuccess: PythonExecOutcome = {
  success: true,
  output: "",
  error: null,
  data: { execution_count: 1, output: { text: "", images: [] } },
  execution_time_ms: 0,
};
const shellSuccess: ShellExecOutcome = { success: true, output: "", error: "", exit_code: 0, execution_time_ms: 0 };

const DEFAULT_AGENT_ROUTES: Record<string, FakeAgentRoute> = {
  [PYTHON_EXEC.key]: () => Response.json(pythonSuccess),
  [SHELL_EXEC.key]: () => Response.json(shellSuccess),
};

function agentError(status: number, code: string, message: string): Response {
  const body: AgentErrorBody = { error: { code, message } };
  return Response.json(body, { status });
}

/** What a started container's agent answers: /health, /meta behind the token, and the given routes. */
class FakeAgent {
  /** While set, requests wait on it: a frozen container's agent accepts connections but never answers. */
  private frozen: PromiseWithResolvers<void> | null = null;

  private constructor(
    private readonly server: Server<undefined>,
    readonly endpoint: string,
  ) {}

  static start(spec: SessionContainerSpec, meta: AgentMeta, routes: Record<string, FakeAgentRoute>): FakeAgent {
    // The token the agent's arguments point at, in the session's directory, as a real agent reads it.
    const expected = `Bearer ${readFileSync(join(spec.sessionDir, AGENT_TOKEN_FILE_NAME), "utf8")}`;
    let agent: FakeAgent | undefined;
    const fetch = async (request: Request): Promise<Response> => {
      if (agent?.frozen) await agent.frozen.promise;
      const path = new URL(request.url).pathname;
      if (request.method === "GET" && path === "/health") return Response.json({ status: "ok" });
      if (request.headers.get("authorization") !== expected) return agentError(401, "unauthorized", "missing or wrong session token");
      if (request.method === "GET" && path === "/meta") return Response.json(meta);
      const route = routes[`${request.method} ${path}`];
      return route ? route(request) : agentError(404, "not_found", `no route ${request.method} ${path}`);
    };
    if (spec.network.kind === "none") {
      const socket = `${spec.sessionDir}/${AGENT_SOCKET_NAME}`;
      // Bun's types leave idleTimeout out for unix sockets, but its default of 10 s applies there too.
      const options = { unix: socket, idleTimeout: 0, fetch } as unknown as Parameters<typeof Bun.serve>[0];
      agent = new FakeAgent(Bun.serve(options) as Server<undefined>, `unix://${socket}`);
    } else {
      const server = Bun.serve({ hostname: "127.0.0.1", port: 0, idleTimeout: 0, fetch });
      agent = new FakeAgent(server, `http://127.0.0.1:${server.port}`);
    }
    return agent;
  }

  freeze(): void {
    this.frozen ??= Promise.withResolvers<void>();
  }

  thaw(): void {
    this.frozen?.resolve();
    this.frozen = null;
  }

  async stop(): Promise<void> {
    const stopped = this.server.stop(true);
    this.thaw();
    await stopped;
  }
}

interface MemoryContainer {
  info: ContainerInfo;
  volumeName: string;
  agent: FakeAgent | null;
  logs: string;
}

interface Subscriber {
  labels: Labels;
  onEnd: (event: ContainerEndEvent) => void;
  onClosed: (error?: Error) => void;
}

const hasLabels = (labels: Labels, wanted: Labels) => Object.entries(wanted).every(([key, value]) => labels[key] === value);

export class MemoryDriver implements Driver {
  readonly name = "memory";
  readonly endpoint = "memory://";
  readonly callDeadlineMs = 1000;

  private readonly containerMap = new Map<string, MemoryContainer>();
  private readonly volumeMap = new Map<string, VolumeInfo>();
  private readonly volumeSizeMap = new Map<string, number>();
  private readonly subscribers = new Set<Subscriber>();
  private readonly failures = new Map<keyof Driver, Error[]>();
  private readonly callLog: string[] = [];
  /** What each start was asked to run, in order. */
  readonly startedSpecs: SessionContainerSpec[] = [];
  private readonly meta: AgentMeta;
  private readonly agentRoutes: Record<string, FakeAgentRoute>;

  constructor(private readonly options: MemoryDriverOptions = {}) {
    this.meta = {
      runtime: { name: "bay-ship", version: VERSION, api_version: AGENT_API_VERSION },
      workspace: { mount_path: WORKSPACE_MOUNT_PATH },
      sandbox_user: { uid: SANDBOX_UID, gid: SANDBOX_GID, isolation: "no_capabilities" },
      capabilities: Object.fromEntries((options.capabilities ?? DEFAULT_FAKE_CAPABILITIES).map((name) => [name, {}])),
    };
    this.agentRoutes = { ...DEFAULT_AGENT_ROUTES, ...options.agentRoutes };
  }

  /** Every container the engine holds, running or not. */
  get containers(): ContainerInfo[] {
    return [...this.containerMap.values()].map((c) => ({ ...c.info, labels: { ...c.info.labels } }));
  }

  get volumes(): VolumeInfo[] {
    return [...this.volumeMap.values()].map((v) => ({ ...v, labels: { ...v.labels } }));
  }

  /** The driver operations called so far, in order. */
  get calls(): string[] {
    return [...this.callLog];
  }

  async ping(): Promise<void> {
    this.enter("ping");
  }

  async createVolume(name: string, labels: Labels): Promise<void> {
    this.enter("createVolume");
    // Like the engine: creating a volume that exists is a no-op, its labels stay.
    if (!this.volumeMap.has(name)) this.volumeMap.set(name, { name, labels: { ...labels }, createdAt: Date.now() });
  }

  async removeVolume(name: string): Promise<void> {
    this.enter("removeVolume");
    if (!this.volumeMap.has(name)) return;
    const user = [...this.containerMap.values()].find((c) => c.volumeName === name);
    if (user) {
      throw new BayError("ship_error", `container engine failed to remove a volume: volume ${name} is in use by ${user.info.id}`, {
        action: "remove a volume",
        engine_status: 409,
      });
    }
    this.volumeMap.delete(name);
    this.volumeSizeMap.delete(name);
  }

  async startSessionContainer(spec: SessionContainerSpec): Promise<StartedContainer> {
    this.enter("startSessionContainer");
    if (!this.hasImage(spec.image)) {
      throw new BayError("ship_error", `image ${spec.image} is not available: it is not present on the engine`, { image: spec.image });
    }
    if (this.find(spec.name)) {
      throw new BayError("ship_error", `container engine failed to create the container: the name ${spec.name} is in use`, {
        action: "create the container",
        engine_status: 409,
      });
    }
    // Like the engine, mounting a volume that does not exist creates it, unlabelled.
    if (!this.volumeMap.has(spec.volumeName)) this.volumeMap.set(spec.volumeName, { name: spec.volumeName, labels: {}, createdAt: Date.now() });
    const id = randomBytes(32).toString("hex");
    const agent = FakeAgent.start(spec, this.meta, this.agentRoutes);
    this.startedSpecs.push(spec);
    this.containerMap.set(id, {
      info: { id, name: spec.name, labels: { ...spec.labels }, running: true, createdAt: Date.now(), exitCode: 0, oomKilled: false, paused: false },
      volumeName: spec.volumeName,
      agent,
      logs: "",
    });
    return { containerId: id, endpoint: agent.endpoint };
  }

  /** Removing a running container kills it first, and that end is reported, as the engine does. */
  async removeContainer(idOrName: string): Promise<void> {
    this.enter("removeContainer");
    const container = this.find(idOrName);
    if (!container) return;
    this.containerMap.delete(container.info.id);
    if (container.info.running) {
      await this.end(container, describeContainerEnd({ killSignal: "9", exitCode: KILLED_EXIT_CODE }), KILLED_EXIT_CODE);
    }
    await container.agent?.stop();
  }

  async inspectContainer(idOrName: string): Promise<ContainerInfo | null> {
    this.enter("inspectContainer");
    const container = this.find(idOrName);
    return container ? { ...container.info, labels: { ...container.info.labels } } : null;
  }

  /** Like DockerDriver, never fails: the logs only decorate an error message. */
  async readLogs(idOrName: string, tailLines: number): Promise<string> {
    this.callLog.push("readLogs");
    this.takeFailure("readLogs");
    if (this.options.unreachable) return "";
    const text = this.find(idOrName)?.logs ?? "";
    const lines = text.split("\n");
    const trailingNewline = text.endsWith("\n");
    if (trailingNewline) lines.pop();
    return lines.slice(-tailLines).join("\n") + (trailingNewline && tailLines > 0 ? "\n" : "");
  }

  async listContainers(labels: Labels): Promise<ContainerInfo[]> {
    this.enter("listContainers");
    return this.containers.filter((c) => hasLabels(c.labels, labels));
  }

  async listVolumes(labels: Labels): Promise<VolumeInfo[]> {
    this.enter("listVolumes");
    return this.volumes.filter((v) => hasLabels(v.labels, labels));
  }

  /** Every asked volume that exists: its size as set with setVolumeSize, else 0. */
  async volumeSizes(names: string[]): Promise<Map<string, number>> {
    this.enter("volumeSizes");
    return new Map(names.filter((name) => this.volumeMap.has(name)).map((name) => [name, this.volumeSizeMap.get(name) ?? 0]));
  }

  async watchContainerEnds(
    labels: Labels,
    onEnd: (event: ContainerEndEvent) => void,
    onClosed: (error?: Error) => void,
  ): Promise<EventSubscription> {
    this.enter("watchContainerEnds");
    const subscriber: Subscriber = { labels: { ...labels }, onEnd, onClosed };
    this.subscribers.add(subscriber);
    return { close: () => void this.subscribers.delete(subscriber) };
  }

  async close(): Promise<void> {
    await Promise.all([...this.containerMap.values()].map((c) => c.agent?.stop()));
  }

  // Test hooks: what the engine or the world would do on its own.

  /** The container ends (killed by default): its agent stops, and every matching subscriber hears of it. */
  async endContainer(idOrName: string, reason = "exited with code 137 (killed)", exitCode = KILLED_EXIT_CODE): Promise<void> {
    const container = this.find(idOrName);
    if (!container) throw new Error(`memory driver: no container ${idOrName}`);
    if (!container.info.running) return;
    await this.end(container, reason, exitCode);
  }

  /** Frozen like `docker pause`: still running, but its agent takes requests and never answers. */
  pauseContainer(idOrName: string): void {
    const container = this.find(idOrName);
    if (!container) throw new Error(`memory driver: no container ${idOrName}`);
    container.info.paused = true;
    container.agent?.freeze();
  }

  unpauseContainer(idOrName: string): void {
    const container = this.find(idOrName);
    if (!container) throw new Error(`memory driver: no container ${idOrName}`);
    container.info.paused = false;
    container.agent?.thaw();
  }

  /** The next call of `operation` rejects with `error` (several calls queue up in order). */
  failNext(operation: keyof Driver, error: Error): void {
    this.failures.set(operation, [...(this.failures.get(operation) ?? []), error]);
  }

  setVolumeSize(name: string, bytes: number): void {
    this.volumeSizeMap.set(name, bytes);
  }

  /** What readLogs answers for this container. */
  setLogs(idOrName: string, text: string): void {
    const container = this.find(idOrName);
    if (!container) throw new Error(`memory driver: no container ${idOrName}`);
    container.logs = text;
  }

  /** The engine's event streams end (an engine restart): every subscriber's onClosed is called, once. */
  closeEventStreams(error?: Error): void {
    const subscribers = [...this.subscribers];
    this.subscribers.clear();
    for (const subscriber of subscribers) subscriber.onClosed(error);
  }

  private async end(container: MemoryContainer, reason: string, exitCode: number): Promise<void> {
    const endedAt = Date.now();
    Object.assign(container.info, { running: false, paused: false, exitCode, finishedAt: endedAt });
    const stopped = container.agent?.stop();
    container.agent = null;
    const event = { containerId: container.info.id, labels: { ...container.info.labels }, reason, endedAt };
    for (const subscriber of [...this.subscribers]) {
      if (hasLabels(event.labels, subscriber.labels)) subscriber.onEnd({ ...event, labels: { ...event.labels } });
    }
    await stopped;
  }

  private find(idOrName: string): MemoryContainer | undefined {
    return this.containerMap.get(idOrName) ?? [...this.containerMap.values()].find((c) => c.info.name === idOrName);
  }

  private hasImage(image: string): boolean {
    return this.options.images ? this.options.images.includes(image) : !image.startsWith("missing/");
  }

  /** Records the call, then fails it as the engine would: unreachable, or as told by failNext. */
  private enter(operation: keyof Driver): void {
    this.callLog.push(operation);
    if (this.options.unreachable) {
      throw new BayError("driver_unavailable", `container engine at ${this.endpoint} cannot be reached`, { endpoint: this.endpoint });
    }
    this.takeFailure(operation);
  }

  private takeFailure(operation: keyof Driver): void {
    const queued = this.failures.get(operation);
    const failure = queued?.shift();
    if (queued?.length === 0) this.failures.delete(operation);
    if (failure) throw failure;
  }
}
