import { lstatSync } from "node:fs";
import { BayError, AgentTimeoutError, AgentError, type ErrorCode } from "../shared/errors.ts";
import type { AgentErrorBody } from "../shared/agent-protocol.ts";
import { agentRouteUrl, type AgentRoute, type RouteAnswer, type RouteInput } from "../shared/agent-route.ts";

/**
 * An agent caps every output field, so an answer larger than this means a
 * broken agent; Bay's memory stays bounded whatever the sandbox prints.
 */
export const MAX_AGENT_ANSWER_BYTES = 64 * 1024 * 1024;

/** An agent's error answer is a small envelope; past this much it is not read further. */
export const MAX_AGENT_ERROR_BYTES = 64 * 1024;

/** Connection failures where the request certainly never reached the agent, so retrying runs nothing twice. */
const NOT_REACHED_CODES = new Set(["ECONNREFUSED", "ConnectionRefused", "EHOSTUNREACH", "ENETUNREACH", "FailedToOpenSocket", "ENOENT"]);

/** Agent error codes that mean the caller's request was wrong, so they pass through unchanged. */
const CALLER_ERROR_CODES = new Set<string>([
  "validation_error",
  "invalid_path",
  "file_not_found",
  "payload_too_large",
  // About what the caller named inside the sandbox (a background process): no such one, not in that state, too many.
  "not_found",
  "conflict",
  "quota_exceeded",
]);

export interface AgentCallOptions {
  /** Abort and answer 504 `timeout` after this long without an answer (for a streamed body: after its last byte). */
  timeoutMs: number;
  /** Extra headers, e.g. Accept: text/event-stream. */
  headers?: Record<string, string>;
}

type AgentBody = { json: unknown } | { stream: ReadableStream<Uint8Array> } | undefined;

/**
 * Talks to one session's agent over HTTP; keep-alive connections are reused
 * by fetch. The endpoint is http://host:port, or unix:///path/agent.sock for
 * sandboxes without a network.
 */
export class AgentClient {
  private readonly baseUrl: string;
  private readonly unixSocket: string | undefined;

  constructor(
    readonly endpoint: string,
    private readonly token: string,
  ) {
    this.unixSocket = endpoint.startsWith("unix://") ? endpoint.slice("unix://".length) : undefined;
    this.baseUrl = this.unixSocket ? "http://agent" : endpoint;
  }

  async health(timeoutMs: number): Promise<boolean> {
    try {
      this.checkSocket("GET /health");
      const response = await fetch(`${this.baseUrl}/health`, { signal: AbortSignal.timeout(timeoutMs), unix: this.unixSocket });
      await response.arrayBuffer();
      return response.ok;
    } catch {
      return false;
    }
  }

  /** Calls a capability's declared route with its input, answering its declared JSON answer. */
  async call<R extends AgentRoute>(route: R, input: RouteInput<R>, options: AgentCallOptions): Promise<RouteAnswer<R>> {
    const url = agentRouteUrl(route, input);
    const body = route.inputIn === "body" ? { json: input } : undefined;
    return parseJson<RouteAnswer<R>>(await this.request(route.method, url, body, options), route.key);
  }

  /** Calls a declared route whose input is in the query, sending `bytes` as its body as they arrive (uploads). */
  async send<R extends AgentRoute>(route: R, input: RouteInput<R>, bytes: ReadableStream<Uint8Array>, options: AgentCallOptions): Promise<RouteAnswer<R>> {
    // The body is the bytes, so the route must take its input in the query.
    if (route.method !== "POST" || route.inputIn !== "query") throw new TypeError(`${route.key} does not take a byte stream`);
    return this.postStream<RouteAnswer<R>>(agentRouteUrl(route, input), bytes, options);
  }

  /** A declared route's successful response, for the caller to stream on (downloads, event streams). */
  async openRoute<R extends AgentRoute>(route: R, input: RouteInput<R>, options: AgentCallOptions): Promise<Response> {
    return this.open(route.method, agentRouteUrl(route, input), route.inputIn === "body" ? input : undefined, options);
  }

  async get<T>(path: string, options: AgentCallOptions): Promise<T> {
    return parseJson<T>(await this.request("GET", path, undefined, options), `GET ${path}`);
  }

  private async post<T>(path: string, body: unknown, options: AgentCallOptions): Promise<T> {
    return parseJson<T>(await this.request("POST", path, { json: body }, options), `POST ${path}`);
  }

  /** Sends `body` as it arrives (uploads): Bay holds none of it. */
  private async postStream<T>(path: string, body: ReadableStream<Uint8Array>, options: AgentCallOptions): Promise<T> {
    return parseJson<T>(await this.request("POST", path, { stream: body }, options), `POST ${path}`);
  }

  /**
   * A successful response whose body the caller streams on (downloads, event
   * streams). The timeout covers only the wait for the response to begin.
   */
  private async open(method: "GET" | "POST", path: string, body: unknown, options: AgentCallOptions): Promise<Response> {
    return this.request(method, path, body === undefined ? undefined : { json: body }, options, false);
  }

