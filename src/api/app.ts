import { Elysia } from "elysia";
import { openapi } from "@elysiajs/openapi";
import type { BayCore } from "../core/bay-core.ts";
import { loadCapabilityPlugins } from "../core/plugins.ts";
import { enterRequest } from "../core/request-context.ts";
import { VERSION } from "../version.ts";
import { createAuthPlugin } from "./auth.ts";
import { checkBodySize, parseUndeclaredBody } from "./body-limit.ts";
import { errorEnvelope, errorHeaders, logUnexpected, toBayError } from "./error-response.ts";
import { requireObjectBody } from "./json-body.ts";
import { assignRequestId, requestIdOf } from "./request-id.ts";
import { adminRoutes } from "./routes/admin.ts";
import { cargoRoutes } from "./routes/cargos.ts";
import { healthRoutes } from "./routes/health.ts";
import { profileRoutes } from "./routes/profiles.ts";
import { sandboxRoutes } from "./routes/sandboxes.ts";

/** Builds the HTTP API over a core; `bay serve` listens with it, tests call `app.handle`. */
export async function createApp(core: BayCore) {
  const auth = createAuthPlugin(core.apiKeys);
  const capabilityRoutes = await Promise.all(
    (await loadCapabilityPlugins()).map(async (plugin) => (await plugin.loadBayRoutes())({ sandboxes: core.sandboxes, auth })),
  );

  const app = new Elysia()
    .onRequest(({ request, set }) => {
      const requestId = assignRequestId(request);
      set.headers["x-request-id"] = requestId;
      enterRequest(requestId);
      checkBodySize(request, core.config.server.max_body_bytes);
    })
    .onParse({ as: "global" }, ({ request }) => parseUndeclaredBody(request, core.config.server.max_body_bytes))
    .onTransform({ as: "global" }, ({ body }) => requireObjectBody(body))
    .onError({ as: "global" }, ({ code, error, request, path }) => {
      const requestId = requestIdOf(request);
      const bayError = toBayError(code, error);
      logUnexpected(error, bayError, `${request.method} ${path}`);
      return Response.json(errorEnvelope(bayError, requestId), {
        status: bayError.status,
        headers: { "x-request-id": requestId, ...errorHeaders(bayError) },
      });
    })
    .use(
      openapi({
        path: "/openapi",
        documentation: {
          info: {
            title: "Bay API",
            version: VERSION,
            description:
              "Sandboxes for AI agents: stateful Python, shell and files in containers. Every error uses the envelope " +
              "{error:{code,message,request_id,details}}. Send `Authorization: Bearer <api key>` on every route except /health and /v1/profiles.",
          },
          components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
          security: [{ bearer: [] }],
        },
      }),
    )
    .use(healthRoutes(core.driver))
    .use(profileRoutes(core.config))
    .use(sandboxRoutes(core.sandboxes, core.idempotency, auth))
    .use(cargoRoutes(core.cargos, core.idempotency, auth))
    .use(adminRoutes(core.collector, auth));
  for (const routes of capabilityRoutes) app.use(routes);
  return app;
}

export type BayApp = Awaited<ReturnType<typeof createApp>>;
