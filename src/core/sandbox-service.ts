import { createHash, timingSafeEqual } from "node:crypto";
import { checkMetadata, checkSandboxEnv, matchesMetadata, parseMetadataFilter, parseStringMap } from "./sandbox-labels.ts";
import { consola } from "consola";
import { timedStep } from "./request-context.ts";
import { ACTIVITY_SLACK_MS, ActivityWrites } from "./activity-writes.ts";
import type { BayConfig, ProfileConfig } from "./config/index.ts";
import type { Driver } from "./driver.ts";
import {
  BayError,
  ConflictError,
  NotFoundError,
  preview,
  SandboxExpiredError,
  SessionNotReadyError,
  AgentError,
  ValidationError,
} from "../shared/errors.ts";
import { DEFAULT_CARGO_SIZE_MB } from "./cargo-service.ts";
import { newId, newSecretToken } from "./ids.ts";
import { bayLabels, volumeName } from "./labels.ts";
import { releasedWhenDone } from "./held-stream.ts";
import { watchLiveness } from "./liveness.ts";
import type { SessionManager } from "./session-manager.ts";
import type { AgentClient } from "./agent-client.ts";
import { paginate, type Page } from "./pagination.ts";
import type { PendingVolumes } from "./pending-volumes.ts";
import { POOL_OWNER } from "./owners.ts";
import type { WarmPool } from "./warm-pool.ts";
import type { Quotas } from "./quotas.ts";
import type { SessionEndReason, StateStore } from "./state-store.ts";
import { TtlLimit } from "./ttl.ts";
import type { CargoRow, SandboxRow, SessionRow } from "../db/schema.ts";
import { sandboxView, type SandboxStatus, type SandboxView } from "./views.ts";


export interface CreateSandboxInput {
  profile?: string;
  cargo_id?: string | null;
  ttl?: number | null;
  metadata?: Record<string, string>;
  env?: Record<string, string>;
}

export interface ListSandboxesInput {
  limit: number;
  cursor?: string;
  /** key=value pairs joined by & (sandbox-labels.ts). */
  metadata?: string;
  status?: SandboxStatus;
}

export interface AgentCallPolicy {
  /** How long the call may wait for compute to start; past it, 503 session_not_ready. Default: until ready. */
  maxStartWaitMs?: number;
  /**
   * For calls about something that lives only in a running session (a
   * background process): when none runs, none is started and the call fails
   * with this error instead.
   */
  notRunning?: () => Error;
}

/** What a caller that gave up waiting is told to wait before retrying. */
const RETRY_AFTER_MS = 1000;

/** How a call whose session was ended on purpose under it words what happened. */
const ENDED_ON_PURPOSE: Record<Exclude<SessionEndReason, "died">, string> = {
  stopped: "stopped by a stop request",
  deleted: "deleted",
  expired: "deleted as it expired",
  idle: "stopped as idle",
  shutdown: "stopped as Bay shut down",
  start_failed: "stopped as its start failed",
  abandoned: "restarted",
};

/** The sandbox lifecycle, shared by `bay serve` and `bay exec`. */
export class SandboxService {
  private readonly ttlLimit: TtlLimit;
  /** The last access times this process wrote, by cargo (see touchCargo). */
  private readonly cargoAccesses = new ActivityWrites();
  /** Teardowns of deletes answered before they finished. */
  private readonly teardowns = new Set<Promise<void>>();

  constructor(
    private readonly config: BayConfig,
    private readonly store: StateStore,
    private readonly driver: Driver,
    private readonly sessions: SessionManager,
    private readonly instanceId: string,
    private readonly quotas: Quotas,
    private readonly pendingVolumes: PendingVolumes,
    private readonly pool?: WarmPool,
  ) {
    this.ttlLimit = new TtlLimit(config.security.max_ttl_seconds);
  }

  profile(id: string): ProfileConfig | undefined {
    return this.config.profiles.find((p) => p.id === id);
  }

