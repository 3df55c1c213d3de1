import { Elysia } from "elysia";
import type { GarbageCollector } from "../../core/gc/collector.ts";
import { BayError } from "../../shared/errors.ts";
import type { Principal } from "../../core/api-keys.ts";
import type { AuthPlugin } from "../auth.ts";
import { ErrorBody, GcRunBody, GcRunReport, GcStatus } from "../schemas.ts";

const tags = ["admin"];

const adminErrors = { 401: ErrorBody, 403: ErrorBody, 500: ErrorBody };

function requireAdmin(principal: Principal): void {
  if (!principal.admin) throw new BayError("forbidden", "this route needs an admin API key", {});
}

export function adminRoutes(collector: GarbageCollector, auth: AuthPlugin) {
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
    );
}
