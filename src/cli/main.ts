import { defineCommand } from "citty";
import { COMMIT, VERSION } from "../shared/version.ts";

export const mainCommand = defineCommand({
  meta: {
    name: "bay",
    version: `${VERSION} (${COMMIT})`,
    description:
      "Sandboxes for AI agents: Python, shell and files in containers. bay serve also serves a dashboard at /ui and MCP at /mcp; " +
      "the SDK for Node.js and Bun is the npm package bay-sdk (bun scripts/build-sdk.ts)",
  },
  subCommands: {
    serve: () => import("./serve.ts").then((m) => m.default),
    exec: () => import("./exec.ts").then((m) => m.default),
    sandbox: () => import("./sandbox.ts").then((m) => m.default),
    cargo: () => import("./cargo.ts").then((m) => m.default),
    python: () => import("./python.ts").then((m) => m.default),
    shell: () => import("./shell.ts").then((m) => m.default),
    attach: () => import("./attach.ts").then((m) => m.default),
    call: () => import("./call.ts").then((m) => m.default),
    cp: () => import("./cp.ts").then((m) => m.default),
    gc: () => import("./gc.ts").then((m) => m.default),
    mcp: () => import("./mcp.ts").then((m) => m.default),
    ship: () => import("./ship.ts").then((m) => m.default),
  },
});
