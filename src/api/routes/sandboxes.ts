import { Elysia, t } from "elysia";
import type { SandboxService } from "../../core/sandbox-service.ts";
import type { IdempotencyService } from "../../core/idempotency.ts";
import type { AuthPlugin } from "../auth.ts";
import { idempotent } from "../idempotent.ts";
import { prefersRespondAsync } from "../prefer-wait.ts";
import {
  CreateSandboxBody,
  ErrorBody,
  ExtendTtlBody,
  IdempotencyHeaders,
  ListSandboxesQuery,
  Sandbox,
  SandboxPage,
  SandboxParams,
  StatusOk,
  StatusStopped,
  sandboxRouteErrors,
} from "../schemas.ts";

const tags = ["sandboxes"];

export function sandboxRoutes(sandboxes: SandboxService, idempotency: IdempotencyService, auth: AuthPlugin) {
  return new Elysia()
    .use(auth)
    .post(
      "/v1/sandboxes",
      (context) => idempotent(idempotency, context, 201, () => sandboxes.create(context.principal.owner, context.body ?? {})),
      {
        body: CreateSandboxBody,
        headers: IdempotencyHeaders,
        response: { 201: Sandbox, ...sandboxRouteErrors, 429: ErrorBody },
        detail: { summary: "Create a sandbox; compute starts lazily on the first capability call; 429 quota_exceeded past max_sandboxes", tags },
      },
    )
    .get("/v1/sandboxes", ({ principal, query }) => sandboxes.list(principal.owner, { ...query, limit: query.limit ?? 50 }), {
      query: ListSandboxesQuery,
      response: { 200: SandboxPage, ...sandboxRouteErrors },
      detail: { summary: "List your sandboxes in creation order", tags },
    })
    .get("/v1/sandboxes/:id", ({ principal, params }) => sandboxes.get(principal.owner, params.id), {
      params: SandboxParams,
      response: { 200: Sandbox, ...sandboxRouteErrors },
      detail: { summary: "Get a sandbox", tags },
    })
    .post(
      "/v1/sandboxes/:id/keepalive",
      async ({ principal, params }) => {
        await sandboxes.keepalive(principal.owner, params.id);
        return { status: "ok" as const };
      },
      {
        params: SandboxParams,
        response: { 200: StatusOk, ...sandboxRouteErrors },
        detail: { summary: "Push idle_expires_at forward if running; never starts compute", tags },
      },
    )
    .post(
      "/v1/sandboxes/:id/extend_ttl",
      (context) =>
        idempotent(idempotency, context, 200, async () =>
          sandboxes.extendTtl(context.principal.owner, context.params.id, context.body.extend_by),
        ),
      {
        params: SandboxParams,
        body: ExtendTtlBody,
        headers: IdempotencyHeaders,
        response: { 200: Sandbox, ...sandboxRouteErrors },
        detail: {
          summary: "Extend a sandbox's TTL: expires_at = max(expires_at, now) + extend_by",
          description:
            "409 sandbox_ttl_infinite for a sandbox without TTL; 409 sandbox_expired once it has expired; 422 validation_error " +
            "(details.field extend_by, details.max_extend_by) when expires_at would pass now + security.max_ttl_seconds.",
          tags,
        },
      },
    )
    .post(
      "/v1/sandboxes/:id/stop",
      async ({ principal, params }) => {
        await sandboxes.stop(principal.owner, params.id);
        return { status: "stopped" as const };
      },
      {
        params: SandboxParams,
        response: { 200: StatusStopped, ...sandboxRouteErrors },
        detail: { summary: "Destroy compute and keep the cargo (idempotent)", tags },
      },
    )
    .delete(
      "/v1/sandboxes/:id",
      async ({ principal, params, set, request }) => {
        const inBackground = prefersRespondAsync(request);
        await sandboxes.delete(principal.owner, params.id, { inBackground });
        return new Response(null, { status: inBackground ? 202 : 204, headers: set.headers as Record<string, string> });
      },
      {
        params: SandboxParams,
        response: {
          202: t.Void({ description: "Deleted, with Prefer: respond-async; its compute and managed cargo are being removed" }),
          204: t.Void({ description: "Deleted, with its compute and managed cargo" }),
          ...sandboxRouteErrors,
        },
        detail: {
          summary: "Delete a sandbox, its compute and its managed cargo (repeat → 204)",
          description:
            "Answers 204 once the container and the managed cargo are gone. With `Prefer: respond-async`, answers 202 (no body) as soon as the sandbox " +
            "is deleted (it is gone from the API) and removes them afterwards; the collector finishes a removal that a crash cut short.",
          tags,
        },
      },
    );
}
