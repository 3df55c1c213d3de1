import { POOL_OWNER } from "./owners.ts";
import type { StateStore } from "./state-store.ts";
import type { WarmPool } from "./warm-pool.ts";

/** The deployment at a glance, for admins (GET /v1/admin/overview, the dashboard). */
export interface DeploymentOverview {
  /** Each owner with live sandboxes, and how many are in each status. */
  owners: { owner: string; sandboxes: number; by_status: Record<string, number> }[];
  /** Sessions with a running container, warm pool members included. */
  running_sessions: number;
  warm_pools: { profile: string; ready: number; target: number }[];
}

export async function deploymentOverview(store: StateStore, pool: WarmPool, now = Date.now()): Promise<DeploymentOverview> {
  const [counts, running, warmPools] = await Promise.all([store.sandboxStatusCounts(now, POOL_OWNER), store.sessionsWithStatus("running"), pool.readySizes()]);
  const owners = new Map<string, DeploymentOverview["owners"][number]>();
  for (const { owner, status, count } of counts) {
    const entry = owners.get(owner) ?? { owner, sandboxes: 0, by_status: {} };
    entry.sandboxes += count;
    entry.by_status[status] = count;
    owners.set(owner, entry);
  }
  return {
    owners: [...owners.values()].sort((a, b) => a.owner.localeCompare(b.owner)),
    running_sessions: running.length,
    warm_pools: warmPools,
  };
}
