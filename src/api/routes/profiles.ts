import { Elysia, t } from "elysia";
import type { BayConfig } from "../../core/config/index.ts";
import { profileView } from "../../core/views.ts";
import { commonRouteErrors, ListProfilesQuery, Profile } from "../schemas.ts";

export function profileRoutes(config: BayConfig) {
  return new Elysia().get("/v1/profiles", ({ query }) => ({ items: config.profiles.map((profile) => profileView(profile, query.detail === true)) }), {
    query: ListProfilesQuery,
    response: { 200: t.Object({ items: t.Array(Profile) }), ...commonRouteErrors },
    detail: { summary: "List the sandbox profiles (no API key needed)", tags: ["profiles"] },
  });
}
