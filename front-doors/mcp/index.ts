import type { FrontDoorSource } from "../../src/kit/front-door.ts";

/**
 * The Model Context Protocol over streamable HTTP at /mcp: the tools of
 * `bay mcp`, for remote agents and IDEs. On unless `mcp.enabled: false`.
 */
const mcp: FrontDoorSource = {
  name: "mcp",
  prefix: "/mcp",
  enabled: (config) => config.mcp.enabled,
  loadRoutes: async () => (await import("./front-door.ts")).default,
};

export default mcp;
