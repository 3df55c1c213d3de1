/** The agent-side half of a capability plugin. */
export type AgentRouteHandler = (request: Request) => Promise<Response>;

export interface AgentContext {
  /** /workspace inside a sandbox. */
  workspace: string;
  /** Environment for user code: the container's, minus the agent's secrets. */
  env: Record<string, string>;
  /** Cap for each output field, in bytes. */
  maxOutputBytes: number;
}

export interface AgentCapability {
  /** Reported under capabilities.<name> in /meta. */
  info: Record<string, unknown>;
  /** Keyed "METHOD /path", e.g. "POST /ipython/exec". */
  routes: Record<string, AgentRouteHandler>;
  close(): Promise<void>;
}

/** Returns null when this agent cannot serve the capability (e.g. no python3). */
export type AgentCapabilityFactory = (context: AgentContext) => Promise<AgentCapability | null>;

/** What the agent needs of a capability plugin (src/kit/capability.ts has the whole). */
export interface AgentCapabilitySource {
  name: string;
  loadAgent(): Promise<AgentCapabilityFactory>;
}
