/**
 * The front-door kit: everything a front door (front-doors/<name>/) may use
 * from Bay: the core's sandbox service and API keys, the auth plugin, the
 * config, the errors of the contract. docs/architecture.md, "Adding a front
 * door", shows the whole.
 */
export type { FrontDoor, FrontDoorContext, FrontDoorFactory, FrontDoorSource } from "../api/front-door-context.ts";
export type { Principal } from "../core/api-keys.ts";
export type { SandboxView } from "../core/views.ts";
export { streamOf, streamedBodyRoute } from "../api/streamed-body.ts";
export { BayError } from "../shared/errors.ts";
export { errorEnvelope } from "../api/error-response.ts";
export { authenticate } from "../api/auth.ts";
export { DEFAULT_PROFILE_ID } from "../core/config/index.ts";
export type { BayConfig } from "../core/config/index.ts";
export { parseMemory } from "../core/resources.ts";
export { parseEventStream } from "../shared/sse.ts";
