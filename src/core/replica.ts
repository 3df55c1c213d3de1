import { randomBytes } from "node:crypto";
import { readlinkSync } from "node:fs";
import { hostname } from "node:os";
import { consola } from "consola";
import { KeyedMutex } from "./keyed-mutex.ts";
import type { StateStore } from "./state-store.ts";

/** How often a replica says it is alive and renews its leases. */
export const REPLICA_HEARTBEAT_MS = 1000;
/** A replica silent this long is gone: its starts are abandoned, its leases taken over. */
export const REPLICA_DEAD_AFTER_MS = 10_000;
/** A lease lasts this long unless its holder renews it (every beat). */
export const LEASE_TTL_MS = 6000;
/** Replicas silent this long are removed from the table. */
const FORGET_AFTER_MS = 3600_000;

export interface ReplicaTiming {
  heartbeatMs: number;
  leaseTtlMs: number;
  deadAfterMs: number;
}

const DEFAULT_TIMING: ReplicaTiming = { heartbeatMs: REPLICA_HEARTBEAT_MS, leaseTtlMs: LEASE_TTL_MS, deadAfterMs: REPLICA_DEAD_AFTER_MS };

/** The lease of the replica that runs the collector's schedule and tops up the warm pools for all. */
export const LEADER_LEASE = "leader";

/**
 * This Bay process among the replicas that share one state database (one,
 * on SQLite, unless `bay exec` runs beside `bay serve`): its id, its
 * heartbeat, the leases it holds. What only one replica may do (a collector
 * pass, the warm pool refill) is done under a lease; a replica that stops
 * beating is treated as gone.
 */
export class Replica {
  readonly id = `${hostname()}-${PID_NAMESPACE}-${process.pid}-${randomBytes(3).toString("hex")}`;
  private timer: Timer | null = null;
  private readonly held = new Set<string>();
  private readonly local = new KeyedMutex();
  private beating: Promise<void> | null = null;

  constructor(
    private readonly store: StateStore,
    /** Work of each beat beside the heartbeat (keeping busy sandboxes from idling out elsewhere). */
    private readonly onBeat: () => Promise<void> = async () => undefined,
    private readonly timing: ReplicaTiming = DEFAULT_TIMING,
  ) {}

  /** Beats now and then every REPLICA_HEARTBEAT_MS. */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.timing.heartbeatMs);
  }

  /** Competes for the leader lease from now on (daemons do; `bay exec` does not). */
  async lead(): Promise<void> {
    this.held.add(LEADER_LEASE);
    // A beat already under way may have started before the lease was sought.
    await this.beating;
    await this.beat();
  }

  isLeader(): boolean {
    return this.held.has(LEADER_LEASE) && this.leases.get(LEADER_LEASE) === true;
  }

  /** Whether the replica that wrote `replicaId` on a row may still be at work. */
  async isAlive(replicaId: string | null): Promise<boolean> {
    if (replicaId === null) return false;
    if (replicaId === this.id) return true;
    // A process of this host (and pid namespace) that is no longer there is gone at once, whatever its last beat (a quick restart).
    const { host, namespace, pid } = parseReplicaId(replicaId);
    if (host === hostname() && namespace === PID_NAMESPACE && pid > 0 && !processExists(pid)) return false;
    return (await this.store.liveReplicaIds(Date.now() - this.timing.deadAfterMs)).includes(replicaId);
  }

  /**
   * Runs `work` holding the lease `name` (renewed by the beats meanwhile),
   * waiting for it at most `waitMs`; null when it could not be had.
   */
  async withLease<T>(name: string, waitMs: number, work: () => Promise<T>): Promise<T | null> {
    const giveUpAt = Date.now() + waitMs;
    // The database tells replicas apart, not two callers of one replica: those take turns here first.
    if (waitMs === 0 && this.local.isLocked(name)) return null;
    return this.local.run(name, async () => {
      while (!(await this.store.acquireLease(name, this.id, Date.now(), this.timing.leaseTtlMs))) {
        if (Date.now() >= giveUpAt) return null;
        await Bun.sleep(100);
      }
      this.held.add(name);
      this.leases.set(name, true);
      try {
        return await work();
      } finally {
        this.held.delete(name);
        this.leases.delete(name);
        await this.store.releaseLease(name, this.id).catch(() => undefined);
      }
    });
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.beating;
    for (const name of this.held) await this.store.releaseLease(name, this.id).catch(() => undefined);
    await this.store.removeReplicas(Date.now() - FORGET_AFTER_MS, this.id).catch(() => undefined);
  }

  /** Whether each held (or sought) lease is this replica's after the last beat. */
  private readonly leases = new Map<string, boolean>();

  private beat(): Promise<void> {
    this.beating ??= (async () => {
      const now = Date.now();
      try {
        await this.store.heartbeat(this.id, now);
        for (const name of this.held) this.leases.set(name, await this.store.acquireLease(name, this.id, now, this.timing.leaseTtlMs));
        await this.onBeat();
      } catch (error) {
        // Without the database this replica cannot know it still leads.
        for (const name of this.held) this.leases.set(name, false);
        consola.warn(`replica ${this.id}: heartbeat failed: ${(error as Error).message}`);
      } finally {
        this.beating = null;
      }
    })();
    return this.beating;
  }
}

/**
 * The pid namespace this process sees: two containers may share a host name
 * (host networking) but not their pids, so a pid is only checked in its own.
 */
const PID_NAMESPACE = (() => {
  try {
    return /\[(\d+)\]/.exec(readlinkSync("/proc/self/ns/pid"))?.[1] ?? "0";
  } catch {
    return "0";
  }
})();

/** An id is `host-pidns-pid-random`; a host name may hold dashes itself. */
function parseReplicaId(id: string): { host: string; namespace: string; pid: number } {
  const parts = id.split("-");
  if (parts.length < 4) return { host: "", namespace: "", pid: 0 };
  return { host: parts.slice(0, -3).join("-"), namespace: parts.at(-3)!, pid: Number(parts.at(-2)) };
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
