/**
 * What Bay and its in-sandbox agent agree on. Both sides are the same binary,
 * so these constants cannot drift; a profile that points at another runtime
 * must speak the same /meta shape.
 */
export const AGENT_API_VERSION = "1";
export const AGENT_DEFAULT_PORT = 8123;
export const WORKSPACE_MOUNT_PATH = "/workspace";
/** Where an agent started by hand (or by another control plane) may get its session token; Bay uses a file instead. */
export const AGENT_TOKEN_ENV = "BAY_SHIP_TOKEN";
/** Inside the container: where the session's directory is mounted (root's, 0700): the token file, and the socket of network "none". */
export const AGENT_SESSION_DIR = "/run/bay";
export const AGENT_TOKEN_FILE_NAME = "token";
export const AGENT_SOCKET_NAME = "agent.sock";
/** Unprivileged identity that user code runs as inside the sandbox: shipyard-neo's user, uid/gid and home. */
export const SANDBOX_UID = 1000;
export const SANDBOX_GID = 1000;
export const SANDBOX_USER_NAME = "shipyard";
export const SANDBOX_HOME = WORKSPACE_MOUNT_PATH;
/** In the workspace: the profile's environment as shell exports, rewritten at every start (shipyard-neo's file). */
export const PROFILE_ENV_FILE = ".bay_env.sh";
/** Variables Bay sets for the agent alone; user code never sees them, and no profile may set them. */
export const AGENT_INTERNAL_ENV: readonly string[] = [AGENT_TOKEN_ENV];
/**
 * The only capabilities a sandbox container gets (all others are dropped),
 * all for the agent, none for user code: CHOWN hands the fresh volume to
 * uid 1000; SETUID and SETGID switch between the agent's root and the
 * sandbox user; SETPCAP empties the bounding set of user code.
 */
export const AGENT_CAPABILITIES: readonly string[] = ["CHOWN", "SETGID", "SETPCAP", "SETUID"];

/**
 * How user code is kept apart from the agent:
 * - `no_capabilities`: uid/gid 1000 through setpriv, empty bounding set, no_new_privs;
 * - `uid_only`: uid/gid 1000, but the bounding set is the container's (no setpriv
 *   in the image, or the container lacks SETPCAP);
 * - `same_as_agent`: the agent was not started as root, so user code shares its uid.
 */
export type UserIsolation = "no_capabilities" | "uid_only" | "same_as_agent";

export interface AgentMeta {
  runtime: { name: string; version: string; api_version: string };
  workspace: { mount_path: string };
  /** Who user code runs as, and how far it is kept from the agent (see UserIsolation). */
  sandbox_user: { uid: number; gid: number; isolation: UserIsolation };
  capabilities: Record<string, Record<string, unknown>>;
  /** How long each capability took to get ready as the agent started (a Python kernel's start), in ms. */
  startup_ms?: Record<string, number>;
}

/** The agent answers errors in the same envelope as Bay (api.md §2). */
export interface AgentErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}
