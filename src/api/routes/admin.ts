import { Elysia, t } from "elysia";
import type { GarbageCollector } from "../../core/gc/collector.ts";
import { BayError } from "../../core/errors.ts";
import type { Principal } from "../../core/api-keys.ts";
import type { AuthPlugin } from "../auth.ts";
import { ErrorBody } from "../schemas.ts";

const tags = ["admin"];

const GcRunReport = t.Object({
  results: t.Array(t.Object({ task_name: t.String(), cleaned_count: t.Integer(), errors: t.Array(t.String()) })),
  total_cleaned: t.Integer(),
  duration_ms: t.Integer(),
});

const GcStatus = t.Object({
  enabled: t.Boolean(),
  is_running: t.Boolean(),
  interval_seconds: t.Number(),
  last_run_at: t.Union([t.String({ format: "date-time" }), t.Null()]),
});

const adminErrors = { 401: ErrorBody, 403: ErrorBody, 500: ErrorBody };

function requireAdmin(principal: Principal): void {
  if (!principal.admin) throw new BayError("forbidden", "this route needs an admin API key", {});
}

export function adminRoutes(collector: GarbageCollector, auth: AuthPlugin) {
  return new Elysia()
    .use(auth)
    .post(
      "/v1/admin/gc/run",
      ({ principal }) => {
        requireAdmin(principal);
        return collector.run();
      },
      {
        response: { 200: GcRunReport, ...adminErrors },
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
