import { Elysia, t } from "elysia";
import type { Metrics } from "../../core/metrics.ts";

/** Prometheus scrapes without a key, like /health: counts and latencies only, no ids. */
export function metricsRoutes(metrics: Metrics) {
  return new Elysia().get(
    "/metrics",
    async () => new Response(await metrics.render(), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } }),
    {
      response: { 200: t.String({ description: "Prometheus text exposition format" }) },
      detail: { summary: "Metrics in Prometheus text format (no key needed)", tags: ["system"] },
    },
  );
}
