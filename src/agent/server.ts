import { timingSafeEqual } from "node:crypto";
import { chmodSync, chownSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { Value } from "@sinclair/typebox/value";
import { consola } from "consola";
import { VERSION } from "../shared/version.ts";
import type { AgentCapability, AgentCapabilitySource, AgentHandler } from "./capability.ts";
import { BayError } from "../shared/errors.ts";
import { bayErrorResponse, checkAgainst, errorResponse, jsonResponse, readBody } from "./http.ts";
import {
  AGENT_API_VERSION,
  AGENT_INTERNAL_ENV,
  SANDBOX_GID,
  SANDBOX_UID,
  SANDBOX_USER_NAME,
  type AgentMeta,
} from "../shared/agent-protocol.ts";
import { writeProfileEnvFile } from "./profile-env.ts";
import { settleAgentIdentity, userIsolation, withRootPrivileges } from "./sandbox-user.ts";

export interface AgentOptions {
  port: number;
  host: string;
  /** A unix socket path to listen on instead of host:port. */
  socket?: string;
  token: string;
  workspace: string;
  /** HOME for user code: the workspace, so that dotfiles and ~ persist with the cargo (as on shipyard-neo). */
  home: string;
  /** Where tools' caches of user code go (IPython, matplotlib): the tmpfs, not the cargo. */
  cacheDir: string;
  /** Names of the profile's variables (the rest of the environment is the image's). */
  profileEnvNames: string[];
  maxOutputBytes: number;
  /** Set for a gVisor sandbox: the most processes user code may have at once (RLIMIT_NPROC), see sandbox-user.ts. */
  maxUserProcesses?: number;
}

export interface RunningAgent {
  port: number;
  meta: AgentMeta;
  stop(): Promise<void>;
}

type FetchHandler = (request: Request) => Promise<Response>;

/** Starts the in-sandbox agent: settles its identity apart from user code's, detects capabilities, serves HTTP. */
export async function startAgent(options: AgentOptions, plugins: readonly AgentCapabilitySource[]): Promise<RunningAgent> {
  const isolation = settleAgentIdentity(options.workspace, options.cacheDir, options.maxUserProcesses);
  const env = userEnvironment(process.env, options.home, options.cacheDir);
  writeProfileEnvFile(options.workspace, options.profileEnvNames, env);
  const capabilities: Record<string, AgentCapability> = {};
  const handlers = new Map<string, AgentHandler>();

  const startupMs: Record<string, number> = {};
  // Side by side: a capability that starts a process (the Python kernel) does not hold up the others.
  const loaded = await Promise.all(
    plugins.map(async (plugin) => {
      const started = performance.now();
      const factory = await plugin.loadAgent();
      const capability = await factory({ workspace: options.workspace, env, maxOutputBytes: options.maxOutputBytes });
      startupMs[plugin.name] = Math.round((performance.now() - started) * 10) / 10;
      return { name: plugin.name, capability };
    }),
  );
  for (const { name, capability } of loaded) {
    if (!capability) continue;
    capabilities[name] = capability;
    for (const handler of capability.handlers) handlers.set(handler.route.key, handler);
  }

  const meta: AgentMeta = {
    runtime: { name: "bay-ship", version: VERSION, api_version: AGENT_API_VERSION },
    workspace: { mount_path: options.workspace },
    sandbox_user: { uid: process.geteuid?.() ?? -1, gid: process.getegid?.() ?? -1, isolation },
    capabilities: Object.fromEntries(Object.entries(capabilities).map(([name, c]) => [name, c.info])),
    startup_ms: startupMs,
  };
  const expectedToken = Buffer.from(`Bearer ${options.token}`);

  const handle = async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname;
    if (request.method === "GET" && path === "/health") return jsonResponse({ status: "ok" });
    if (!hasToken(request, expectedToken)) return errorResponse(401, "unauthorized", "missing or wrong session token");
    if (request.method === "GET" && path === "/meta") return jsonResponse(meta);
    const handler = handlers.get(`${request.method} ${path}`);
    if (!handler) return errorResponse(404, "not_found", `no route ${request.method} ${path}`);
    try {
      const answer = await handler.serve(await inputOf(handler, request), request);
      return answer instanceof Response ? answer : jsonResponse(answer);
    } catch (error) {
      if (error instanceof BayError) return bayErrorResponse(error);
      consola.error(`agent: ${request.method} ${path} failed`, error);
      return errorResponse(500, "internal_error", "the agent failed to handle the request");
    }
  };
  // Bound as root, so that a socket of uid 1000 cannot share the port (SO_REUSEPORT) or the socket directory.
  const server = withRootPrivileges(() =>
    options.socket ? listenOnUnixSocket(options.socket, handle) : listenOnPort(options.port, options.host, handle),
  );
  consola.info(
    `agent: listening on ${options.socket ?? `${options.host}:${server.port}`}; user code runs as uid ${meta.sandbox_user.uid} (${isolation}); capabilities: ${Object.keys(capabilities).join(", ") || "none"}`,
  );

  return {
    port: server.port ?? options.port,
    meta,
    async stop() {
      await server.stop(true);
      await Promise.all(Object.values(capabilities).map((c) => c.close()));
    },
  };
}

