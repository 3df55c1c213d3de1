import { defineCommand } from "citty";
import { COMMIT, VERSION } from "../version.ts";

export const mainCommand = defineCommand({
  meta: { name: "bay", version: `${VERSION} (${COMMIT})`, description: "Sandboxes for AI agents: Python, shell and files in containers" },
  subCommands: {
    serve: () => import("./serve.ts").then((m) => m.default),
    ship: () => import("./ship.ts").then((m) => m.default),
  },
});
