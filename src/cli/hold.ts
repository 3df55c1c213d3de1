/**
 * `bay hold`: the process of a network slot's holder container
 * (drivers/docker/network-slots.ts; src/agent/network-holder.ts says when it
 * ends). Internal, and not a citty command: it lives as long as a sandbox,
 * so src/main.ts starts it before loading the command line parser and the
 * logger, which keeps a couple of MB off every sandbox.
 */
import { holdNetwork, type AgentListener } from "../agent/network-holder.ts";

const USAGE = "usage: bay hold --ready-seconds N (--agent-port PORT | --agent-socket PATH)";

/** The holder's options from its arguments, or an error message. */
export function parseHoldArgs(args: string[]): { readySeconds: number; agent: AgentListener } | string {
  const values = new Map<string, string>();
  for (let index = 0; index < args.length; index += 2) {
    const [name, value] = [args[index]!, args[index + 1]];
    if (!["--ready-seconds", "--agent-port", "--agent-socket"].includes(name) || value === undefined) return USAGE;
    values.set(name, value);
  }
  const readySeconds = Number(values.get("--ready-seconds"));
  const port = Number(values.get("--agent-port"));
  const socket = values.get("--agent-socket");
  if (!(readySeconds > 0)) return USAGE;
  if (socket) return { readySeconds, agent: { socket } };
  if (Number.isInteger(port) && port > 0 && port < 65536) return { readySeconds, agent: { port } };
  return USAGE;
}

export async function runHold(args: string[]): Promise<never> {
  const options = parseHoldArgs(args);
  if (typeof options === "string") {
    console.error(options);
    process.exit(2);
  }
  // The engine stops a holder with SIGTERM (or SIGKILL); as PID 1 it has to say that SIGTERM ends it.
  process.on("SIGTERM", () => process.exit(0));
  console.log(`bay hold: done, ${await holdNetwork(options)}`);
  process.exit(0);
}