  private async request(method: string, path: string, body: AgentBody, options: AgentCallOptions, bodyCoveredByTimeout = true): Promise<Response> {
    const route = `${method} ${path}`;
    const controller = new AbortController();
    let timer: Timer | undefined;
    const startTimer = () => (timer ??= setTimeout(() => controller.abort(new DOMException("timeout", "TimeoutError")), options.timeoutMs));
    // A streamed body takes as long as its sender (who is timed at Bay's edge): the agent's time starts after its last byte.
    const requestBody = body === undefined ? undefined : "json" in body ? JSON.stringify(body.json) : whenSent(body.stream, startTimer);
    if (!(body && "stream" in body)) startTimer();
    let response: Response;
    try {
      this.checkSocket(route);
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        unix: this.unixSocket,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body && "json" in body ? { "content-type": "application/json" } : {}),
          ...(body && "stream" in body ? { "content-type": "application/octet-stream" } : {}),
          ...options.headers,
        },
        body: requestBody,
        signal: controller.signal,
      });
      // An answer before the last byte (an early error) is timed from here.
      startTimer();
      if (!bodyCoveredByTimeout) clearTimeout(timer);
      if (!response.ok) throw await errorFrom(response, route);
      return bodyCoveredByTimeout ? new Response(await readBounded(response, route), response) : response;
    } catch (error) {
      if (error instanceof BayError) throw error;
      if (controller.signal.aborted) {
        throw new AgentTimeoutError(`the sandbox's agent did not answer within ${options.timeoutMs} ms`, { runtime_route: route });
      }
      const reached = !NOT_REACHED_CODES.has((error as { code?: string }).code ?? "");
      throw new AgentError(
        reached ? "the sandbox's agent dropped the connection" : "the sandbox's agent cannot be reached",
        { runtime_route: route, connection: true, reached },
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The socket of a sandbox without a network lies in a directory the
   * sandbox shares: Bay connects only to a socket there, never through a
   * symlink to something else on the host.
   */
  private checkSocket(route: string): void {
    if (!this.unixSocket) return;
    let stats;
    try {
      stats = lstatSync(this.unixSocket);
    } catch (error) {
      throw new AgentError("the sandbox's agent cannot be reached", { runtime_route: route, connection: true, reached: false }, { cause: error });
    }
    if (!stats.isSocket()) {
      throw new AgentError(`the agent's socket is ${stats.isSymbolicLink() ? "a symlink" : "not a socket"}; Bay does not connect to it`, {
        runtime_route: route,
        reached: false,
      });
    }
  }
}

/** Passes `stream` on and calls `sent` once its last byte has been taken. */
function whenSent(stream: ReadableStream<Uint8Array>, sent: () => void): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await reader.read();
        if (!done) return controller.enqueue(value);
        sent();
        controller.close();
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}

/** The body, or at most `limitBytes` of it and `complete: false`; the rest is never read. */
async function readAtMost(response: Response, limitBytes: number): Promise<{ bytes: Buffer; complete: boolean }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body?.getReader();
  if (!reader) return { bytes: Buffer.alloc(0), complete: true };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { bytes: Buffer.concat(chunks), complete: true };
    size += value.byteLength;
    if (size > limitBytes) {
      await reader.cancel().catch(() => undefined);
      chunks.push(value.subarray(0, value.byteLength - (size - limitBytes)));
      return { bytes: Buffer.concat(chunks), complete: false };
    }
    chunks.push(value);
  }
}

async function readBounded(response: Response, route: string): Promise<Uint8Array> {
  const { bytes, complete } = await readAtMost(response, MAX_AGENT_ANSWER_BYTES);
  if (!complete) throw new AgentError(`the sandbox's agent answered with more than ${MAX_AGENT_ANSWER_BYTES} bytes`, { runtime_route: route });
  return bytes;
}

async function parseJson<T>(response: Response, route: string): Promise<T> {
  const text = await response.text();
  try {
    return (text ? JSON.parse(text) : null) as T;
  } catch {
    throw new AgentError("the sandbox's agent answered with invalid JSON", { runtime_route: route });
  }
}

/** The agent answers errors in the contract's envelope; caller mistakes pass through, the rest is ship_error. */
async function errorFrom(response: Response, route: string): Promise<BayError> {
  const { bytes, complete } = await readAtMost(response, MAX_AGENT_ERROR_BYTES).catch(() => ({ bytes: Buffer.alloc(0), complete: true }));
  if (!complete) {
    return new AgentError(`the sandbox's agent answered HTTP ${response.status} with an error body over ${MAX_AGENT_ERROR_BYTES} bytes`, {
      runtime_route: route,
      runtime_status: response.status,
    });
  }
  const text = bytes.toString("utf8");
  let error: AgentErrorBody["error"] | undefined;
  try {
    error = (JSON.parse(text) as AgentErrorBody).error;
  } catch {
    error = undefined;
  }
  if (error && CALLER_ERROR_CODES.has(error.code)) {
    return new BayError(error.code as ErrorCode, error.message, error.details ?? {});
  }
  return new AgentError(`the sandbox's agent answered HTTP ${response.status}: ${error?.message ?? text.slice(0, 200)}`, {
    runtime_route: route,
    runtime_status: response.status,
    runtime_code: error?.code ?? null,
  });
}
