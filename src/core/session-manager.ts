import { consola } from "consola";
import { ConflictError } from "../shared/errors.ts";
import type { BayConfig, ProfileConfig } from "./config/index.ts";
import { lostContainerReason } from "./container-end.ts";
import type { Driver } from "./driver.ts";
import { waitForAgent } from "./agent-readiness.ts";
import { CallsInFlight } from "./calls-in-flight.ts";
import { buildContainerSpec } from "./container-spec.ts";
import { checkHandshake } from "./handshake.ts";
import { KeyedMutex } from "./keyed-mutex.ts";
import { newId, newSecretToken } from "./ids.ts";
import { containerName } from "./labels.ts";
import type { Metrics } from "./metrics.ts";
import type { Quotas } from "./quotas.ts";
import { resolveEgressPolicy } from "./network-policy.ts";
import { AgentClient } from "./agent-client.ts";
import type { SessionEndReason, StateStore } from "./state-store.ts";
import type { SandboxRow, SessionRow } from "../db/schema.ts";
import { SessionDirectories } from "./session-directories.ts";
import type { Replica } from "./replica.ts";
import { POOL_OWNER } from "./owners.ts";
import { ACTIVITY_SLACK_MS, ActivityWrites } from "./activity-writes.ts";
import { StartSlots } from "./start-slots.ts";
import { recordServerTiming, timedStep } from "./request-context.ts";
import type { AgentMeta } from "../shared/agent-protocol.ts";

/** How often a replica waiting for another's start of the same sandbox looks again. */
const OTHER_START_POLL_MS = 100;

export interface RunningSession {
  session: SessionRow;
  client: AgentClient;
}

export interface SessionManagerOptions {
  config: BayConfig;
  store: StateStore;
  /** This process among the replicas: who starts a session, and whether another's start is still alive. */
  replica: Replica;
  driver: Driver;
  instanceId: string;
  agentBinaryPath: string;
  quotas: Quotas;
  metrics: Metrics;
}

/**
 * Owns the compute of sandboxes: starts a session's container on first use
 * (one start per sandbox however many callers race), checks the agent,
 * tears containers down on stop, idle or death, and knows which sandboxes
 * have calls in flight so that none is reaped while it works.
 */
export class SessionManager {
  /** Held while a sandbox's compute is being started, stopped or released. */
  private readonly locks = new KeyedMutex();
  private readonly callsInFlight = new CallsInFlight();
  /** What a start in progress is busy with, when it is slow (an image pull), by sandbox. */
  private readonly startDetails = new Map<string, string>();
  /** Stopped sessions whose container the engine failed to remove (it hung): the next stop of the sandbox retries. */
  private readonly unremoved = new Map<string, SessionRow[]>();

  /** Each session's directory in this Bay's data_dir (its token, its socket); the collector removes those no session holds. */
  readonly sessionDirectories: SessionDirectories;
  private readonly startSlots: StartSlots;
  /** The idle deadlines this process wrote, by sandbox (see touch). */
  private readonly idleDeadlines = new ActivityWrites();

  constructor(private readonly options: SessionManagerOptions) {
    this.sessionDirectories = new SessionDirectories(options.config.data_dir);
    this.startSlots = new StartSlots(options.config.ship.max_concurrent_starts);
  }

  async ensureRunning(sandbox: SandboxRow, profile: ProfileConfig): Promise<RunningSession> {
    const current = await this.runningSession(sandbox.id);
    if (current && !this.locks.isLocked(sandbox.id)) return current;
    // The lock orders this process's callers; the database (one active session per sandbox) orders the replicas.
    return this.locks.run(sandbox.id, async () => {
      for (;;) {
        // Whoever held the lock before, or another replica, may have started it already.
        const started = await this.runningSession(sandbox.id);
        if (started) return started;
        const active = await this.options.store.activeSession(sandbox.id);
        // Another replica's start may have finished between the two reads: then it is used, not replaced.
        if (active?.status === "running" && active.endpoint) continue;
        if (active?.status === "starting" && active.replicaId !== this.options.replica.id && (await this.options.replica.isAlive(active.replicaId))) {
          await Bun.sleep(OTHER_START_POLL_MS);
          continue;
        }
        const mine = await this.start(sandbox, profile, active);
        if (mine) return mine;
      }
    });
  }

