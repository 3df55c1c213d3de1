import { Elysia, type AnyElysia } from "elysia";
import { openapi } from "@elysiajs/openapi";
import type { BayCore } from "../core/bay-core.ts";
import { enterRequest } from "../core/request-context.ts";
import { operationRoute, type SandboxOperation } from "../shared/sandbox-operation.ts";
import { VERSION } from "../shared/version.ts";
import { authenticateBeforeBody, createAuthPlugin, hasPrincipal, rememberPrincipal } from "./auth.ts";
import type { BayRoutesSource } from "./capability-context.ts";
import type { FrontDoorContext, FrontDoorSource } from "./front-door-context.ts";
import { checkBodySize, limitedBody, parseUndeclaredBody } from "./body-limit.ts";
import { errorEnvelope, errorHeaders, logUnexpected, toBayError } from "./error-response.ts";
import { requireObjectBody } from "./json-body.ts";
import { openApiAssetRoutes, SWAGGER_UI_ASSETS } from "./openapi-assets.ts";
import { completeOpenApiDocument } from "./openapi-document.ts";
import { assignRequestId, requestIdOf } from "./request-id.ts";
import { StreamedBody, hasStreamedBody } from "./streamed-body.ts";
import { adminRoutes } from "./routes/admin.ts";
import { dashboardRoutes } from "./routes/dashboard.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { cargoRoutes } from "./routes/cargos.ts";
import { healthRoutes } from "./routes/health.ts";
import { profileRoutes } from "./routes/profiles.ts";
import { sandboxRoutes } from "./routes/sandboxes.ts";

const OPENAPI_DOCUMENT_PATH = "/openapi/json";

/** When each request arrived, for the latency histogram. */
const requestStarts = new WeakMap<Request, number>();