  async create(owner: string, input: CreateSandboxInput): Promise<SandboxView> {
    const profileId = input.profile ?? "python-default";
    const profile = this.profile(profileId);
    if (!profile) {
      throw new ValidationError(`unknown profile ${JSON.stringify(preview(profileId))}`, {
        field: "profile",
        profile: preview(profileId),
        available: this.config.profiles.map((p) => p.id),
      });
    }
    const now = Date.now();
    const expiresAt = this.ttlLimit.expiryAtCreate(owner, input.ttl, now);
    // Checked before any engine work, and again where the row is written (concurrent creates).
    this.quotas.checkRoomForOne(owner, "max_sandboxes", await this.store.countLiveSandboxes(owner));
    const metadata = checkMetadata(input.metadata);
    const env = checkSandboxEnv(input.env);
    // A warm member's processes started without this sandbox's env: only a create without env may claim one.
    if (!input.cargo_id && owner !== POOL_OWNER && Object.keys(env).length === 0) {
      // Quotas are checked again inside the claim's transaction, as for any create.
      const claimed = await this.pool?.claim(owner, profile, now, expiresAt, {
        forSession: (active) => this.quotas.hasRoomForOne(owner, "max_running_sessions", active),
        forSandbox: (live) => this.quotas.hasRoomForOne(owner, "max_sandboxes", live),
      });
      if (claimed) {
        if (Object.keys(metadata).length > 0) await this.store.setMetadata(claimed.id, JSON.stringify(metadata));
        return this.view({ ...claimed, metadata: JSON.stringify(metadata) });
      }
    }
    const sandboxId = newId("sandbox");
    let cargo: CargoRow;
    let newCargo: CargoRow | null = null;
    let volumeLabels = {};
    if (input.cargo_id) {
      const existing = await this.store.findCargo(owner, input.cargo_id);
      if (!existing) throw new NotFoundError("cargo", input.cargo_id);
      if (existing.managed) {
        throw new ConflictError(`cargo ${existing.id} belongs to sandbox ${existing.managedBySandboxId}; attach an external cargo`, {
          cargo_id: existing.id,
          managed_by_sandbox_id: existing.managedBySandboxId,
        });
      }
      cargo = existing;
    } else {
      const cargoId = newId("cargo");
      newCargo = cargo = {
        id: cargoId,
        owner,
        managed: true,
        managedBySandboxId: sandboxId,
        volumeName: volumeName(cargoId),
        sizeLimitMb: DEFAULT_CARGO_SIZE_MB,
        createdAt: now,
        lastAccessedAt: now,
        deletedAt: null,
      };
      volumeLabels = bayLabels({ instanceId: this.instanceId, owner, sandboxId, cargoId, profileId });
    }
    const sandbox: SandboxRow = {
      id: sandboxId,
      owner,
      profileId,
      cargoId: cargo.id,
      createdAt: now,
      expiresAt,
      deletedAt: null,
      lastStartError: null,
      stateResetAt: null,
      stateResetReason: null,
      metadata: JSON.stringify(metadata),
      env: JSON.stringify(env),
      accessTokenHash: null,
    };
    const writeRows = () =>
      this.store.insertSandbox(sandbox, newCargo, (live) => this.quotas.checkRoomForOne(owner, "max_sandboxes", live));
    if (newCargo) await timedStep("volume", () => this.pendingVolumes.createWithRows(newCargo.volumeName, volumeLabels, writeRows));
    else await writeRows();
    consola.info(`sandbox ${sandboxId} created (owner ${owner}, profile ${profileId}, cargo ${cargo.id})`);
    return this.view(sandbox);
  }

  /** Starts a new warm pool member's compute; its idle clock only starts once a caller claims it. */
  async startPoolMember(id: string): Promise<void> {
    const sandbox = await this.requireSandbox(POOL_OWNER, id);
    const profile = this.profile(sandbox.profileId);
    if (!profile) return;
    const { session } = await this.sessions.ensureRunning(sandbox, profile);
    await this.store.updateSession(session.id, { idleExpiresAt: null });
  }