  /** The sandbox's running session, if one runs and no start or stop holds it; never starts one. */
  async running(sandboxId: string): Promise<RunningSession | null> {
    return this.locks.isLocked(sandboxId) ? null : this.runningSession(sandboxId);
  }

  /** Marks a call in flight on the sandbox until the returned function is called. */
  enterCall(sandboxId: string): () => void {
    return this.callsInFlight.enter(sandboxId);
  }

  /** What the sandbox's start is doing right now, if it said (shown as status_detail). */
  startDetail(sandboxId: string): string | null {
    return this.startDetails.get(sandboxId) ?? null;
  }

  /** Sandboxes that hold a running session. */
  async runningSandboxIds(): Promise<string[]> {
    return [...new Set((await this.options.store.sessionsWithStatus("running")).map((session) => session.sandboxId))];
  }

  isBusy(sandboxId: string): boolean {
    return this.callsInFlight.any(sandboxId) || this.locks.isLocked(sandboxId);
  }

  /**
   * Pushes the idle deadline of every sandbox with a call in flight in this
   * process, so that no replica's collector reaps it meanwhile.
   */
  async touchBusy(now = Date.now()): Promise<void> {
    for (const sandboxId of this.callsInFlight.sandboxIds()) {
      const sandbox = await this.options.store.findSandboxById(sandboxId);
      const profile = sandbox && sandbox.owner !== POOL_OWNER ? this.options.config.profiles.find((p) => p.id === sandbox.profileId) : undefined;
      if (profile) await this.options.store.touchRunningSession(sandboxId, activity(profile, now));
    }
  }

  /**
   * Ends a start whose replica is gone: that session only (a live replica
   * may have started another meanwhile), and its container if it got one.
   */
  abandonStart(session: SessionRow): Promise<boolean> {
    return this.locks.run(session.sandboxId, async () => {
      if (!(await this.options.store.abandonStartingSession(session.id, Date.now()))) return false;
      await this.removeCompute(session);
      return true;
    });
  }

  /**
   * Pushes idle_expires_at forward for a running session; never starts one.
   * Written up to ACTIVITY_SLACK_MS ahead, and skipped while the stored
   * deadline already covers the call: a session is reaped at most that late.
   * `always` writes anyway (a keepalive: the caller sees its deadline move).
   */
  async touch(sandboxId: string, profile: ProfileConfig, options: { always?: boolean } = {}): Promise<void> {
    const { lastActiveAt, idleExpiresAt: needed } = activity(profile, Date.now());
    if (!options.always && this.idleDeadlines.covers(sandboxId, needed!)) return;
    const idleExpiresAt = needed! + ACTIVITY_SLACK_MS;
    await this.options.store.touchRunningSession(sandboxId, { lastActiveAt, idleExpiresAt });
    this.idleDeadlines.wrote(sandboxId, idleExpiresAt);
  }

  /** Destroys the sandbox's compute, after any start in flight, so that no container is left behind. */
  stop(sandboxId: string, reason: SessionEndReason = "stopped"): Promise<void> {
    return this.locks.run(sandboxId, async () => {
      const sessions = await this.options.store.activeSessions(sandboxId);
      // Marked first, so that no call picks up a session while its container goes away.
      for (const session of sessions) await this.options.store.markSessionStopped(session.id, Date.now(), reason);
      const leftOver = [...(this.unremoved.get(sandboxId) ?? []), ...sessions];
      this.unremoved.delete(sandboxId);
      const failed: SessionRow[] = [];
      let firstError: unknown;
      for (const session of leftOver) {
        try {
          await this.removeCompute(session);
        } catch (error) {
          failed.push(session);
          firstError ??= error;
        }
      }
      await this.options.store.setLastStartError(sandboxId, null);
      if (failed.length > 0) {
        this.unremoved.set(sandboxId, failed);
        throw firstError;
      }
    });
  }

  /**
   * Stops a running session that has been idle past its deadline, unless a
   * call is in flight or it was used since the deadline was read.
   */
  reapIfIdle(session: SessionRow, now: number): Promise<boolean> {
    if (this.isBusy(session.sandboxId)) return Promise.resolve(false);
    return this.locks.run(session.sandboxId, async () => {
      const current = await this.options.store.findSession(session.id);
      if (current?.status !== "running" || (current.idleExpiresAt ?? Infinity) > now || this.callsInFlight.any(session.sandboxId)) {
        return false;
      }
      await this.options.store.markSessionStopped(current.id, Date.now(), "idle");
      await this.removeCompute(current);
      consola.info(`${await this.describe(current)} reaped: idle past its idle_timeout`);
      return true;
    });
  }

