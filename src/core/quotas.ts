import type { BayConfig, QuotaConfig } from "./config/index.ts";
import { QuotaExceededError } from "./errors.ts";

export type QuotaName = keyof QuotaConfig;

/** Per-owner limits from config; 0 is unlimited. */
export class Quotas {
  constructor(private readonly config: BayConfig["quotas"]) {}

  limit(owner: string, quota: QuotaName): number {
    return this.config.owners[owner]?.[quota] ?? this.config.default[quota];
  }

  /** Throws 429 quota_exceeded when one more would pass the owner's limit. */
  checkRoomForOne(owner: string, quota: QuotaName, current: number): void {
    const limit = this.limit(owner, quota);
    if (limit > 0 && current >= limit) throw new QuotaExceededError(quota, limit, current);
  }
}
