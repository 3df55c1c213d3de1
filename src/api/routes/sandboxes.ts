import { Elysia, t } from "elysia";
import type { SandboxService } from "../../core/sandbox-service.ts";
import type { AuthPlugin } from "../auth.ts";
import {
  CreateSandboxBody,
  ListSandboxesQuery,
  Sandbox,
  SandboxPage,
  SandboxParams,
  StatusOk,
  StatusStopped,
  sandboxRouteErrors,
} from "../schemas.ts";

const tags = ["sandboxes"];

export function sandboxRoutes(sandboxes: SandboxService, auth: AuthPlugin) {
  return new Elysia()
    .use(auth)
    .post(
      "/v1/sandboxes",
      async ({ principal, body, set }) => {
        const sandbox = await sandboxes.create(principal.owner, body ?? {});
        set.status = 201;
        return sandbox;
      },
      {
        body: CreateSandboxBody,
        response: { 201: Sandbox, ...sandboxRouteErrors },
        detail: { summary: "Create a sandbox; compute starts lazily on the first capability call", tags },
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
      ({ principal, params }) => {
        sandboxes.keepalive(principal.owner, params.id);
        return { status: "ok" as const };
      },
      {
        params: SandboxParams,
        response: { 200: StatusOk, ...sandboxRouteErrors },
        detail: { summary: "Push idle_expires_at forward if running; never starts compute", tags },
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
      async ({ principal, params, set }) => {
        await sandboxes.delete(principal.owner, params.id);
        return new Response(null, { status: 204, headers: set.headers as Record<string, string> });
      },
      {
        params: SandboxParams,
        response: { 204: t.Void({ description: "Deleted" }), ...sandboxRouteErrors },
        detail: { summary: "Delete a sandbox, its compute and its managed cargo (repeat → 204)", tags },
      },
    );
}
