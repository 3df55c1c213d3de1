import { ValidationError } from "../shared/errors.ts";
import { POOL_OWNER } from "./owners.ts";

/**
 * The furthest any expires_at may lie from now (ten years), whatever the
 * configuration says: every TTL and extension stays far inside what a date
 * can hold, however often extend_ttl is called.
 */
export const TTL_CEILING_SECONDS = 10 * 365 * 24 * 3600;

/**
 * TTL rules of create and extend_ttl. `maxTtlSeconds` is security.max_ttl_seconds:
 * null lets sandboxes never expire (ttl 0 or null, as the contract says) and
 * bounds finite ones by the ceiling only; a number makes every sandbox expire
 * within that many seconds of now.
 */
export class TtlLimit {
  private readonly maxSeconds: number;

  constructor(private readonly maxTtlSeconds: number | null) {
    this.maxSeconds = Math.min(maxTtlSeconds ?? TTL_CEILING_SECONDS, TTL_CEILING_SECONDS);
  }

  /**
   * expires_at of a new sandbox (null: never). Without a ttl, a limited Bay
   * uses the limit; an explicit "never" (0 or null) or a ttl past the limit is
   * a validation error. Warm pool members wait unclaimed and never expire; a
   * claim gives them their caller's expiry.
   */
  expiryAtCreate(owner: string, ttl: number | null | undefined, now: number): number | null {
    if (owner === POOL_OWNER) return null;
    if (ttl === undefined && this.maxTtlSeconds !== null) return now + this.maxSeconds * 1000;
    if (!ttl) {
      if (this.maxTtlSeconds === null) return null;
      throw this.tooLong("ttl", `sandboxes must expire here: send a ttl of 1..${this.maxSeconds} seconds`);
    }
    if (ttl > this.maxSeconds) throw this.tooLong("ttl", `ttl ${ttl} is past the longest allowed, ${this.maxSeconds} seconds`);
    return now + ttl * 1000;
  }

  /** expires_at = max(expires_at, now) + extend_by (api.md §4), refused past now + the limit. */
  expiryAfterExtend(expiresAt: number, extendBySeconds: number, now: number): number {
    const base = Math.max(expiresAt, now);
    const latest = now + this.maxSeconds * 1000;
    if (base + extendBySeconds * 1000 > latest) {
      const room = Math.max(0, Math.floor((latest - base) / 1000));
      throw this.tooLong(
        "extend_by",
        `extend_by ${extendBySeconds} would put expires_at past now + ${this.maxSeconds} seconds; at most ${room} seconds can be added now`,
        { max_extend_by: room },
      );
    }
    return base + extendBySeconds * 1000;
  }

  private tooLong(field: string, message: string, extra: Record<string, unknown> = {}): ValidationError {
    return new ValidationError(message, { field, max_ttl_seconds: this.maxSeconds, ...extra });
  }
}
