import { Elysia, t } from "elysia";
import {
  BayError,
  DEFAULT_PROFILE_ID,
  streamOf,
  streamedBodyRoute,
  type FrontDoorFactory,
  type Principal,
  type SandboxView,
} from "../../src/kit/front-door.ts";
import { SandboxCalls } from "./bay-calls.ts";
import { ConnectError, readRequestEnvelope, readUnaryRequest, streamAnswer, unaryAnswer, unaryError } from "./connect-protocol.ts";
import * as interpreter from "./code-interpreter.ts";
import { readFile, writeFiles } from "./envd-files.ts";
import * as files from "./envd-filesystem.ts";
import * as processes from "./envd-process.ts";
import { controlErrorResponse, unauthorized } from "./errors.ts";
import { createdShape, detailShape, type E2bState } from "./sandbox-shape.ts";

/** E2B's default lifetime of a sandbox created without `timeout`. */
const DEFAULT_TIMEOUT_SECONDS = 300;
/** E2B's own template names, which map to Bay's default profile so that `Sandbox.create()` works as it is. */
const DEFAULT_TEMPLATES = new Set(["base", "code-interpreter-v1", "code-interpreter", "desktop"]);
const LIST_LIMIT_MAX = 200;

const CreateBody = t.Object(
  {
    templateID: t.Optional(t.String()),
    timeout: t.Optional(t.Integer({ minimum: 1 })),
    metadata: t.Optional(t.Record(t.String(), t.String())),
    envVars: t.Optional(t.Record(t.String(), t.String())),
  },
  // The SDKs send more (secure, allow_internet_access, network, autoPause, …): accepted, and not acted on.
  { additionalProperties: true },
);
const TimeoutBody = t.Object({ timeout: t.Integer({ minimum: 0 }) }, { additionalProperties: true });
const ConnectBody = t.Optional(t.Object({ timeout: t.Optional(t.Integer({ minimum: 0 })) }, { additionalProperties: true }));
const ListQuery = t.Object({
  metadata: t.Optional(t.String()),
  state: t.Optional(t.String()),
  limit: t.Optional(t.Integer({ minimum: 1, maximum: LIST_LIMIT_MAX })),
  nextToken: t.Optional(t.String()),
});
const Params = t.Object({ id: t.String({ minLength: 1 }) });

/**
 * E2B's control API (create, connect, get, list, kill, timeout, pause) on
 * Bay's sandboxes: a template is a profile, `timeout` a TTL, `metadata` and
 * `envVars` Bay's own metadata and env, pause is Bay's stop (files kept,
 * memory not) and connect resumes. docs/e2b.md has the whole mapping.
 */
/** Where E2B's SDKs send in-sandbox traffic with E2B_SANDBOX_URL=http://HOST:8114/e2b/sandbox, told apart by headers. */
const SANDBOX_PREFIX = "/e2b/sandbox";
/** envd's port, and the code interpreter's. */
const ENVD_PORT = "49983";
const INTERPRETER_PORT = "49999";

