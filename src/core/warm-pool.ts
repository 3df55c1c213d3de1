import { consola } from "consola";
import type { BayConfig, ProfileConfig } from "./config/index.ts";
import type { Metrics } from "./metrics.ts";
import { POOL_OWNER } from "./owners.ts";
import type { SessionManager } from "./session-manager.ts";
import type { StateStore } from "./state-store.ts";
import type { SandboxRow } from "../db/schema.ts";

/** What the pool does with sandboxes, through the sandbox service (which in turn claims from the pool). */
export interface PoolSandboxes {
  create(owner: string, input: { profile: string }): Promise<{ id: string }>;
  startPoolMember(id: string): Promise<void>;
  delete(owner: string, id: string): Promise<void>;
}

/** How often the pool checks its members and tops them up. */
const REFILL_INTERVAL_MS = 2000;
/**
 * How long after a claim the pool waits before it starts the replacement. A
 * start takes the engine and both cores for most of a second; begun at once,
 * it ran beside the claimer's first calls and doubled them (a warm one-shot's
 * `python3 -c` took 90 ms instead of 40). The caller came for speed; the pool
 * can wait.
 */
export const REFILL_AFTER_CLAIM_MS = 1000;

/**
 * Keeps `warm_pool_size` started, health-checked sandboxes (each with its own
 * fresh managed cargo) per profile, so that a create can hand one over and the
 * first exec needs no container start. Members are ordinary sandboxes owned by
 * POOL_OWNER: invisible in listings, outside quotas, never idle-reaped; a
 * claim re-owns one in a single transaction, so no member goes to two callers.
 */
export class WarmPool {
  private refilling: Promise<void> | null = null;
  private timer: Timer | null = null;
  private lastClaimAt = 0;
  private refillAfterClaim: Timer | null = null;

  constructor(
    private readonly config: BayConfig,
    private readonly store: StateStore,
    private readonly sessions: SessionManager,
    private readonly metrics: Metrics,
    /** Whether this replica keeps the pools (holds the leader lease). */
    private readonly isLeader: () => boolean,
  ) {}

  /** Late-bound: the sandbox service creates members and also claims from the pool. */
  private sandboxes!: PoolSandboxes;
  attach(sandboxes: PoolSandboxes): void {
    this.sandboxes = sandboxes;
  }

  private pooledProfiles(): ProfileConfig[] {
    return this.config.profiles.filter((profile) => profile.warm_pool_size > 0);
  }

  /**
   * A ready member of the profile, now owned by `owner` and created at `now`
   * (the instant its expiry was computed from); null when none is ready (the
   * caller creates lazily).
   */
  async claim(
    owner: string,
    profile: ProfileConfig,
    now: number,
    expiresAt: number | null,
    room: { forSession: (active: number) => boolean; forSandbox: (live: number) => boolean },
  ): Promise<SandboxRow | null> {
    if (profile.warm_pool_size === 0) return null;
    const claimed = await this.store.claimPoolMember(
      POOL_OWNER,
      owner,
      profile.id,
      now,
      expiresAt,
      profile.idle_timeout * 1000,
      room.forSession,
      room.forSandbox,
    );
    if (claimed) {
      this.metrics.warmPoolClaims.inc({ profile: profile.id });
      consola.info(`sandbox ${claimed.id} created from the warm pool (owner ${owner}, profile ${profile.id})`);
      this.lastClaimAt = Date.now();
      this.refillAfterClaim ??= setTimeout(() => {
        this.refillAfterClaim = null;
        void this.refill();
      }, REFILL_AFTER_CLAIM_MS);
    }
    return claimed;
  }

  start(): void {
    if (this.pooledProfiles().length === 0) return;
    void this.refill();
    this.timer = setInterval(() => {
      // Not while a member just claimed serves its first calls: the claim has scheduled the refill for after.
      if (Date.now() - this.lastClaimAt >= REFILL_AFTER_CLAIM_MS) void this.refill();
    }, REFILL_INTERVAL_MS);
  }

  /** Stops topping up and waits for a refill in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.refillAfterClaim) clearTimeout(this.refillAfterClaim);
    this.timer = null;
    this.refillAfterClaim = null;
    await this.refilling;
  }

  /** Members per profile that are ready to be claimed. */
  readySizes(): Promise<{ profile: string; ready: number; target: number }[]> {
    return Promise.all(
      this.pooledProfiles().map(async (profile) => ({
        profile: profile.id,
        ready: (await this.store.poolMembers(POOL_OWNER, profile.id)).filter((member) => member.ready).length,
        target: profile.warm_pool_size,
      })),
    );
  }

  /** Deletes every member (shutdown with server.drain_warm_pools_on_shutdown). */
  async drain(): Promise<void> {
    await this.stop();
    for (const profile of this.pooledProfiles()) {
      for (const member of await this.store.poolMembers(POOL_OWNER, profile.id)) {
        await this.sandboxes.delete(POOL_OWNER, member.sandbox.id).catch(() => undefined);
      }
    }
  }

  /** Replaces members that lost their compute and tops each profile up to its size; one refill at a time, on the leader only. */
  refill(): Promise<void> {
    // One pool per profile for the whole deployment: the replica holding the leader lease keeps it.
    if (!this.isLeader()) return Promise.resolve();
    this.refilling ??= this.refillNow().finally(() => (this.refilling = null));
    return this.refilling;
  }

  private async refillNow(): Promise<void> {
    for (const profile of this.pooledProfiles()) {
      const members = await this.store.poolMembers(POOL_OWNER, profile.id);
      for (const member of members.filter((m) => !m.ready && !m.starting && !this.sessions.isBusy(m.sandbox.id))) {
        await this.sandboxes.delete(POOL_OWNER, member.sandbox.id).catch((error: Error) => consola.warn(`warm pool: ${error.message}`));
      }
      const live = members.filter((m) => m.ready || m.starting).length;
      for (let i = live; i < profile.warm_pool_size; i++) {
        try {
          const created = await this.sandboxes.create(POOL_OWNER, { profile: profile.id });
          await this.sandboxes.startPoolMember(created.id);
        } catch (error) {
          consola.warn(`warm pool: could not add a ${profile.id} member: ${(error as Error).message}`);
          break;
        }
      }
    }
  }
}
