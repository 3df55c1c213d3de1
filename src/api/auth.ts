import { Elysia } from "elysia";
import type { ApiKeyRegistry, Principal } from "../core/api-keys.ts";
import { BayError } from "../shared/errors.ts";
import { isPublicRoute } from "./public-routes.ts";

/** Principals found when the headers arrived, for the routes to use. */
const PRINCIPALS = new WeakMap<Request, Principal>();

/** The caller of a request by its Authorization: Bearer key; throws unauthorized without a valid one. Front doors that take Bay's own keys use it too. */
export function authenticate(apiKeys: ApiKeyRegistry, request: Request): Principal {
  const known = PRINCIPALS.get(request);
  if (known) return known;
  const principal = apiKeys.authenticate(request.headers.get("authorization"));
  if (!principal) throw new BayError("unauthorized", "missing or invalid API key (send Authorization: Bearer <key>)");
  PRINCIPALS.set(request, principal);
  return principal;
}

/** True for a request whose principal is already known (a front door's call into Bay's own API). */
export function hasPrincipal(request: Request): boolean {
  return PRINCIPALS.has(request);
}

/** Records the principal a front door found for a request, for the auth plugin to hand its routes. */
export function rememberPrincipal(request: Request, principal: Principal): void {
  PRINCIPALS.set(request, principal);
}

/**
 * Runs when a request's headers have arrived (onRequest), before its body is
 * read: every route but the public ones answers 401 without a valid key,
 * whether or not the route exists.
 */
export function authenticateBeforeBody(apiKeys: ApiKeyRegistry, request: Request): void {
  if (!isPublicRoute(request)) authenticate(apiKeys, request);
}

/**
 * Gives the routes that use this plugin the caller's principal, as found by
 * authenticateBeforeBody (and checked here again, should a route that needs
 * a key ever be listed as public). Named, so Elysia applies it once however
 * many route groups use it.
 */
export function createAuthPlugin(apiKeys: ApiKeyRegistry) {
  return new Elysia({ name: "bay.auth" }).resolve({ as: "scoped" }, ({ request }): { principal: Principal } => ({
    principal: authenticate(apiKeys, request),
  }));
}

export type AuthPlugin = ReturnType<typeof createAuthPlugin>;
