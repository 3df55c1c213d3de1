import { Elysia } from "elysia";
import type { ApiKeyRegistry, Principal } from "../core/api-keys.ts";
import { BayError } from "../core/errors.ts";

/**
 * Resolves the caller's principal from `Authorization: Bearer`; routes that
 * use this plugin answer 401 without a valid key. Named, so Elysia applies it
 * once however many route groups use it.
 */
export function createAuthPlugin(apiKeys: ApiKeyRegistry) {
  return new Elysia({ name: "bay.auth" }).resolve({ as: "scoped" }, ({ request }): { principal: Principal } => {
    const principal = apiKeys.authenticate(request.headers.get("authorization"));
    if (!principal) throw new BayError("unauthorized", "missing or invalid API key (send Authorization: Bearer <key>)");
    return { principal };
  });
}

export type AuthPlugin = ReturnType<typeof createAuthPlugin>;
