import type { BayRoutesFactory } from "../api/capability-context.ts";
import type { AgentCapabilityFactory } from "../agent/capability.ts";

/**
 * A capability is one folder under plugins/: Bay-side routes and agent-side
 * handlers, each loaded lazily so that `bay ship` never loads the API stack
 * and `bay serve` never loads agent code.
 */
export interface CapabilityPlugin {
  /** The folder name under plugins/, and what profiles list in `capabilities`. */
  name: string;
  loadBayRoutes(): Promise<BayRoutesFactory>;
  loadAgent(): Promise<AgentCapabilityFactory>;
}
