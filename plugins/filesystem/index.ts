import type { CapabilityPlugin } from "../../src/kit/capability.ts";

/** Files in /workspace: read, write, list, delete, upload and download, symlink-safe. */
const filesystem: CapabilityPlugin = {
  name: "filesystem",
  loadBayRoutes: async () => (await import("./bay-routes.ts")).default,
  loadAgent: async () => (await import("./agent.ts")).default,
};

export default filesystem;
