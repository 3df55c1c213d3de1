import type { FrontDoorSource } from "../../src/kit/front-door.ts";

/**
 * E2B's API under /e2b, so that E2B's own SDKs work against Bay with
 * E2B_API_URL=http://HOST:8114/e2b (docs/e2b.md). Off until `e2b.enabled`.
 */
const e2b: FrontDoorSource = {
  name: "e2b",
  prefix: "/e2b",
  enabled: (config) => config.e2b.enabled,
  loadRoutes: async () => (await import("./front-door.ts")).default,
};

export default e2b;
