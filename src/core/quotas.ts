import type { BayConfig, QuotaConfig } from "./config/index.ts";
import { QuotaExceededError } from "../shared/errors.ts";
import { POOL_OWNER } from "./owners.ts";

export type QuotaName = keyof QuotaConfig;

/** Per-owner limits from config; 0 is unlimited. */
export class Quotas {
  constructor(private readonly config: BayConfig["quotas"]) {}

  limit(owner: string, quota: QuotaName): number {
    // Warm pool members belong to no caller and count against no one.
    if (owner === POOL_OWNER) return 0;
    return this.config.owners[owner]?.[quota] ?? this.config.default[quota];
  }

  hasRoomForOne(owner: string, quota: QuotaName, current: number): boolean {
    const limit = this.limit(owner, quota);
    return limit === 0 || current < limit;
  }

  /** Throws 429 quota_exceeded when one more would pass the owner's limit. */
  checkRoomForOne(owner: string, quota: QuotaName, current: number): void {
    if (!this.hasRoomForOne(owner, quota, current)) throw new QuotaExceededError(quota, this.limit(owner, quota), current);
  }
}