  /**
   * The engine says (or a failed call suggests) that a session's container
   * died: the session ends, the sandbox records the reset, and the next call
   * starts a new container on the same cargo. `endedAt` is when the engine
   * saw the container end, if it said.
   */
  async handleDeath(sessionId: string, reason: string, endedAt?: number): Promise<boolean> {
    const known = await this.options.store.findSession(sessionId);
    if (!known) return false;
    return this.locks.run(known.sandboxId, async () => {
      const session = await this.options.store.findSession(sessionId);
      if (session?.status !== "running") return false;
      await this.options.store.markSessionDied(session, reason, endedAt ?? Date.now());
      await this.removeCompute(session);
      consola.warn(`${await this.describe(session)} lost its container (${reason}); the next call recovers on a new one`);
      return true;
    });
  }

  /**
   * After a call's connection dropped: settles whether the session still
   * runs. A stop in progress has already marked it; a container that died is
   * given a moment for the engine's event (which knows a kill from an OOM)
   * before its end is recorded from an inspection. True once the session
   * no longer runs.
   */
  async releaseIfDead(sessionId: string): Promise<boolean> {
    const settleBy = Date.now() + DEATH_SETTLE_MS;
    let deadSince: number | null = null;
    for (;;) {
      const session = await this.options.store.findSession(sessionId);
      if (session?.status !== "running") return true;
      if (!session.containerId) return false;
      const info = await this.options.driver.inspectContainer(session.containerId).catch(() => undefined);
      if (info === undefined) return false;
      if (info === null || info.paused) return this.endSession(session.id, lostContainerReason(info));
      if (!info.running) {
        deadSince ??= Date.now();
        if (Date.now() - deadSince >= EVENT_GRACE_MS) return this.endSession(session.id, lostContainerReason(info), info.finishedAt);
      } else if (Date.now() >= settleBy) {
        return false;
      }
      await Bun.sleep(SETTLE_POLL_MS);
    }
  }

  private async endSession(sessionId: string, reason: string, endedAt?: number): Promise<boolean> {
    await this.handleDeath(sessionId, reason, endedAt);
    return (await this.options.store.findSession(sessionId))?.status !== "running";
  }

  /** How log lines name a session: with its sandbox and owner. */
  private async describe(session: SessionRow): Promise<string> {
    const owner = (await this.options.store.findSandboxById(session.sandboxId))?.owner ?? "unknown";
    return `session ${session.id} of sandbox ${session.sandboxId} (owner ${owner})`;
  }

  /** The container and the session's directory. Call after the row says stopped. */
  private async removeCompute(session: SessionRow): Promise<void> {
    this.idleDeadlines.forget(session.sandboxId);
    await this.options.driver.removeContainer(session.containerId ?? containerName(session.id));
    this.sessionDirectories.remove(session.id);
  }

  private async runningSession(sandboxId: string): Promise<RunningSession | null> {
    const session = await this.options.store.activeSession(sandboxId);
    return session?.status === "running" && session.endpoint ? { session, client: this.clientFor(session) } : null;
  }

  private clientFor(session: SessionRow): AgentClient {
    return new AgentClient(session.endpoint!, session.token);
  }

