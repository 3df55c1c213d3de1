import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BayConfig } from "./config/index.ts";
import { ANONYMOUS_OWNER } from "./owners.ts";

export interface Principal {
  owner: string;
  admin: boolean;
}

export const GENERATED_KEY_FILE = "api_key";

interface KnownKey extends Principal {
  hash: Buffer;
}

/** Keys are kept only as SHA-256 digests and compared in constant time. */
export class ApiKeyRegistry {
  private readonly keys: KnownKey[];

  constructor(
    keys: BayConfig["security"]["api_keys"],
    readonly allowAnonymous: boolean,
  ) {
    this.keys = keys.map((k) => ({
      owner: k.owner,
      admin: k.admin,
      hash: k.key_hash ? Buffer.from(k.key_hash, "hex") : sha256(k.key!),
    }));
  }

  get size(): number {
    return this.keys.length;
  }

  /** The principal for an Authorization header value, or null when it proves nothing. */
  authenticate(authorization: string | null): Principal | null {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? "")?.[1];
    // Anonymous callers are never admin, and only a request with no Authorization header at all is anonymous.
    if (!token) return this.allowAnonymous && !authorization ? { owner: ANONYMOUS_OWNER, admin: false } : null;
    const digest = sha256(token);
    let found: KnownKey | null = null;
    // Compare against every key so the time taken does not depend on which one matched.
    for (const key of this.keys) if (timingSafeEqual(key.hash, digest)) found = key;
    return found ? { owner: found.owner, admin: found.admin } : null;
  }
}

function sha256(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

/**
 * With no key configured and anonymous access off, Bay makes one key on its
 * first start, keeps it in the data dir (0600) and says so once.
 */
export function ensureGeneratedKey(dataDir: string): { key: string; created: boolean } {
  const file = join(dataDir, GENERATED_KEY_FILE);
  if (existsSync(file)) return { key: readFileSync(file, "utf8").trim(), created: false };
  const key = `bay_${randomBytes(24).toString("base64url")}`;
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return { key, created: true };
}
