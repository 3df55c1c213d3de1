/**
 * What the core needs from a container engine. Drivers hold no policy: the
 * sandbox service decides what to start and when; a driver only does it.
 * Every removal is idempotent (absent is success). Every failure is a
 * BayError: `driver_unavailable` when the engine cannot be reached or does
 * not answer within `callDeadlineMs`, `ship_error` when it answers with a
 * failure. test/drivers/contract.ts holds every driver to this.
 */
import type { TSchema } from "@sinclair/typebox";
import type { EgressPolicy } from "./network-policy.ts";

export type Labels = Record<string, string>;

/** What profiles may run sandboxes under (`runtime`): runc, or gVisor's user-space kernel. */
export type SandboxRuntime = "runc" | "gvisor";

export interface SessionContainerSpec {
  /** `bay-session-<session id>` (api.md §9). */
  name: string;
  image: string;
  labels: Labels;
  env: Record<string, string>;
  /** Cargo volume mounted read-write at /workspace. */
  volumeName: string;
  /** Host path of the `bay` executable, mounted read-only as the agent. */
  agentBinaryPath: string;
  agentPort: number;
  /** Arguments of the agent binary, e.g. ["ship", "--port", "8123"]. */
  agentArgs: string[];
  resources: { nanoCpus: number; memoryBytes: number; pidsLimit: number };
  /** Where the sandbox may send packets; the driver enforces it on the engine (docs/security.md). */
  network: EgressPolicy;
  hardening: { readOnlyRootfs: boolean; noNewPrivileges: boolean; extraCapabilities: string[]; tmpSize: string };
  /** The profile's container runtime; a driver that cannot run it fails the start, it never falls back. */
  runtime: SandboxRuntime;
  /**
   * The session's host directory, root's alone, mounted at AGENT_SESSION_DIR
   * (read-only but with network "none"): the token file the agent's arguments
   * name, and with network "none" the unix socket the agent listens on (the
   * endpoint is then unix://<dir>/agent.sock). `env` never holds the token.
   */
  sessionDir: string;
  /** Told about slow steps as they start (an image pull), for callers waiting on the start. */
  onProgress?: (message: string) => void;
  /** Told how long each step of the start took (e.g. "container-create"), for the caller's Server-Timing. */
  onPhase?: (name: string, ms: number) => void;
}

export interface StartedContainer {
  containerId: string;
  /** Base URL at which Bay reaches the agent. */
  endpoint: string;
}

export interface ContainerInfo {
  id: string;
  name: string;
  labels: Labels;
  running: boolean;
  /** Epoch ms. */
  createdAt: number;
  exitCode?: number;
  oomKilled?: boolean;
  /** Frozen (`docker pause`): it counts as running but nothing in it can answer. */
  paused?: boolean;
  /** Epoch ms at which it last ended, if it has. */
  finishedAt?: number;
}

export interface VolumeInfo {
  name: string;
  labels: Labels;
  /** Epoch ms; 0 when the engine does not say. */
  createdAt: number;
}

/** A container of ours ended: it exited, was killed, ran out of memory, or was removed. */
export interface ContainerEndEvent {
  containerId: string;
  labels: Labels;
  reason: string;
  /** Epoch ms, as the engine saw it. */
  endedAt?: number;
}

export interface EventSubscription {
  close(): void;
}

export interface Driver {
  readonly name: string;
  /** Human-readable address of the engine, for error messages and /health. */
  readonly endpoint: string;
  /** Longest one call of this driver may take before it fails; shutdown budgets its engine work by it. */
  readonly callDeadlineMs: number;
  ping(): Promise<void>;
  /** Creating a name that exists does nothing (its labels stay as they were). */
  createVolume(name: string, labels: Labels): Promise<void>;
  /** Absent is success; a volume that a container (running or not) still mounts is refused with a BayError. */
  removeVolume(name: string): Promise<void>;
  /**
   * Creates and starts the container; removes it again if any step fails. A
   * name in use is refused with a BayError and the existing container is left
   * alone; an image that is absent and may not or cannot be pulled is a
   * BayError naming `details.image`.
   */
  startSessionContainer(spec: SessionContainerSpec): Promise<StartedContainer>;
  /** Ends (if running) and removes it; absent is success. Removing a running container is reported as its end. */
  removeContainer(idOrName: string): Promise<void>;
  inspectContainer(idOrName: string): Promise<ContainerInfo | null>;
  /** The last lines a container printed, for error messages when a start fails; "" when they cannot be read (never fails). */
  readLogs(idOrName: string, tailLines: number): Promise<string>;
  /**
   * Containers with every one of these labels, running or not; may leave out what only inspection says (exit code,
   * pause state, end time). Helper containers a driver keeps for itself (the Docker driver's network slots) are not listed.
   */
  listContainers(labels: Labels): Promise<ContainerInfo[]>;
  listVolumes(labels: Labels): Promise<VolumeInfo[]>;
  /** Bytes used by each named volume the engine can measure (cargo size limits are enforced with this). */
  volumeSizes(names: string[]): Promise<Map<string, number>>;
  /**
   * Reports containers with these labels as they end. `onClosed` fires when
   * the engine's event stream ends (engine restart, lost connection); the
   * caller subscribes again when it can. Each end is reported once; an
   * event's labels hold at least the container's. Closing the subscription
   * does not call `onClosed`.
   */
  watchContainerEnds(labels: Labels, onEnd: (event: ContainerEndEvent) => void, onClosed: (error?: Error) => void): Promise<EventSubscription>;
  /**
   * Called once by a long-lived Bay (`bay serve`, not a one-shot `bay exec`):
   * from now on the driver may prepare ahead what later starts need (the
   * Docker driver's network slots). `close` ends that work.
   */
  startBackground?(): void;
  close?(): Promise<void>;
}

/**
 * A driver as the registry knows it (src/composition/registry.ts). Its module
 * stays light (no engine client): `create` loads the implementation, so that
 * `bay ship` never loads a driver.
 */
/** What Bay tells a driver it creates, besides the driver's own settings. */
export interface DriverContext {
  /** Bay's data directory (`data_dir`): a driver may keep files there that it mounts into sandboxes. */
  dataDir: string;
  /** The runtimes the configured profiles ask for: a driver refuses at start-up one it cannot provide. */
  runtimes: SandboxRuntime[];
}

export interface DriverPlugin<Settings = unknown> {
  /** What `driver.type` names; `driver.<name>` holds the settings. */
  name: string;
  /** TypeBox schema of `driver.<name>`, with defaults; the config loader validates against it. */
  settingsSchema: TSchema;
  /**
   * Called once at start-up with the validated settings. A driver that cannot
   * serve at all throws a ConfigError here, so Bay refuses to start rather
   * than start degraded.
   */
  create(settings: Settings, context: DriverContext): Promise<Driver>;
}
