import { Type } from "@sinclair/typebox";
import type { BayRoutesFactory } from "../api/capability-context.ts";
import type { AgentCapabilityFactory } from "../agent/capability.ts";
import type { SandboxOperation } from "../shared/sandbox-operation.ts";

export { agentRoute, type AgentRoute } from "../shared/agent-route.ts";
export { sandboxOperation, type OperationTool, type SandboxOperation } from "../shared/sandbox-operation.ts";
export { ENVIRONMENT_NAME } from "../shared/environment.ts";
export { BayError } from "../shared/errors.ts";

const historyNote = "Accepted for shipyard-neo's clients, which send it with every call; Bay keeps no execution history";

/**
 * shipyard-neo's execution-history fields, which its SDK sends with every
 * python and shell call: an execution request schema spreads these into its
 * properties; the Bay half splits them off (splitHistoryFields) before the agent runs the call.
 */
export const EXECUTION_HISTORY_FIELDS = {
  include_code: Type.Optional(Type.Boolean({ description: "Echo the code or command in the answer, as shipyard-neo does" })),
  description: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: historyNote })),
  tags: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: historyNote })),
};

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
