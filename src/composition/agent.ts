import { startAgent, type AgentOptions, type RunningAgent } from "../agent/server.ts";
import { CAPABILITIES } from "./registry.ts";

/** The agent (`bay ship`) with every installed capability's agent half; loads nothing of Bay's API or core. */
export function startAgentWithPlugins(options: AgentOptions): Promise<RunningAgent> {
  return startAgent(options, CAPABILITIES);
}