  async get(owner: string, id: string): Promise<SandboxView> {
    return this.view(await this.requireSandbox(owner, id));
  }

  list(owner: string, input: ListSandboxesInput): Promise<Page<SandboxView>> {
    const labels = parseMetadataFilter(input.metadata);
    const filtered = Object.keys(labels).length > 0;
    return paginate(
      (after, limit) => this.store.listSandboxes(owner, after, limit),
      input.limit,
      input.cursor,
      async (row) => {
        if (filtered && !matchesMetadata(parseStringMap(row.metadata), labels)) return null;
        const view = await this.view(row);
        return !input.status || view.status === input.status ? view : null;
      },
    );
  }

  /** expires_at = max(expires_at, now) + extend_by (api.md §4), within security.max_ttl_seconds. */
  async extendTtl(owner: string, id: string, extendBySeconds: number): Promise<SandboxView> {
    const sandbox = await this.requireLiveSandbox(owner, id);
    if (sandbox.expiresAt === null) {
      throw new BayError("sandbox_ttl_infinite", `sandbox ${id} never expires; there is no TTL to extend`, { sandbox_id: id });
    }
    const expiresAt = this.ttlLimit.expiryAfterExtend(sandbox.expiresAt, extendBySeconds, Date.now());
    await this.store.setExpiry(sandbox.id, expiresAt);
    return this.view({ ...sandbox, expiresAt });
  }

  /**
   * expires_at = now + seconds, shorter or longer than before (E2B's
   * setTimeout), within security.max_ttl_seconds.
   */
  async setTimeout(owner: string, id: string, seconds: number): Promise<SandboxView> {
    const sandbox = await this.requireLiveSandbox(owner, id);
    const expiresAt = this.ttlLimit.expiryAtCreate(owner, seconds, Date.now());
    await this.store.setExpiry(sandbox.id, expiresAt!);
    return this.view({ ...sandbox, expiresAt });
  }

  /**
   * A new access token for the sandbox (the previous one stops working): a
   * credential for traffic into this one sandbox that does not carry an API
   * key, as E2B's in-sandbox calls need. Only its digest is kept.
   */
  async issueAccessToken(owner: string, id: string): Promise<string> {
    const sandbox = await this.requireLiveSandbox(owner, id);
    const token = newSecretToken();
    await this.store.setAccessTokenHash(sandbox.id, sha256Hex(token));
    return token;
  }

  /** The owner of a live sandbox whose access token this is, or null (compared as digests, in constant time). */
  async ownerForAccessToken(id: string, token: string): Promise<string | null> {
    const sandbox = await this.store.findSandboxById(id);
    if (!sandbox || sandbox.deletedAt || !sandbox.accessTokenHash) return null;
    const given = Buffer.from(sha256Hex(token), "hex");
    const kept = Buffer.from(sandbox.accessTokenHash, "hex");
    return given.length === kept.length && timingSafeEqual(given, kept) ? sandbox.owner : null;
  }

  /** Starts the sandbox's compute now if none runs (a resume), and records the activity. */
  async start(owner: string, id: string): Promise<SandboxView> {
    const sandbox = await this.requireLiveSandbox(owner, id);
    const profile = this.requireProfile(sandbox);
    await this.sessions.ensureRunning(sandbox, profile);
    await this.sessions.touch(sandbox.id, profile);
    return this.view(sandbox);
  }

  /** True when the sandbox's compute was last ended by a stop request (and none runs since). */
  async stoppedOnRequest(owner: string, id: string): Promise<boolean> {
    const sandbox = await this.requireSandbox(owner, id);
    const latest = await this.store.latestSession(sandbox.id);
    return latest?.status === "stopped" && latest.endReason === "stopped";
  }

