import { Elysia } from "elysia";
import type { Driver } from "../../core/driver.ts";
import { COMMIT, VERSION } from "../../shared/version.ts";
import { commonRouteErrors, Health } from "../schemas.ts";

export function healthRoutes(driver: Driver) {
  return new Elysia().get(
    "/health",
    async () => {
      try {
        await driver.ping();
        return { status: "ok" as const, version: VERSION, commit: COMMIT, driver: { name: driver.name, endpoint: driver.endpoint, status: "ok" as const } };
      } catch (error) {
        return {
          status: "degraded" as const,
          version: VERSION,
          commit: COMMIT,
          driver: { name: driver.name, endpoint: driver.endpoint, status: "unavailable" as const, error: (error as Error).message },
        };
      }
    },
    { response: { 200: Health, ...commonRouteErrors }, detail: { summary: "Liveness and container-engine reachability", tags: ["system"] } },
  );
}
