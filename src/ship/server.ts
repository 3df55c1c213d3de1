import { timingSafeEqual } from "node:crypto";
import { chmodSync, rmSync } from "node:fs";
import { consola } from "consola";
import { loadCapabilityPlugins } from "../core/plugins.ts";
import { VERSION } from "../version.ts";
import type { AgentCapability, AgentRouteHandler } from "./capability.ts";
import { BayError } from "../core/errors.ts";
import { bayErrorResponse, errorResponse, jsonResponse } from "./http.ts";
import { dropPrivileges } from "./privileges.ts";
import { SHIP_API_VERSION, SHIP_TOKEN_ENV, type ShipMeta } from "./protocol.ts";

export interface ShipOptions {
  port: number;
  host: string;
  /** A unix socket path to listen on instead of host:port. */
  socket?: string;
  token: string;
  workspace: string;
  /** HOME for user code; outside /workspace so that dotfiles do not clutter it. */
  home: string;
  maxOutputBytes: number;
}

export interface RunningShip {
  port: number;
  meta: ShipMeta;
  stop(): Promise<void>;
}

/** Starts the in-sandbox agent: drops privileges, detects capabilities, serves HTTP. */
export async function startShip(options: ShipOptions): Promise<RunningShip> {
  const dropped = dropPrivileges(options.workspace, options.home);
  const env = userEnvironment(process.env, options.home);
  const capabilities: Record<string, AgentCapability> = {};
  const routes = new Map<string, AgentRouteHandler>();

  for (const plugin of await loadCapabilityPlugins()) {
    const factory = await plugin.loadAgent();
    const capability = await factory({ workspace: options.workspace, env, maxOutputBytes: options.maxOutputBytes });
    if (!capability) continue;
    capabilities[plugin.name] = capability;
    for (const [route, handler] of Object.entries(capability.routes)) routes.set(route, handler);
  }

  const meta: ShipMeta = {
    runtime: { name: "bay-ship", version: VERSION, api_version: SHIP_API_VERSION },
    workspace: { mount_path: options.workspace },
    capabilities: Object.fromEntries(Object.entries(capabilities).map(([name, c]) => [name, c.info])),
  };
  const expectedToken = Buffer.from(`Bearer ${options.token}`);

  const handle = async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname;
    if (request.method === "GET" && path === "/health") return jsonResponse({ status: "ok" });
    if (!hasToken(request, expectedToken)) return errorResponse(401, "unauthorized", "missing or wrong session token");
    if (request.method === "GET" && path === "/meta") return jsonResponse(meta);
    const handler = routes.get(`${request.method} ${path}`);
    if (!handler) return errorResponse(404, "not_found", `no route ${request.method} ${path}`);
    try {
      return await handler(request);
    } catch (error) {
      if (error instanceof BayError) return bayErrorResponse(error);
      consola.error(`ship: ${request.method} ${path} failed`, error);
      return errorResponse(500, "internal_error", "the agent failed to handle the request");
    }
  };
  if (options.socket) rmSync(options.socket, { force: true });
  // Executions may run for minutes without sending a byte: no idle timeout, on either kind of server.
  // (Bun's types leave idleTimeout out for unix sockets, but the default 10 s applies there too.)
  const server = options.socket
    ? Bun.serve({ unix: options.socket, idleTimeout: 0, fetch: handle } as unknown as Parameters<typeof Bun.serve>[0])
    : Bun.serve({ port: options.port, hostname: options.host, idleTimeout: 0, fetch: handle });

  // Bay may run as another user than the sandbox's; the token, not the file mode, guards the agent.
  if (options.socket) chmodSync(options.socket, 0o666);
  consola.info(
    `ship: listening on ${options.socket ?? `${options.host}:${server.port}`} as uid ${process.getuid?.()}${dropped ? " (dropped from root)" : ""}; capabilities: ${Object.keys(capabilities).join(", ") || "none"}`,
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

function hasToken(request: Request, expected: Buffer): boolean {
  const given = Buffer.from(request.headers.get("authorization") ?? "");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The container's environment minus the agent's own secrets, with HOME for the sandbox user. */
export function userEnvironment(environment: Record<string, string | undefined>, home: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(environment)) {
    if (value !== undefined && key !== SHIP_TOKEN_ENV && !key.startsWith("BAY_")) env[key] = value;
  }
  env.HOME = home;
  env.PATH ??= "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  env.PYTHONUNBUFFERED = "1";
  env.IPYTHONDIR = `${home}/.ipython`;
  env.MPLCONFIGDIR = `${home}/.matplotlib`;
  return env;
}