  async keepalive(owner: string, id: string): Promise<void> {
    const sandbox = await this.requireLiveSandbox(owner, id);
    const profile = this.profile(sandbox.profileId);
    // Asked for by name: the deadline moves now, whatever a recent call already wrote.
    if (profile) await this.sessions.touch(sandbox.id, profile, { always: true });
  }

  /**
   * A capability call whose answer streams on after the call returns (an
   * event stream, a download): the sandbox counts as busy from before its
   * start until the response's body is read to its end or abandoned, so it
   * is never reaped as idle mid-stream. The one place that holds a sandbox
   * for a stream.
   */
  async streamFromAgent(
    owner: string,
    id: string,
    capability: string,
    open: (client: AgentClient, session: SessionRow) => Promise<Response>,
    options: AgentCallPolicy = {},
  ): Promise<Response> {
    const release = this.holdBusy(owner, id);
    let response: Response;
    try {
      response = await this.withAgent(owner, id, capability, open, options);
    } catch (error) {
      release();
      throw error;
    }
    return new Response(releasedWhenDone(response.body, release), { status: response.status, headers: response.headers });
  }

  /** Keeps the sandbox from being reaped as idle until the returned function is called, which also records activity. */
  private holdBusy(owner: string, id: string): () => void {
    const leave = this.sessions.enterCall(id);
    return () => {
      leave();
      void (async () => {
        const sandbox = await this.store.findSandbox(owner, id);
        const profile = sandbox && !sandbox.deletedAt ? this.profile(sandbox.profileId) : undefined;
        if (sandbox && profile) await this.sessions.touch(sandbox.id, profile);
      })().catch((error: Error) => consola.warn(`sandbox ${id}: recording activity failed: ${error.message}`));
    };
  }

  async stop(owner: string, id: string): Promise<void> {
    const sandbox = await this.requireSandbox(owner, id);
    await this.sessions.stop(sandbox.id);
    consola.info(`sandbox ${sandbox.id} stopped (owner ${owner})`);
  }

  /**
   * Soft-deletes first, so the sandbox is gone for callers even if engine
   * cleanup must be retried. With `inBackground`, it returns right then and
   * its compute and cargo go afterwards (a one-shot need not wait for the
   * engine); a teardown cut short by a crash is finished by the collector, as
   * any interrupted delete.
   */
  async delete(owner: string, id: string, options: { inBackground?: boolean } = {}): Promise<void> {
    const sandbox = await this.store.findSandbox(owner, id);
    if (!sandbox) throw new NotFoundError("sandbox", id);
    if (!options.inBackground) return this.remove(sandbox, "deleted");
    await this.markDeleted(sandbox, "deleted");
    const teardown = this.remove({ ...sandbox, deletedAt: Date.now() }, "deleted")
      .catch((error: Error) => consola.warn(`sandbox ${id}: teardown after delete failed, the collector retries: ${error.message}`))
      .finally(() => this.teardowns.delete(teardown));
    this.teardowns.add(teardown);
  }

  /** Waits for the teardowns of background deletes still at work (at shutdown). */
  async settleTeardowns(): Promise<void> {
    while (this.teardowns.size > 0) await Promise.all([...this.teardowns]);
  }

  /**
   * Deletes a sandbox for the user or the collector: the row first, then its
   * compute and managed cargo. Safe to repeat; a repeat finishes what an
   * interrupted one left.
   */
  async remove(sandbox: SandboxRow, reason: "deleted" | "expired"): Promise<void> {
    await this.markDeleted(sandbox, reason);
    await this.sessions.stop(sandbox.id, reason);
    const cargo = await this.store.findCargo(sandbox.owner, sandbox.cargoId);
    if (cargo?.managed && cargo.managedBySandboxId === sandbox.id) {
      await this.driver.removeVolume(cargo.volumeName);
      await this.store.markCargoDeleted(cargo.id, Date.now());
    }
  }

