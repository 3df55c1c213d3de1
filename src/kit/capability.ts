import type { BayRoutesFactory } from "../api/capability-context.ts";
import type { AgentCapabilityFactory } from "../agent/capability.ts";

export { agentRoute, type AgentRoute } from "../shared/agent-route.ts";

/**
 * A capability is one folder under plugins/: its agent routes declared once
 * (routes.ts, with agentRoute), a Bay half and an agent half, each loaded
 * lazily so that `bay ship` never loads the API stack and `bay serve` never
 * loads agent code. docs/architecture.md shows how to add one.
 */
export interface CapabilityPlugin {
  /** The folder name under plugins/, and what profiles list in `capabilities`. */
  name: string;
  loadBayRoutes(): Promise<BayRoutesFactory>;
  loadAgent(): Promise<AgentCapabilityFactory>;
}
