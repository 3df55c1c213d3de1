import type { SandboxService } from "../core/sandbox-service.ts";
import { newId } from "../core/ids.ts";
import { timedStep } from "../core/request-context.ts";
import { OversizedEventError, eventStreamResponse, parseEventStream, wantsEventStream } from "../shared/sse.ts";
import { BayError } from "../shared/errors.ts";
import type { AgentRoute } from "../shared/agent-route.ts";

export interface ExecutionCall {
  sandboxes: SandboxService;
  owner: string;
  sandboxId: string;
  capability: string;
  /** The capability's declared agent route, e.g. POST /ipython/exec. */
  route: AgentRoute;
  body: { timeout: number } & Record<string, unknown>;
  /** Headers already set for this response (X-Request-Id). */
  responseHeaders: Record<string, string>;
  /** From Prefer: wait=N; see prefer-wait.ts. */
  maxStartWaitMs?: number;
  /** For code that needs something only a running session has (a Python context): never start one, fail with this. */
  notRunning?: () => Error;
  /** Adds what only Bay knows to the agent's summary (e.g. that an earlier session's state is gone). */
  annotate?: (summary: Record<string, unknown>, session: SessionFacts) => Record<string, unknown>;
  /** Request fields the answer repeats (the code, for a client that asked with include_code). */
  echo?: Record<string, unknown>;
}

export interface ExecutionHistoryFields {
  include_code?: boolean;
  description?: string | null;
  tags?: string | null;
}

/**
 * Splits shipyard-neo's history fields (EXECUTION_HISTORY_FIELDS) off an
 * execution request: what the agent runs, and what the answer repeats,
 * `echoField` (code or command) when include_code asked for it.
 */
export function splitHistoryFields<T extends ExecutionHistoryFields>(
  body: T,
  echoField: Exclude<keyof T, keyof ExecutionHistoryFields> & string,
): { request: Omit<T, keyof ExecutionHistoryFields>; echo: Record<string, unknown> } {
  const { include_code: includeCode, description: _description, tags: _tags, ...request } = body;
  return { request, echo: includeCode ? { [echoField]: body[echoField] } : {} };
}

/** The final answer: the agent's summary, Bay's annotations, the echoed request fields and the execution id. */
function finalAnswer(call: ExecutionCall, summary: Record<string, unknown>, session: SessionFacts, executionId: string): Record<string, unknown> {
  return { ...(call.annotate ? call.annotate(summary, session) : summary), ...call.echo, execution_id: executionId };
}

/** What an annotation may know of the session that ran the call. */
export interface SessionFacts {
  /** The session this one replaced (after a stop, an idle reap or a crash), if any. */
  previousSessionId: string | null;
}

/**
 * Answers an execution route: a stream for clients that accept
 * text/event-stream, else JSON. (Two promise types, not one promise of a
 * union, is what Elysia's handler typing accepts.)
 */
export function respondToExecution<T extends object>(
  request: Request,
  call: ExecutionCall,
): Promise<Response> | Promise<T & { execution_id: string }> {
  return wantsEventStream(request) ? executeAsEventStream(call) : executeForJson<T>(call);
}

/** What the agent gets beyond the code's own timeout to stop it and answer. */
const ANSWER_MARGIN_MS = 10_000;

/** How long a stream may take to begin: the agent answers headers before running code. */
const STREAM_OPEN_TIMEOUT_MS = 30_000;

/** Runs code through the agent and answers with its outcome plus a fresh execution id. */
export async function executeForJson<T extends object>(call: ExecutionCall): Promise<T & { execution_id: string }> {
  const outcome = await call.sandboxes.withAgent(
    call.owner,
    call.sandboxId,
    call.capability,
    async (agent, session) => {
      const summary = await timedStep("exec", () => agent.call(call.route, call.body, { timeoutMs: call.body.timeout * 1000 + ANSWER_MARGIN_MS }));
      return finalAnswer(call, summary as Record<string, unknown>, session, newId("execution"));
    },
    { maxStartWaitMs: call.maxStartWaitMs, notRunning: call.notRunning },
  );
  return outcome as T & { execution_id: string };
}

/**
 * The same execution for clients that send Accept: text/event-stream: the
 * agent's events are relayed live, and the final `done` carries the JSON
 * answer with the execution id.
 */
export async function executeAsEventStream(call: ExecutionCall): Promise<Response> {
  const executionId = newId("execution");
  return call.sandboxes.streamFromAgent(
    call.owner,
    call.sandboxId,
    call.capability,
    async (agent, session) => {
      const upstream = await agent.openRoute(call.route, call.body, {
        timeoutMs: STREAM_OPEN_TIMEOUT_MS,
        headers: { accept: "text/event-stream" },
      });
      return eventStreamResponse((send, signal) => relayEvents(upstream, session, call, executionId, send, signal), call.responseHeaders);
    },
    { maxStartWaitMs: call.maxStartWaitMs, notRunning: call.notRunning },
  );
}

/** The agent's events, relayed at the client's pace; the final `done` gains Bay's annotations and the execution id. */
async function relayEvents(
  upstream: Response,
  session: SessionFacts,
  call: ExecutionCall,
  executionId: string,
  send: (event: string, data: unknown) => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  const body = upstream.body;
  if (!body) throw new BayError("ship_error", "the agent answered without a stream", {});
  let done = false;
  try {
    // Awaiting each send holds the agent's stream to the client's pace; the client leaving cancels it.
    for await (const event of parseEventStream(body, { signal })) {
      if (event.event === "done") {
        done = true;
        const summary = event.data as Record<string, unknown>;
        await send("done", finalAnswer(call, summary, session, executionId));
      } else {
        await send(event.event, event.data);
      }
    }
  } catch (error) {
    if (signal.aborted) return;
    if (error instanceof OversizedEventError) {
      await send("error", { code: "ship_error", message: `the agent sent an event larger than ${error.limitBytes} bytes` });
      return;
    }
    throw error;
  }
  if (!done && !signal.aborted) {
    await send("error", { code: "ship_error", message: "the agent ended the stream before the execution finished" });
  }
}
