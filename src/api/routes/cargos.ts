import { Elysia, t } from "elysia";
import type { CargoService } from "../../core/cargo-service.ts";
import type { IdempotencyService } from "../../core/idempotency.ts";
import type { AuthPlugin } from "../auth.ts";
import { idempotent } from "../idempotent.ts";
import {
  Cargo,
  CargoPage,
  CargoParams,
  CreateCargoBody,
  ErrorBody,
  IdempotencyHeaders,
  ListCargosQuery,
  sandboxRouteErrors,
} from "../schemas.ts";

const tags = ["cargos"];

export function cargoRoutes(cargos: CargoService, idempotency: IdempotencyService, auth: AuthPlugin) {
  return new Elysia()
    .use(auth)
    .post(
      "/v1/cargos",
      (context) => idempotent(idempotency, context, 201, () => cargos.create(context.principal.owner, context.body ?? {})),
      {
        body: t.Optional(CreateCargoBody),
        headers: IdempotencyHeaders,
        response: { 201: Cargo, ...sandboxRouteErrors, 429: ErrorBody },
        detail: { summary: "Create an external cargo (a workspace volume that outlives sandboxes); 429 quota_exceeded past max_cargos", tags },
      },
    )
    .get("/v1/cargos", ({ principal, query }) => cargos.list(principal.owner, { ...query, limit: query.limit ?? 50 }), {
      query: ListCargosQuery,
      response: { 200: CargoPage, ...sandboxRouteErrors },
      detail: { summary: "List your cargos (external ones unless managed=true)", tags },
    })
    .get("/v1/cargos/:id", ({ principal, params }) => cargos.get(principal.owner, params.id), {
      params: CargoParams,
      response: { 200: Cargo, ...sandboxRouteErrors },
      detail: { summary: "Get a cargo", tags },
    })
    .delete(
      "/v1/cargos/:id",
      async ({ principal, params, set }) => {
        await cargos.delete(principal.owner, params.id);
        return new Response(null, { status: 204, headers: set.headers as Record<string, string> });
      },
      {
        params: CargoParams,
        response: { 204: t.Void({ description: "Deleted" }), ...sandboxRouteErrors },
        detail: { summary: "Delete a cargo; 409 conflict with details.active_sandbox_ids while a live sandbox uses it", tags },
      },
    );
}
