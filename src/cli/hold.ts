import { defineCommand } from "citty";
import { consola } from "consola";
import { holdNetwork, type AgentListener } from "../agent/network-holder.ts";

export default defineCommand({
  meta: {
    name: "hold",
    description: "Hold a network namespace for a sandbox to join (the Docker driver's network slots run this; not for direct use)",
    hidden: true,
  },
  args: {
    "ready-seconds": { type: "string", description: "End after this long unless a sandbox's agent has listened meanwhile", required: true },
    "agent-port": { type: "string", description: "The TCP port the sandbox's agent listens on" },
    "agent-socket": { type: "string", description: "The unix socket the sandbox's agent listens on (sandboxes without network)" },
  },
  async run({ args }) {
    const readySeconds = Number(args["ready-seconds"]);
    const port = Number(args["agent-port"]);
    const agent: AgentListener | null = args["agent-socket"] ? { socket: args["agent-socket"] } : Number.isInteger(port) && port > 0 ? { port } : null;
    if (!(readySeconds > 0) || agent === null) {
      consola.error("hold: needs --ready-seconds > 0 and one of --agent-port or --agent-socket");
      process.exit(2);
    }
    // The engine stops a holder with SIGTERM (or SIGKILL); as PID 1 it has to say that SIGTERM ends it.
    process.on("SIGTERM", () => process.exit(0));
    const why = await holdNetwork({ readySeconds, agent });
    consola.info(`hold: done, ${why}`);
    process.exit(0);
  },
});
