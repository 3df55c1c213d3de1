import { createHash } from "node:crypto";
import { and, eq, lte } from "drizzle-orm";
import type { StateDatabase } from "../db/state-database.ts";
import { ConflictError } from "../shared/errors.ts";

export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** A first use still running after this long was abandoned (its process died); the key is free again. */
const ABANDONED_AFTER_MS = 60_000;
/** How long a retry waits for the first use of its key to finish. */
const WAIT_FOR_FIRST_USE_MS = 120_000;
const POLL_MS = 20;

export interface RequestIdentity {
  method: string;
  path: string;
  body: unknown;
}

export interface StoredResponse {
  status: number;
  body: unknown;
}

/**
 * Idempotency-Key (api.md §4): the first request with a key runs and its
 * success is stored with a fingerprint of the request; a retry with the same
 * fingerprint gets the stored answer, a different one 409. Concurrent first
 * uses run once: the row is claimed in a transaction and the others wait.
 * The database is the lock, so this holds across processes too.
 */
export class IdempotencyService {
  constructor(
    private readonly state: StateDatabase,
    private readonly ttlMs: number,
  ) {}

  async execute(
    owner: string,
    key: string | null,
    identity: RequestIdentity,
    run: () => Promise<StoredResponse>,
  ): Promise<StoredResponse & { replayed: boolean }> {
    if (key === null) return { ...(await run()), replayed: false };
    if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
      // 409 rather than 422: what shipyard-neo answers, so its clients handle it as they do there.
      throw new ConflictError("Idempotency-Key must be 1 to 128 characters of A-Z, a-z, 0-9, _ and -", {
        field: "Idempotency-Key",
      });
    }
    const fingerprint = fingerprintOf(identity);
    const giveUpAt = Date.now() + WAIT_FOR_FIRST_USE_MS;
    for (;;) {
      const existing = await this.claim(owner, key, fingerprint);
      if (existing === "claimed") return { ...(await this.runClaimed(owner, key, run)), replayed: false };
      if (existing.fingerprint !== fingerprint) {
        throw new ConflictError("Idempotency-Key was already used with a different request", { idempotency_key: key });
      }
      if (existing.statusCode !== null) {
        return { status: existing.statusCode, body: JSON.parse(existing.responseBody ?? "null"), replayed: true };
      }
      if (Date.now() > giveUpAt) {
        throw new ConflictError("a request with this Idempotency-Key is still in progress", { idempotency_key: key });
      }
      await Bun.sleep(POLL_MS);
    }
  }

  /** Takes the key for this request, or returns the row of whoever has it. */
  private claim(owner: string, key: string, fingerprint: string) {
    const { idempotencyKeys } = this.state.tables;
    return this.state.transaction([`idempotency:${owner}:${key}`], async (tx) => {
      const now = Date.now();
      const where = and(eq(idempotencyKeys.owner, owner), eq(idempotencyKeys.key, key));
      const [row] = await tx.select().from(idempotencyKeys).where(where);
      const abandoned = row && row.statusCode === null && now - row.createdAt > ABANDONED_AFTER_MS;
      if (row && row.expiresAt > now && !abandoned) return row;
      if (row) await tx.delete(idempotencyKeys).where(where);
      await tx.insert(idempotencyKeys).values({ owner, key, fingerprint, statusCode: null, responseBody: null, createdAt: now, expiresAt: now + this.ttlMs });
      return "claimed" as const;
    });
  }

  /** Removes the keys past their TTL; returns how many. */
  async removeExpired(now: number): Promise<number> {
    const { idempotencyKeys } = this.state.tables;
    const removed = await this.state.use((db) => db.delete(idempotencyKeys).where(lte(idempotencyKeys.expiresAt, now)).returning({ key: idempotencyKeys.key }));
    return removed.length;
  }

  private async runClaimed(owner: string, key: string, run: () => Promise<StoredResponse>): Promise<StoredResponse> {
    const { idempotencyKeys } = this.state.tables;
    const where = and(eq(idempotencyKeys.owner, owner), eq(idempotencyKeys.key, key));
    let response: StoredResponse;
    try {
      response = await run();
    } catch (error) {
      // Only successes are stored: a failed first use frees the key for a retry.
      await this.state.use((db) => db.delete(idempotencyKeys).where(where));
      throw error;
    }
    await this.state.use((db) => db.update(idempotencyKeys).set({ statusCode: response.status, responseBody: JSON.stringify(response.body) }).where(where));
    return response;
  }
}

/** Method, path and the body with its keys sorted, so that key order does not matter. */
export function fingerprintOf(identity: RequestIdentity): string {
  return createHash("sha256")
    .update(`${identity.method.toUpperCase()} ${identity.path}\n${canonicalJson(identity.body ?? null)}`)
    .digest("hex");
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
