/**
 * What Bay and its in-sandbox agent agree on. Both sides are the same binary,
 * so these constants cannot drift; a profile that points at another runtime
 * must speak the same /meta shape.
 */
export const SHIP_API_VERSION = "1";
export const SHIP_DEFAULT_PORT = 8123;
export const WORKSPACE_MOUNT_PATH = "/workspace";
export const SHIP_TOKEN_ENV = "BAY_SHIP_TOKEN";
/** Inside the container: where the per-session socket directory is mounted (network "none"). */
export const AGENT_SOCKET_DIR = "/run/bay";
export const AGENT_SOCKET_NAME = "agent.sock";
/** Unprivileged identity that user code runs as inside the sandbox. */
export const SANDBOX_UID = 1000;
export const SANDBOX_GID = 1000;

export interface ShipMeta {
  runtime: { name: string; version: string; api_version: string };
  workspace: { mount_path: string };
  capabilities: Record<string, Record<string, unknown>>;
}

/** The agent answers errors in the same envelope as Bay (api.md §2). */
export interface ShipErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}