const createE2bFrontDoor: FrontDoorFactory = ({ sandboxes, apiKeys, auth, config, callBay }) => {
  const profileFor = (template: string | undefined): string => {
    if (!template || DEFAULT_TEMPLATES.has(template)) return DEFAULT_PROFILE_ID;
    if (config.profiles.some((profile) => profile.id === template)) return template;
    throw new BayError("not_found", `template ${template} not found: Bay serves its profiles (${config.profiles.map((p) => p.id).join(", ")}) as templates`, {
      template,
    });
  };
  const stateOf = (owner: string, sandbox: SandboxView): E2bState => (sandboxes.stoppedOnRequest(owner, sandbox.id) ? "paused" : "running");

  const create = async (principal: Principal, body: typeof CreateBody.static, set: { status?: number | string }) => {
    const sandbox = await sandboxes.create(principal.owner, {
      profile: profileFor(body.templateID),
      ttl: body.timeout ?? DEFAULT_TIMEOUT_SECONDS,
      metadata: body.metadata,
      env: body.envVars,
    });
    set.status = 201;
    return createdShape(sandbox, sandboxes.issueAccessToken(principal.owner, sandbox.id));
  };

  /** Resumes a paused sandbox (201) or answers a running one (200); a timeout only ever lengthens its life. */
  const connect = async (principal: Principal, id: string, timeout: number | undefined, set: { status?: number | string }) => {
    const current = sandboxes.get(principal.owner, id);
    const paused = stateOf(principal.owner, current) === "paused";
    const seconds = timeout || DEFAULT_TIMEOUT_SECONDS;
    const expires = current.expires_at === null ? Infinity : Date.parse(current.expires_at);
    if (expires < Date.now() + seconds * 1000) sandboxes.setTimeout(principal.owner, id, seconds);
    const started = await sandboxes.start(principal.owner, id);
    set.status = paused ? 201 : 200;
    return createdShape(started, sandboxes.issueAccessToken(principal.owner, id));
  };

  /** The sandbox an in-sandbox request is for, as the E2b-Sandbox-Id header names it (its token was checked in authenticate). */
  const callsFor = (principal: Principal, request: Request, port = ENVD_PORT) => {
    if (request.headers.get("e2b-sandbox-port") !== port) {
      throw new ConnectError("unimplemented", `port ${request.headers.get("e2b-sandbox-port")} does not serve ${new URL(request.url).pathname}`, 404);
    }
    return new SandboxCalls(callBay, principal, request.headers.get("e2b-sandbox-id") ?? "");
  };
  type RpcContext = { principal: Principal; request: Request; body: unknown };
  type RpcHandler = (context: RpcContext) => Response | Promise<Response>;
  const unary = (handler: (calls: SandboxCalls, message: Record<string, unknown>) => Promise<object>): RpcHandler =>
    async ({ principal, request, body }) => {
      try {
        return unaryAnswer(await handler(callsFor(principal, request), await readUnaryRequest(streamOf(body))));
      } catch (error) {
        return unaryError(error);
      }
    };
  const streaming = (
    handler: (calls: SandboxCalls, message: Record<string, unknown>, request: Request, send: (message: object) => void, signal: AbortSignal) => Promise<void>,
  ): RpcHandler =>
    ({ principal, request, body }) =>
      streamAnswer(async (send, signal) => handler(callsFor(principal, request), await readRequestEnvelope(streamOf(body)), request, send, signal));
  const timeoutOf = (request: Request) => Number(request.headers.get("connect-timeout-ms") ?? 0) || 0;
  const PROCESS: Record<string, RpcHandler> = {
    Start: streaming((calls, message, request, send, signal) => processes.startProcess(calls, message, timeoutOf(request), send, signal)),
    Connect: streaming((calls, message, _, send, signal) => processes.connectProcess(calls, message, send, signal)),
    List: unary((calls) => processes.listProcesses(calls)),
    SendInput: unary(processes.sendInput),
    SendSignal: unary(processes.sendSignal),
    CloseStdin: unary(processes.closeStdin),
    Update: unary(processes.updateProcess),
  };
  const FILESYSTEM: Record<string, RpcHandler> = {
    Stat: unary(files.stat),
    ListDir: unary(files.listDirectory),
    MakeDir: unary(files.makeDirectory),
    Move: unary(files.move),
    Remove: unary(files.remove),
    WatchDir: streaming((calls, message, _, send, signal) => files.watchDirectory(calls, message, send, signal)),
  };
  const rpc = (methods: Record<string, RpcHandler>) =>
    (context: RpcContext & { params: Record<string, string> }) => {
      const handler = methods[context.params.method ?? ""];
      return handler ? handler(context) : unaryError(new ConnectError("unimplemented", `${context.params.method} is not served by Bay`, 404));
    };

  const routes = new Elysia({ prefix: "/e2b" })
    .use(auth)
    .post("/sandboxes", ({ principal, body, set }) => create(principal, body, set), { body: CreateBody })
    .post("/v2/sandboxes", ({ principal, body, set }) => create(principal, body, set), { body: CreateBody })
    .post("/sandboxes/:id/connect", ({ principal, params, body, set }) => connect(principal, params.id, body?.timeout, set), { params: Params, body: ConnectBody })
    .post("/v2/sandboxes/:id/connect", ({ principal, params, body, set }) => connect(principal, params.id, body?.timeout, set), { params: Params, body: ConnectBody })
    .get("/sandboxes/:id", ({ principal, params }) => {
      const sandbox = sandboxes.get(principal.owner, params.id);
      return detailShape(sandbox, stateOf(principal.owner, sandbox), config);
    }, { params: Params })
    .get("/v2/sandboxes", ({ principal, query, set }) => {
      const page = sandboxes.list(principal.owner, {
        limit: query.limit ?? 100,
        cursor: query.nextToken || undefined,
        metadata: bayMetadataFilter(query.metadata),
      });
      const states = new Set((query.state ?? "running,paused").split(",").map((state) => state.trim()));
      if (page.next_cursor) set.headers["x-next-token"] = page.next_cursor;
      return page.items
        .map((sandbox) => detailShape(sandbox, stateOf(principal.owner, sandbox), config))
        .filter((sandbox) => states.has(sandbox.state));
    }, { query: ListQuery })
    .delete("/sandboxes/:id", async ({ principal, params, set }) => {
      // A sandbox already gone is E2B's 404, which its SDK's kill() answers with false.
      sandboxes.get(principal.owner, params.id);
      await sandboxes.delete(principal.owner, params.id);
      set.status = 204;
    }, { params: Params })
    .post("/sandboxes/:id/timeout", ({ principal, params, body, set }) => {
      sandboxes.setTimeout(principal.owner, params.id, Math.max(1, body.timeout));
      set.status = 204;
    }, { params: Params, body: TimeoutBody })
    .post("/sandboxes/:id/pause", async ({ principal, params, set }) => {
      const sandbox = sandboxes.get(principal.owner, params.id);
      if (stateOf(principal.owner, sandbox) === "paused") {
        throw new BayError("conflict", `sandbox ${params.id} is already paused`, { sandbox_id: params.id });
      }
      await sandboxes.stop(principal.owner, params.id);
      set.status = 204;
    }, { params: Params })
    .get("/sandboxes/:id/metrics", ({ principal, params }) => {
      sandboxes.get(principal.owner, params.id);
      return [];
    }, { params: Params })
    .post(streamedBodyRoute(`${SANDBOX_PREFIX}/process.Process/:method`).slice("/e2b".length), rpc(PROCESS), { params: t.Object({ method: t.String() }) })
    .post(streamedBodyRoute(`${SANDBOX_PREFIX}/filesystem.Filesystem/:method`).slice("/e2b".length), rpc(FILESYSTEM), { params: t.Object({ method: t.String() }) })
    .get(`${SANDBOX_PREFIX.slice("/e2b".length)}/health`, ({ set }) => {
      set.status = 204;
    })
    .get(`${SANDBOX_PREFIX.slice("/e2b".length)}/files`, ({ principal, request }) => readFile(callsFor(principal, request), new URL(request.url)))
    .post(`${SANDBOX_PREFIX.slice("/e2b".length)}/execute`, ({ principal, request, body }) =>
      interpreter.execute(callsFor(principal, request, INTERPRETER_PORT), (body ?? {}) as Parameters<typeof interpreter.execute>[1]),
    )
    .post(`${SANDBOX_PREFIX.slice("/e2b".length)}/contexts`, ({ principal, request, body }) =>
      interpreter.createContext(callsFor(principal, request, INTERPRETER_PORT), (body ?? {}) as { language?: string; cwd?: string }),
    )
    .get(`${SANDBOX_PREFIX.slice("/e2b".length)}/contexts`, ({ principal, request }) => interpreter.listContexts(callsFor(principal, request, INTERPRETER_PORT)))
    .delete(`${SANDBOX_PREFIX.slice("/e2b".length)}/contexts/:context`, ({ principal, request, params }) =>
      interpreter.removeContext(callsFor(principal, request, INTERPRETER_PORT), params.context),
    )
    // Its body is empty though it says JSON: read as a stream, never parsed.
    .post(
      streamedBodyRoute(`${SANDBOX_PREFIX}/contexts/:context/restart`).slice("/e2b".length),
      ({ principal, request, params }) => interpreter.restartContext(callsFor(principal, request, INTERPRETER_PORT), params.context),
      { params: t.Object({ context: t.String() }) },
    )
    .post(streamedBodyRoute(`${SANDBOX_PREFIX}/files`).slice("/e2b".length), async ({ principal, request, body }) => {
      const form = await new Response(streamOf(body), { headers: { "content-type": request.headers.get("content-type") ?? "" } }).formData();
      return writeFiles(callsFor(principal, request), new URL(request.url), form as unknown as FormData);
    });

  return {
    routes,
    authenticate(request) {
      if (isSandboxTraffic(request)) {
        // The code interpreter sends only the traffic token on /contexts; both are the sandbox's one token.
        const token = request.headers.get("x-access-token") ?? request.headers.get("e2b-traffic-access-token") ?? "";
        const owner = sandboxes.ownerForAccessToken(request.headers.get("e2b-sandbox-id") ?? "", token);
        if (!owner) throw new BayError("unauthorized", "missing or invalid X-Access-Token for the sandbox named by E2b-Sandbox-Id");
        return { owner, admin: false };
      }
      const key = request.headers.get("x-api-key");
      const principal = key ? apiKeys.authenticate(`Bearer ${key}`) : null;
      if (!principal) throw unauthorized();
      return principal;
    },
    // envd's RPCs answer Connect errors; its /files and the control API answer {code, message}.
    errorResponse: (error, _, request) => (isSandboxRpc(request) ? unaryError(error) : controlErrorResponse(error)),
  };
};

function isSandboxRpc(request: Request): boolean {
  return isSandboxTraffic(request) && /\/(process\.Process|filesystem\.Filesystem)\//.test(new URL(request.url).pathname);
}

function isSandboxTraffic(request: Request): boolean {
  const path = new URL(request.url).pathname;
  return path === SANDBOX_PREFIX || path.startsWith(`${SANDBOX_PREFIX}/`);
}

/**
 * E2B's list filter: its SDKs encode each key and value, join the pairs as a
 * form, and encode that again as the query value (decoded once by the
 * router); Bay's filter takes the pairs as a form.
 */
export function bayMetadataFilter(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const pairs = [...new URLSearchParams(value)].map(([key, entry]): [string, string] => [safeDecode(key), safeDecode(entry)]);
  return new URLSearchParams(pairs).toString();
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export default createE2bFrontDoor;
