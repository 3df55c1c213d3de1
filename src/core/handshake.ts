import { AgentError } from "../shared/errors.ts";
import { AGENT_API_VERSION, WORKSPACE_MOUNT_PATH, type AgentMeta } from "../shared/agent-protocol.ts";

/**
 * The /meta check after every start (seed P0): the agent mounts the
 * workspace where Bay expects it, speaks a compatible API version, and can
 * serve every capability the profile promises.
 */
export function checkHandshake(meta: unknown, requiredCapabilities: string[]): AgentMeta {
  const m = meta as Partial<AgentMeta> | null;
  const mismatches: string[] = [];
  const apiVersion = m?.runtime?.api_version;
  if (typeof apiVersion !== "string" || apiVersion.split(".")[0] !== AGENT_API_VERSION.split(".")[0]) {
    mismatches.push(`api_version ${JSON.stringify(apiVersion)} is not compatible with ${AGENT_API_VERSION}`);
  }
  const mountPath = m?.workspace?.mount_path;
  if (mountPath !== WORKSPACE_MOUNT_PATH) {
    mismatches.push(`workspace.mount_path is ${JSON.stringify(mountPath)}, expected ${WORKSPACE_MOUNT_PATH}`);
  }
  const offered = Object.keys(m?.capabilities ?? {});
  const missing = requiredCapabilities.filter((name) => !offered.includes(name));
  if (missing.length > 0) mismatches.push(`the agent lacks capabilities the profile requires: ${missing.join(", ")}`);

  if (mismatches.length > 0) {
    throw new AgentError(`agent handshake failed: ${mismatches.join("; ")}`, {
      mismatches,
      missing_capabilities: missing,
      runtime_capabilities: offered,
      api_version: apiVersion ?? null,
      mount_path: mountPath ?? null,
    });
  }
  return m as AgentMeta;
}
