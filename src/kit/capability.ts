import type { BayRoutesFactory } from "../api/capability-context.ts";
import type { AgentCapabilityFactory } from "../agent/capability.ts";
import type { SandboxOperation } from "../shared/sandbox-operation.ts";

export { agentRoute, type AgentRoute } from "../shared/agent-route.ts";
export { sandboxOperation, type OperationTool, type SandboxOperation } from "../shared/sandbox-operation.ts";

/**
 * A capability is one folder under plugins/: its operations (operations.ts)
 * and agent routes (routes.ts) declared once, a Bay half and an agent half,
 * each loaded lazily so that `bay ship` never loads the API stack and `bay serve` never
 * loads agent code. docs/architecture.md shows how to add one.
 */
export interface CapabilityPlugin {
  /** The folder name under plugins/, and what profiles list in `capabilities`. */
  name: string;
  /** What clients can do with it: the SDK, `bay mcp` and `bay call` take these as they are. */
  operations: readonly SandboxOperation<any, any>[];
  loadBayRoutes(): Promise<BayRoutesFactory>;
  loadAgent(): Promise<AgentCapabilityFactory>;
}