  /** Records the cargo's use; at most about once a second per cargo (last_accessed_at is shown to the second). */
  private async touchCargo(cargoId: string): Promise<void> {
    const now = Date.now();
    if (this.cargoAccesses.covers(cargoId, now - ACTIVITY_SLACK_MS)) return;
    await this.store.touchCargo(cargoId, now);
    this.cargoAccesses.wrote(cargoId, now);
  }

  private async markDeleted(sandbox: SandboxRow, reason: "deleted" | "expired"): Promise<void> {
    if (sandbox.deletedAt) return;
    await this.store.markSandboxDeleted(sandbox.id, Date.now());
    consola.info(`sandbox ${sandbox.id} ${reason} (owner ${sandbox.owner})`);
  }

  /**
   * Runs one capability call: checks the sandbox and the profile, makes sure
   * a session runs (starting it if needed), and keeps it from going idle.
   */
  async withAgent<T>(
    owner: string,
    id: string,
    capability: string,
    call: (client: AgentClient, session: SessionRow) => Promise<T>,
    options: AgentCallPolicy = {},
  ): Promise<T> {
    const sandbox = await this.requireLiveSandbox(owner, id);
    const profile = this.requireProfile(sandbox, { capability });
    if (!(profile.capabilities as string[]).includes(capability)) {
      throw new BayError("capability_not_supported", `profile ${profile.id} does not offer ${capability}`, {
        capability,
        available: profile.capabilities,
      });
    }
    const leave = this.sessions.enterCall(sandbox.id);
    try {
      await this.touchCargo(sandbox.cargoId);
      for (let attempt = 1; ; attempt++) {
        // No idle clock to push here: a call in flight keeps the session from being reaped (enterCall).
        const { client, session } = options.notRunning
          ? ((await this.sessions.running(sandbox.id)) ?? throwError(options.notRunning()))
          : await waitAtMost(this.sessions.ensureRunning(sandbox, profile), options.maxStartWaitMs, sandbox.id);
        const sentAt = Date.now();
        try {
          return await this.callWatched(sandbox.id, client, session, call);
        } catch (error) {
          if (!(error instanceof AgentError) || !lostAgent(error)) throw error;
          const ended = (await this.sessions.releaseIfDead(session.id)) ? await this.store.findSession(session.id) : undefined;
          // The address of a dead container may already belong to another one, whose agent refuses the token.
          if (!ended && !error.details.connection) throw error;
          // A container that had died before the request was sent (its port may still have been accepting) ran nothing.
          const ranNothing = !error.details.reached || error.details.runtime_status === 401;
          const diedBefore = ended?.endReason === "died" && (ranNothing || (ended.stoppedAt ?? Infinity) < sentAt);
          // Then a new container is started and the call tried once more.
          if (!diedBefore || attempt > 1) throw await this.droppedCallError(sandbox.id, session.id, error);
        }
      }
    } finally {
      leave();
      await this.sessions.touch(sandbox.id, profile);
    }
  }

  /**
   * Runs a call while its agent's liveness is watched: a wedged agent
   * (paused, starved) is replaced and the call fails now, not at its timeout.
   */
  private async callWatched<T>(
    sandboxId: string,
    client: AgentClient,
    session: SessionRow,
    call: (client: AgentClient, session: SessionRow) => Promise<T>,
  ): Promise<T> {
    const pending = call(client, session);
    const watch = watchLiveness(client, () => this.driver.inspectContainer(session.containerId ?? ""));
    let wedgedReason: string | null = null;
    const wedged = watch.lost.then(async ({ kind, reason }): Promise<never> => {
      // An ended container is settled like a dropped connection: the caller decides whether the call may be retried.
      if (kind === "ended") throw new AgentError("the agent's container ended under the call", { connection: true, reached: true });
      wedgedReason = reason;
      await this.sessions.handleDeath(session.id, reason).catch((error: Error) => consola.warn(`sandbox ${sandboxId}: ${error.message}`));
      throw unresponsiveError(sandboxId, reason);
    });
    // Whichever loses the race is settled quietly: the call's connection drops as its container goes.
    pending.catch(() => undefined);
    wedged.catch(() => undefined);
    try {
      return await Promise.race([pending, wedged]);
    } catch (error) {
      throw wedgedReason ? unresponsiveError(sandboxId, wedgedReason) : error;
    } finally {
      watch.cancel();
    }
  }

