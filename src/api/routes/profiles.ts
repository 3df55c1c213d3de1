import { Elysia, t } from "elysia";
import type { BayConfig } from "../../core/config/index.ts";
import { profileView } from "../../core/views.ts";
import { commonRouteErrors, Profile } from "../schemas.ts";

export function profileRoutes(config: BayConfig) {
  return new Elysia().get("/v1/profiles", () => ({ items: config.profiles.map(profileView) }), {
    response: { 200: t.Object({ items: t.Array(Profile) }), ...commonRouteErrors },
    detail: { summary: "List the sandbox profiles (no API key needed)", tags: ["profiles"] },
  });
}
