/**
 * The agent-side kit: everything a capability's agent half (plugins/<name>/
 * agent.ts and what it uses) may take from Bay. It runs inside the sandbox,
 * in `bay ship`.
 */
export { handle, type AgentCapability, type AgentCapabilityFactory, type AgentContext } from "../agent/capability.ts";
export { executionResponse, type EmitEvent } from "../agent/execution.ts";
export { OutputBuffer } from "../agent/output-buffer.ts";
export { killSandboxProcessGroup, signalSandboxProcess, spawnAsSandboxUser, spawnSyncAsSandboxUser } from "../agent/sandbox-user.ts";
export { Workspace, type ResolvedPath } from "../agent/workspace.ts";
export { BayError } from "../shared/errors.ts";
export { eventStreamResponse, wantsEventStream } from "../shared/sse.ts";
export { invalidPath } from "../shared/workspace-path.ts";
