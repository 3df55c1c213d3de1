/**
 * The driver kit: everything a driver (drivers/<name>/) may use from Bay.
 * A driver imports from here and from its own folder, nothing else of Bay
 * (test/unit/layering.test.ts holds it to that). What a driver must do is
 * written in src/core/driver.ts and proven by test/drivers/contract.ts.
 */
export type {
  ContainerEndEvent,
  ContainerInfo,
  Driver,
  DriverContext,
  DriverPlugin,
  EventSubscription,
  Labels,
  SandboxRuntime,
  SessionContainerSpec,
  StartedContainer,
  VolumeInfo,
} from "../core/driver.ts";
export { describeContainerEnd } from "../core/container-end.ts";
export { LABEL } from "../core/labels.ts";
export { KeyedMutex } from "../core/keyed-mutex.ts";
export { logProgress } from "../core/logging.ts";
export { timed } from "../shared/timing.ts";
export { NON_PUBLIC_IPV4_RANGES, type EgressPolicy, type EgressRule } from "../core/network-policy.ts";
export { AgentError, BayError, ConfigError } from "../shared/errors.ts";
export {
  AGENT_CAPABILITIES,
  AGENT_SESSION_DIR,
  AGENT_SOCKET_NAME,
  SANDBOX_GID,
  SANDBOX_HOME,
  SANDBOX_UID,
  SANDBOX_USER_NAME,
  WORKSPACE_MOUNT_PATH,
} from "../shared/agent-protocol.ts";
