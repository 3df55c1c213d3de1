import type { AgentClient } from "../core/agent-client.ts";
import type { Principal } from "../core/api-keys.ts";
import type { SandboxService } from "../core/sandbox-service.ts";
import { maxStartWaitMs } from "./prefer-wait.ts";

/** Who calls, on which sandbox, with which request (for Prefer: wait). */
export interface Caller {
  owner: string;
  id: string;
  request: Request;
}

export function callerOf(context: { principal: Principal; params: { id: string }; request: Request }): Caller {
  return { owner: context.principal.owner, id: context.params.id, request: context.request };
}

/**
 * How a capability's routes call the agent of the caller's sandbox: waiting
 * for a start as long as Prefer: wait allows; with `notRunning`, only while
 * a session runs (for what lives only there), and no session is started.
 */
export function agentCaller(sandboxes: SandboxService, capability: string) {
  return <T>(caller: Caller, call: (agent: AgentClient) => Promise<T>, notRunning?: () => Error): Promise<T> =>
    sandboxes.withAgent(caller.owner, caller.id, capability, call, { maxStartWaitMs: maxStartWaitMs(caller.request), notRunning });
}

/**
 * The same for a call whose answer streams on after it returns (an event
 * stream, a download): `open` gives the agent's response, and the sandbox
 * counts as busy until its body is read to the end or abandoned.
 */
export function agentStreamer(sandboxes: SandboxService, capability: string) {
  return (caller: Caller, open: (agent: AgentClient) => Promise<Response>, notRunning?: () => Error): Promise<Response> =>
    sandboxes.streamFromAgent(caller.owner, caller.id, capability, open, { maxStartWaitMs: maxStartWaitMs(caller.request), notRunning });
}
