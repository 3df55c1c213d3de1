import { Elysia, t } from "elysia";
import { streamOf, streamedBodyRoute, type FrontDoorContext, type Principal } from "../../src/kit/front-door.ts";
import { SandboxCalls } from "./bay-calls.ts";
import * as interpreter from "./code-interpreter.ts";
import { ConnectError, readRequestEnvelope, readUnaryRequest, streamAnswer, unaryAnswer, unaryError } from "./connect-protocol.ts";
import { readFile, writeFiles } from "./envd-files.ts";
import * as files from "./envd-filesystem.ts";
import * as processes from "./envd-process.ts";

/** Where E2B's SDKs send in-sandbox traffic with E2B_SANDBOX_URL=http://HOST:8114/e2b/sandbox, told apart by headers. */
export const SANDBOX_PREFIX = "/e2b/sandbox";
/** envd's port, and the code interpreter's. */
const ENVD_PORT = "49983";
const INTERPRETER_PORT = "49999";

/**
 * What E2B's SDKs call inside a sandbox, on Bay's own API as the sandbox's
 * owner: envd's process and filesystem RPCs (Connect), its /files, and the
 * code interpreter. The caller's access token was checked by the door.
 */
export function sandboxRoutes({ callBay, auth }: FrontDoorContext) {
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

  return new Elysia({ prefix: SANDBOX_PREFIX })
    .use(auth)
    .post(streamedBodyRoute(`${SANDBOX_PREFIX}/process.Process/:method`).slice(SANDBOX_PREFIX.length), rpc(PROCESS), { params: t.Object({ method: t.String() }) })
    .post(streamedBodyRoute(`${SANDBOX_PREFIX}/filesystem.Filesystem/:method`).slice(SANDBOX_PREFIX.length), rpc(FILESYSTEM), { params: t.Object({ method: t.String() }) })
    .get("/health", ({ set }) => {
      set.status = 204;
    })
    .get("/files", ({ principal, request }) => readFile(callsFor(principal, request), new URL(request.url)))
    .post("/execute", ({ principal, request, body }) =>
      interpreter.execute(callsFor(principal, request, INTERPRETER_PORT), (body ?? {}) as Parameters<typeof interpreter.execute>[1]),
    )
    .post("/contexts", ({ principal, request, body }) =>
      interpreter.createContext(callsFor(principal, request, INTERPRETER_PORT), (body ?? {}) as { language?: string; cwd?: string }),
    )
    .get("/contexts", ({ principal, request }) => interpreter.listContexts(callsFor(principal, request, INTERPRETER_PORT)))
    .delete("/contexts/:context", ({ principal, request, params }) =>
      interpreter.removeContext(callsFor(principal, request, INTERPRETER_PORT), params.context),
    )
    // Its body is empty though it says JSON: read as a stream, never parsed.
    .post(
      streamedBodyRoute(`${SANDBOX_PREFIX}/contexts/:context/restart`).slice(SANDBOX_PREFIX.length),
      ({ principal, request, params }) => interpreter.restartContext(callsFor(principal, request, INTERPRETER_PORT), params.context),
      { params: t.Object({ context: t.String() }) },
    )
    .post(streamedBodyRoute(`${SANDBOX_PREFIX}/files`).slice(SANDBOX_PREFIX.length), async ({ principal, request, body }) => {
      const form = await new Response(streamOf(body), { headers: { "content-type": request.headers.get("content-type") ?? "" } }).formData();
      return writeFiles(callsFor(principal, request), new URL(request.url), form as unknown as FormData);
    });
}

export function isSandboxRpc(request: Request): boolean {
  return isSandboxTraffic(request) && /\/(process\.Process|filesystem\.Filesystem)\//.test(new URL(request.url).pathname);
}

export function isSandboxTraffic(request: Request): boolean {
  const path = new URL(request.url).pathname;
  return path === SANDBOX_PREFIX || path.startsWith(`${SANDBOX_PREFIX}/`);
}