  /** What a call whose connection dropped is told: what became of its session, never the agent's internal routes. */
  private async droppedCallError(sandboxId: string, sessionId: string, error: AgentError): Promise<BayError> {
    const endReason = (await this.store.findSession(sessionId))?.endReason;
    if (endReason === "died") {
      const resetReason = (await this.store.findSandboxById(sandboxId))?.stateResetReason ?? "unknown";
      return new AgentError(
        `sandbox ${sandboxId}'s container died while the call ran (${resetReason}); the next call starts a new one`,
        { sandbox_id: sandboxId, reason: "container_died", state_reset_reason: resetReason },
        { cause: error },
      );
    }
    if (endReason) {
      const what = ENDED_ON_PURPOSE[endReason as keyof typeof ENDED_ON_PURPOSE] ?? "stopped";
      return new ConflictError(`sandbox ${sandboxId} was ${what} while the call ran`, {
        sandbox_id: sandboxId,
        reason: endReason,
      });
    }
    return new AgentError(`sandbox ${sandboxId}'s agent dropped the connection while the call ran`, {
      sandbox_id: sandboxId,
      reason: "connection_dropped",
    }, { cause: error });
  }

  /** The sandbox's profile; one removed from the config since the sandbox was made serves nothing. */
  private requireProfile(sandbox: SandboxRow, details: Record<string, unknown> = {}): ProfileConfig {
    const profile = this.profile(sandbox.profileId);
    if (!profile) {
      throw new BayError("capability_not_supported", `profile ${sandbox.profileId} of sandbox ${sandbox.id} no longer exists`, {
        ...details,
        available: [],
      });
    }
    return profile;
  }

  private async requireSandbox(owner: string, id: string): Promise<SandboxRow> {
    const sandbox = await this.store.findSandbox(owner, id);
    if (!sandbox || sandbox.deletedAt) throw new NotFoundError("sandbox", id);
    return sandbox;
  }

  private async requireLiveSandbox(owner: string, id: string): Promise<SandboxRow> {
    const sandbox = await this.requireSandbox(owner, id);
    if (sandbox.expiresAt !== null && Date.now() > sandbox.expiresAt) {
      throw new SandboxExpiredError(id, new Date(sandbox.expiresAt).toISOString());
    }
    return sandbox;
  }

  private async view(sandbox: SandboxRow): Promise<SandboxView> {
    return sandboxView(sandbox, await this.store.activeSession(sandbox.id), this.profile(sandbox.profileId), this.sessions.startDetail(sandbox.id));
  }
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function throwError(error: Error): never {
  throw error;
}

/** A failure that may mean the session's agent is gone: a dropped connection, or another agent at its address. */
function lostAgent(error: AgentError): boolean {
  return error.details.connection === true || error.details.runtime_status === 401;
}

function unresponsiveError(sandboxId: string, reason: string): AgentError {
  return new AgentError(`sandbox ${sandboxId}'s agent stopped answering (${reason}); the next call starts a new one`, {
    sandbox_id: sandboxId,
    reason: "runtime_unresponsive",
    state_reset_reason: reason,
  });
}

/** The start goes on in the background when the caller stops waiting for it. */
async function waitAtMost<T>(start: Promise<T>, limitMs: number | undefined, sandboxId: string): Promise<T> {
  if (limitMs === undefined) return start;
  start.catch(() => undefined);
  let timer: Timer | undefined;
  const gaveUp = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SessionNotReadyError(sandboxId, RETRY_AFTER_MS)), limitMs);
  });
  try {
    return await Promise.race([start, gaveUp]);
  } finally {
    clearTimeout(timer);
  }
}