  /** A new session with its container; null when another replica's session got the sandbox first (nothing was started). */
  private async start(sandbox: SandboxRow, profile: ProfileConfig, stale: SessionRow | undefined): Promise<RunningSession | null> {
    const { store, driver, config } = this.options;
    // A session left "starting" by a process that died, or running without an endpoint, is replaced.
    if (stale) {
      await store.markSessionStopped(stale.id, Date.now(), "abandoned");
      await this.removeCompute(stale);
    }
    const now = Date.now();
    const session: SessionRow = {
      id: newId("session"),
      sandboxId: sandbox.id,
      status: "starting",
      containerId: null,
      endpoint: null,
      token: newSecretToken(),
      createdAt: now,
      startedAt: null,
      stoppedAt: null,
      lastActiveAt: now,
      idleExpiresAt: null,
      previousSessionId: (await store.latestSession(sandbox.id))?.id ?? null,
      endReason: null,
      runtimeVersion: null,
      replicaId: this.options.replica.id,
    };
    const inserted = await store.insertSession(session, sandbox.owner, (active) => this.options.quotas.checkRoomForOne(sandbox.owner, "max_running_sessions", active));
    if (!inserted) return null;
    const startedAt = performance.now();
    let containerId: string | null = null;
    try {
      const network = await resolveEgressPolicy(profile.network);
      const sessionDir = this.sessionDirectories.create(session.id, session.token);
      const spec = buildContainerSpec({
        instanceId: this.options.instanceId,
        sandbox,
        session,
        profile,
        network,
        agentBinaryPath: this.options.agentBinaryPath,
        agent: { port: config.ship.port, maxOutputBytes: config.ship.max_output_bytes },
        sessionDir,
      });
      const queuedAt = performance.now();
      const { started, meta, client } = await this.startSlots.run(
        async () => {
          this.startDetails.delete(sandbox.id);
          recordServerTiming("start-queue", performance.now() - queuedAt);
          const started = await driver.startSessionContainer({
            ...spec,
            onProgress: (message) => this.startDetails.set(sandbox.id, message),
            onPhase: recordServerTiming,
          });
          containerId = started.containerId;
          this.startDetails.delete(sandbox.id);
          await store.updateSession(session.id, { containerId, endpoint: started.endpoint });
          const client = new AgentClient(started.endpoint, session.token);
          const agentStarted = performance.now();
          await waitForAgent(client, driver, started.containerId, config.ship.ready_timeout_seconds);
          const agentReadyMs = performance.now() - agentStarted;
          const meta = checkHandshake(await timedStep("handshake", () => client.get("/meta", { timeoutMs: 10_000 })), profile.capabilities);
          recordAgentStart(agentReadyMs, meta);
          return { started, meta, client };
        },
        (ahead) => this.startDetails.set(sandbox.id, `waiting for a start slot (${ahead} ahead; ship.max_concurrent_starts)`),
      );

      const readyAt = Date.now();
      const running: Partial<SessionRow> = {
        containerId,
        endpoint: started.endpoint,
        startedAt: readyAt,
        runtimeVersion: meta.runtime.version,
        ...activity(profile, readyAt),
      };
      if (!(await store.markSessionRunning(session, running))) {
        // Stopped (or deleted) by another replica while it started: its container goes, as that stop would have removed it.
        throw new ConflictError(`sandbox ${sandbox.id} was stopped while its session started`, { sandbox_id: sandbox.id });
      }
      const startSeconds = (performance.now() - startedAt) / 1000;
      this.options.metrics.containerStarts.observe(startSeconds, { profile: profile.id });
      consola.info(`${await this.describe(session)} started in ${Math.round(startSeconds * 1000)} ms`);
      return { session: { ...session, ...running, status: "running" }, client };
    } catch (error) {
      this.startDetails.delete(sandbox.id);
      await driver.removeContainer(containerId ?? containerName(session.id)).catch(() => undefined);
      this.sessionDirectories.remove(session.id);
      const message = error instanceof Error ? error.message : String(error);
      await store.markSessionFailed(session, message, Date.now());
      this.options.metrics.containerStartFailures.inc({ profile: profile.id });
      consola.warn(`${await this.describe(session)} failed to start: ${message}`);
      throw error;
    }
  }
}

/** How long a dropped call waits for the engine to say whether the container ended. */
const DEATH_SETTLE_MS = 2000;
/** How long an ended container's reason is left to the engine's event before inspection decides it. */
const EVENT_GRACE_MS = 500;
const SETTLE_POLL_MS = 100;

/**
 * The agent's own start in Server-Timing: the time until it answered, split
 * into its slowest capability's start (they start side by side; the Python
 * kernel, as `ready-python`) and the rest.
 */
function recordAgentStart(readyMs: number, meta: AgentMeta): void {
  const [slowest, slowestMs] = Object.entries(meta.startup_ms ?? {}).reduce<[string, number]>((a, b) => (b[1] > a[1] ? b : a), ["", 0]);
  const capabilitiesMs = Math.min(slowestMs, readyMs);
  recordServerTiming("agent-boot", readyMs - capabilitiesMs);
  if (slowest) recordServerTiming(`ready-${slowest}`, capabilitiesMs);
}

/** A call at `at` keeps the session from going idle for the profile's idle_timeout. */
function activity(profile: ProfileConfig, at: number): Pick<SessionRow, "lastActiveAt" | "idleExpiresAt"> {
  return { lastActiveAt: at, idleExpiresAt: at + profile.idle_timeout * 1000 };
}
