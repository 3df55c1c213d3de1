import type { CapabilityPlugin } from "../../src/kit/capability.ts";
import { SHELL_OPERATIONS } from "./operations.ts";

/** Shell commands in their own process group, killed whole on timeout. */
const shell: CapabilityPlugin = {
  name: "shell",
  operations: SHELL_OPERATIONS,
  loadBayRoutes: async () => (await import("./bay-routes.ts")).default,
  loadAgent: async () => (await import("./agent.ts")).default,
};

export default shell;
