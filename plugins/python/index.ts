import type { CapabilityPlugin } from "../../src/kit/capability.ts";
import { PYTHON_OPERATIONS } from "./operations.ts";

/** Stateful Python: one kernel per session, IPython when the image has it. */
const python: CapabilityPlugin = {
  name: "python",
  operations: PYTHON_OPERATIONS,
  loadBayRoutes: async () => (await import("./bay-routes.ts")).default,
  loadAgent: async () => (await import("./agent.ts")).default,
};

export default python;
