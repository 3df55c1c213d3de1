import type { Driver } from "../driver.ts";
import type { SandboxService } from "../sandbox-service.ts";
import type { PendingVolumes } from "../pending-volumes.ts";
import type { SessionManager } from "../session-manager.ts";
import type { StateStore } from "../state-store.ts";
import type { IdempotencyService } from "../idempotency.ts";
import type { Replica } from "../replica.ts";

/** What every collector task is: one kind of cleanup over the state and the engine. */
export interface GcContext {
  store: StateStore;
  idempotency: IdempotencyService;
  replica: Replica;
  driver: Driver;
  sandboxes: SandboxService;
  sessions: SessionManager;
  instanceId: string;
  pendingVolumes: PendingVolumes;
}

export interface GcRunOptions {
  now: number;
  /** Engine objects younger than this are left alone: their rows may not be written yet. */
  orphanGraceMs: number;
  /** At start-up no start is in flight, so a session still "starting" was abandoned by a dead process. */
  atStartup: boolean;
}

/** What one task did: how many things it removed, how many it looked at and left alone, and what it could not do. */
export interface TaskOutcome {
  cleaned: number;
  skipped: number;
  errors: string[];
}

export type GcTask = (context: GcContext, options: GcRunOptions) => Promise<TaskOutcome>;

/**
 * Runs `work` for each item, collecting failures instead of stopping at the
 * first: an item is cleaned when `work` answers true, skipped when false.
 */
export async function forEachItem<T>(items: T[], work: (item: T) => Promise<boolean>): Promise<TaskOutcome> {
  const outcome: TaskOutcome = { cleaned: 0, skipped: 0, errors: [] };
  for (const item of items) {
    try {
      if (await work(item)) outcome.cleaned++;
      else outcome.skipped++;
    } catch (error) {
      outcome.errors.push((error as Error).message ?? String(error));
    }
  }
  return outcome;
}
