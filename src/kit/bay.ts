/**
 * The Bay-side kit: everything a capability's Bay half (plugins/<name>/
 * bay-routes.ts) may take from Bay: the route context, the helpers that
 * relay an execution or a transfer to the agent, the shared schemas of the
 * API, and the errors of the contract.
 */
export type { BayRoutesFactory, CapabilityRouteContext } from "../api/capability-context.ts";
export { respondToExecution, splitHistoryFields, type ExecutionCall, type SessionFacts } from "../api/execution-proxy.ts";
export { multipartBoundary, multipartParts, partText } from "../api/multipart-stream.ts";
export { bodyOperationHook, queryOperationHook, queryStringSchema } from "../api/operation-hooks.ts";
export { maxStartWaitMs } from "../api/prefer-wait.ts";
export { relayedEventStream, relayedResponse } from "../api/relayed-response.ts";
export { agentCaller, agentStreamer, callerOf, type Caller } from "../api/agent-caller.ts";
export { answerWhenStopped } from "../api/when-stopped.ts";
export { EXECUTION_STREAM_DESCRIPTION, SandboxParams, capabilityRouteErrors } from "../api/schemas.ts";
export { streamOf, streamedBodyRoute } from "../api/streamed-body.ts";
export type { AgentClient } from "../core/agent-client.ts";
export type { Principal } from "../core/api-keys.ts";
export { AgentError, BayError, ValidationError } from "../shared/errors.ts";
export { checkEnvironmentNames } from "../shared/environment.ts";
export { operationRoute } from "../shared/sandbox-operation.ts";
export { normalizeWorkspacePath } from "../shared/workspace-path.ts";
export { wantsEventStream } from "../shared/sse.ts";
