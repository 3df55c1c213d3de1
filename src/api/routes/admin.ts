import { Elysia } from "elysia";
import type { BayCore } from "../../core/bay-core.ts";
import { BayError } from "../../shared/errors.ts";
import type { Principal } from "../../core/api-keys.ts";
import type { AuthPlugin } from "../auth.ts";
import { VERSION } from "../../shared/version.ts";
import { AdminOverview, ErrorBody, GcRunBody, GcRunReport, GcStatus } from "../schemas.ts";

const tags = ["admin"];

const adminErrors = { 401: ErrorBody, 403: ErrorBody, 500: ErrorBody };

function requireAdmin(principal: Principal): void {
  if (!principal.admin) throw new BayError("forbidden", "this route needs an admin API key", {});
}

/**
 * Admin routes. `executionRoutes` are the routes of the operations that run
 * code (those that stream): what the overview counts as executions.
 */
export function adminRoutes(core: Pick<BayCore, "collector" | "overview" | "metrics" | "replica">, auth: AuthPlugin, executionRoutes: ReadonlySet<string>) {
  const { collector } = core;
  return new Elysia()
    .use(auth)
    .post(
      "/v1/admin/gc/run",
      ({ principal, body }) => {
        requireAdmin(principal);
        return collector.run({ tasks: body?.tasks ?? undefined });
      },
      {
        body: GcRunBody,
        response: { 200: GcRunReport, ...adminErrors, 422: ErrorBody },
        detail: {
          summary: "Run garbage collection now (idle sessions, expired sandboxes, lost sessions, orphan containers and cargos)",
          tags,
        },
      },
    )
    .get(
      "/v1/admin/gc/status",
      ({ principal }) => {
        requireAdmin(principal);
        return collector.status();
      },
      { response: { 200: GcStatus, ...adminErrors }, detail: { summary: "The collector's state", tags } },
    )
    .get(
      "/v1/admin/overview",
      async ({ principal }) => {
        requireAdmin(principal);
        const executions = core.metrics.httpRequests.sum((labels) => labels.status === "200" && executionRoutes.has(labels.route ?? ""));
        return { ...(await core.overview()), executions_total: executions, replica_id: core.replica.id, version: VERSION };
      },
      {
        response: { 200: AdminOverview, ...adminErrors },
        detail: { summary: "The deployment at a glance: owners and their sandboxes, running sessions, warm pools, executions", tags },
      },
    );
}
