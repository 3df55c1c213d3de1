import type { CapabilityPlugin } from "../../src/kit/capability.ts";
import { FILESYSTEM_OPERATIONS } from "./operations.ts";

/** Files in /workspace: read, write, list, delete, upload and download, symlink-safe. */
const filesystem: CapabilityPlugin = {
  name: "filesystem",
  operations: FILESYSTEM_OPERATIONS,
  loadBayRoutes: async () => (await import("./bay-routes.ts")).default,
  loadAgent: async () => (await import("./agent.ts")).default,
};

export default filesystem;
