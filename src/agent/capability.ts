import type { AgentRoute, RouteInput } from "../shared/agent-route.ts";

/**
 * Serves one declared route. The agent has checked the input against the
 * route's schema (defaults filled) before calling; an object answered is
 * sent as JSON, a Response as it is (streams, downloads).
 */
export interface AgentHandler<R extends AgentRoute = AgentRoute> {
  route: R;
  serve(input: RouteInput<R>, request: Request): Promise<Response | object>;
}

export function handle<R extends AgentRoute>(route: R, serve: (input: RouteInput<R>, request: Request) => Promise<Response | object>): AgentHandler {
  return { route, serve } as AgentHandler;
}

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
  /** One per route the plugin declares. */
  handlers: AgentHandler[];
  close(): Promise<void>;
}

/** Returns null when this agent cannot serve the capability (e.g. no python3). */
export type AgentCapabilityFactory = (context: AgentContext) => Promise<AgentCapability | null>;

/** What the agent needs of a capability plugin (src/kit/capability.ts has the whole). */
export interface AgentCapabilitySource {
  name: string;
  loadAgent(): Promise<AgentCapabilityFactory>;
}
