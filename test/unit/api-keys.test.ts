import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiKeyRegistry, ensureGeneratedKey } from "../../src/core/api-keys.ts";

const sha = (value: string) => createHash("sha256").update(value).digest("hex");

describe("API keys", () => {
  const registry = new ApiKeyRegistry(
    [
      { key: "alice-key-0123456789", owner: "alice", admin: false },
      { key_hash: sha("bob-key-0123456789ab"), owner: "bob", admin: true },
    ],
    false,
  );

  test("a plain or hashed key maps to its owner", () => {
    expect(registry.authenticate("Bearer alice-key-0123456789")).toEqual({ owner: "alice", admin: false });
    expect(registry.authenticate("Bearer bob-key-0123456789ab")).toEqual({ owner: "bob", admin: true });
  });

  test("no, malformed or unknown keys prove nothing", () => {
    for (const header of [null, "", "Bearer", "Bearer ", "Basic alice-key-0123456789", "Bearer wrong", "alice-key-0123456789"]) {
      expect(registry.authenticate(header)).toBeNull();
    }
  });

  test("anonymous access, when enabled, applies only to requests without a key, as its own non-admin owner", () => {
    const open = new ApiKeyRegistry([{ key: "admin-key-0123456789", owner: "default", admin: true }], true);
    expect(open.authenticate(null)).toEqual({ owner: "anonymous", admin: false });
    expect(open.authenticate("Bearer wrong")).toBeNull();
    expect(open.authenticate("Bearer admin-key-0123456789")).toEqual({ owner: "default", admin: true });
    expect(registry.authenticate(null)).toBeNull();
  });

  test("a generated key is stored 0600 and reused", () => {
    const dir = mkdtempSync(join(tmpdir(), "bay-key-"));
    const first = ensureGeneratedKey(dir);
    expect(first.created).toBe(true);
    expect(statSync(join(dir, "api_key")).mode & 0o777).toBe(0o600);
    expect(ensureGeneratedKey(dir)).toEqual({ key: first.key, created: false });
  });
});
