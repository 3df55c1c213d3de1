import { randomBytes } from "node:crypto";

export type IdKind = "sandbox" | "cargo" | "session" | "execution";

const PREFIX: Record<IdKind, string> = { sandbox: "sandbox", cargo: "ws", session: "sess", execution: "exec" };

/** Random, never reused ids: `sandbox-<12 hex>`, `ws-…`, `sess-…`, `exec-…` (api.md §1). */
export function newId(kind: IdKind): string {
  return `${PREFIX[kind]}-${randomBytes(6).toString("hex")}`;
}

export function newSecretToken(): string {
  return randomBytes(32).toString("base64url");
}
