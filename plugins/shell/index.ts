import type { CapabilityPlugin } from "../../src/kit/capability.ts";

/** Shell commands in their own process group, killed whole on timeout. */
const shell: CapabilityPlugin = {
  name: "shell",
  loadBayRoutes: async () => (await import("./bay-routes.ts")).default,
  loadAgent: async () => (await import("./agent.ts")).default,
};

export default shell;