/** Builds the HTTP API over a core and the capabilities' routes; `bay serve` listens with it, tests call `app.handle`. */
export async function createApp(core: BayCore, capabilities: readonly BayRoutesSource[], frontDoors: readonly FrontDoorSource[] = []) {
  const auth = createAuthPlugin(core.apiKeys);
  const operations = capabilities.flatMap((capability) => capability.operations);
  const capabilityRoutes = await Promise.all(
    capabilities.map(async (plugin) => (await plugin.loadBayRoutes())({ sandboxes: core.sandboxes, auth })),
  );
  // The document describes the app being built here; the hook reads it once it exists.
  const built: { app?: AnyElysia } = {};
  const callBay: FrontDoorContext["callBay"] = async (principal, method, path, init = {}) => {
    const headers = new Headers(init.headers);
    if (init.json !== undefined) headers.set("content-type", "application/json");
    const request = new Request(`http://bay.internal${path}`, {
      method,
      headers,
      body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
    });
    rememberPrincipal(request, principal);
    return built.app!.handle(request);
  };
  const doors = await Promise.all(
    frontDoors
      .filter((door) => door.enabled(core.config))
      .map(async (door) => ({
        prefix: door.prefix,
        door: (await door.loadRoutes())({
          sandboxes: core.sandboxes,
          apiKeys: core.apiKeys,
          auth,
          config: core.config,
          operations,
          callBay,
        }),
      })),
  );
  /** The front door whose prefix a request is under, if any. */
  const doorOf = (request: Request) => {
    // Every request asks: with no door enabled, the URL is not even parsed.
    if (doors.length === 0) return undefined;
    const path = new URL(request.url).pathname;
    return doors.find(({ prefix }) => path === prefix || path.startsWith(`${prefix}/`))?.door;
  };

  const app = new Elysia()
    .onRequest(({ request, set, server }) => {
      requestStarts.set(request, performance.now());
      // From the header on, the body must be in within this time (Bun's per-request timer is not reset by body bytes).
      server?.timeout(request, core.config.server.request_body_timeout_seconds);
      const requestId = assignRequestId(request);
      set.headers["x-request-id"] = requestId;
      enterRequest(requestId, set.headers as Record<string, string | number>);
      // The key first: a caller without one gets 401 before Bay reads, sizes or parses any of the body.
      const door = doorOf(request);
      if (door && !hasPrincipal(request)) {
        // A door may look its credential up in the state (an access token): the body waits for it.
        return Promise.resolve(door.authenticate(request)).then((principal) => {
          rememberPrincipal(request, principal);
          checkBodySize(request, core.config.server.max_body_bytes);
        });
      }
      // A front door's own call into Bay's API has its principal already: its caller was authenticated at the door.
      if (!hasPrincipal(request)) authenticateBeforeBody(core.apiKeys, request);
      checkBodySize(request, core.config.server.max_body_bytes);
    })
    .onParse({ as: "global" }, ({ request, route }) =>
      hasStreamedBody(route)
        ? new StreamedBody(limitedBody(request, core.config.server.max_body_bytes, core.config.server.request_body_timeout_seconds * 1000))
        : parseUndeclaredBody(request, core.config.server.max_body_bytes),
    )
    .onTransform({ as: "global" }, ({ body, request, server }) => {
      requireObjectBody(body);
      // The request is in (a streamed body times its own silences); Bay's own work (an execution, a session start) may take minutes.
      server?.timeout(request, 0);
    })
    .onAfterHandle({ as: "global" }, ({ path, response }) =>
      path === OPENAPI_DOCUMENT_PATH ? completeOpenApiDocument(response as object, built.app!) : undefined,
    )
    .onAfterResponse({ as: "global" }, ({ request, route, set, responseValue }) => {
      const started = requestStarts.get(request);
      const status = responseValue instanceof Response ? responseValue.status : Number(set.status ?? 200);
      const labels = { route: route || "unmatched", method: request.method };
      core.metrics.httpRequests.inc({ ...labels, status: String(status) });
      if (started !== undefined) core.metrics.httpDuration.observe((performance.now() - started) / 1000, labels);
    })
    .onError({ as: "global" }, ({ code, error, request, path, set }) => {
      const requestId = requestIdOf(request);
      const bayError = toBayError(code, error);
      set.status = bayError.status;
      logUnexpected(error, bayError, `${request.method} ${path}`);
      const door = doorOf(request);
      if (door) {
        const answer = door.errorResponse(bayError, requestId, request);
        answer.headers.set("x-request-id", requestId);
        return answer;
      }
      return Response.json(errorEnvelope(bayError, requestId), {
        status: bayError.status,
        headers: { "x-request-id": requestId, ...errorHeaders(bayError) },
      });
    })
    .use(
      openapi({
        path: "/openapi",
        specPath: OPENAPI_DOCUMENT_PATH,
        // Swagger UI from Bay's own binary: no CDN, no validator badge (a request to an outside host).
        provider: "swagger-ui",
        swagger: { ...SWAGGER_UI_ASSETS, validatorUrl: "none" },
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
    .use(openApiAssetRoutes())
    .use(dashboardRoutes())
    .use(healthRoutes(core.driver))
    .use(profileRoutes(core.config))
    .use(sandboxRoutes(core.sandboxes, core.idempotency, auth))
    .use(cargoRoutes(core.cargos, core.idempotency, auth))
    .use(adminRoutes(core, auth, executionRoutes(operations)))
    .use(metricsRoutes(core.metrics));
  for (const routes of capabilityRoutes) app.use(routes);
  for (const { door } of doors) app.use(door.routes);
  built.app = app;
  /** Bay is stopping: each door ends what it holds open (MCP sessions and their streams) before requests are drained. */
  const closeFrontDoors = async () => {
    await Promise.all(doors.map(({ door }) => door.close?.()));
  };
  return Object.assign(app, { closeFrontDoors });
}

export type BayApp = Awaited<ReturnType<typeof createApp>>;

/** The routes of the operations that run code (the ones that stream), as the request metrics label them. */
function executionRoutes(operations: readonly SandboxOperation[]): Set<string> {
  return new Set(operations.filter((operation) => operation.streams).map(operationRoute));
}