/** The route's input, checked against its declared schema: the JSON body, or the query string. */
function inputOf(handler: AgentHandler, request: Request): Promise<unknown> {
  const { route } = handler;
  if (route.inputIn === "body") return readBody(request, route.input);
  // Query values are strings; they are converted to the schema's numbers and booleans before the check.
  return Promise.resolve(checkAgainst(route.input, Value.Convert(route.input, Object.fromEntries(new URL(request.url).searchParams))));
}

// Executions may run for minutes without sending a byte: no idle timeout, on either kind of server.
// Uploads stream through of any size: Bay enforces server.max_body_bytes, the agent takes what Bay sends.
const MAX_AGENT_BODY_BYTES = Number.MAX_SAFE_INTEGER;

function listenOnPort(port: number, hostname: string, fetch: FetchHandler) {
  return Bun.serve({ port, hostname, idleTimeout: 0, maxRequestBodySize: MAX_AGENT_BODY_BYTES, fetch });
}

/**
 * The socket directory is Bay's: root-owned 0700 when Bay runs as root, else
 * Bay's user and group with 0770. Either way the agent (uid 0) may create its
 * socket there and user code (uid 1000) may not touch it; the socket is open
 * to Bay only.
 */
function listenOnUnixSocket(path: string, fetch: FetchHandler) {
  if (userIsolation() === "same_as_agent") {
    rmSync(path, { force: true });
    const server = serveUnix(path, fetch);
    // The agent shares its uid with user code here: nothing to keep apart.
    chmodSync(path, 0o666);
    return server;
  }
  const directory = statSync(dirname(path));
  const bayGroup = directory.uid === 0 ? null : directory.gid;
  if (bayGroup === SANDBOX_GID || directory.uid === SANDBOX_UID) {
    consola.warn(`agent: ${dirname(path)} belongs to uid ${directory.uid}, gid ${directory.gid}, the sandbox user's; user code can reach it`);
  }
  if (bayGroup !== null) process.setgroups!([SANDBOX_GID, bayGroup]);
  try {
    rmSync(path, { force: true });
    const server = bayGroup === null ? serveUnixForRootOnly(path, fetch) : serveUnix(path, fetch);
    if (bayGroup !== null) {
      chownSync(path, 0, bayGroup);
      chmodSync(path, 0o660);
    }
    return server;
  } finally {
    if (bayGroup !== null) process.setgroups!([SANDBOX_GID]);
  }
}

/**
 * A socket made 0600 as it is created, through the umask: gVisor refuses to
 * change the mode of a socket it created on the host (runsc
 * --host-uds=create), but creates it with the umask's mode.
 */
function serveUnixForRootOnly(path: string, fetch: FetchHandler) {
  const previous = process.umask(0o177);
  try {
    return serveUnix(path, fetch);
  } finally {
    process.umask(previous);
  }
}

// Bun's types leave idleTimeout out for unix sockets, but the default 10 s applies there too.
function serveUnix(path: string, fetch: FetchHandler) {
  return Bun.serve({ unix: path, idleTimeout: 0, maxRequestBodySize: MAX_AGENT_BODY_BYTES, fetch } as unknown as Parameters<typeof Bun.serve>[0]);
}

function hasToken(request: Request, expected: Buffer): boolean {
  const given = Buffer.from(request.headers.get("authorization") ?? "");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The container's environment (the image's and the profile's, exactly as
 * configured) minus the agent's own variables, with the sandbox user's
 * HOME, USER and LOGNAME.
 */
export function userEnvironment(environment: Record<string, string | undefined>, home: string, cacheDir: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(environment)) {
    if (value !== undefined && !AGENT_INTERNAL_ENV.includes(key)) env[key] = value;
  }
  env.HOME = home;
  env.USER = SANDBOX_USER_NAME;
  env.LOGNAME = SANDBOX_USER_NAME;
  env.PATH ??= "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  env.PYTHONUNBUFFERED ??= "1";
  env.IPYTHONDIR ??= `${cacheDir}/ipython`;
  env.MPLCONFIGDIR ??= `${cacheDir}/matplotlib`;
  return env;
}
