import { Elysia, t } from "elysia";
import {
  BayError,
  EXECUTION_STREAM_DESCRIPTION,
  checkEnvironmentNames,
  answerWhenStopped,
  SandboxParams,
  bodyOperationHook,
  capabilityRouteErrors,
  queryOperationHook,
  queryStringSchema,
  relayedEventStream,
  maxStartWaitMs,
  normalizeWorkspacePath,
  operationRoute,
  respondToExecution,
  splitHistoryFields,
  agentCaller,
  agentStreamer,
  callerOf,
  wantsEventStream,
  type CapabilityRouteContext,
  type ExecutionCall,
} from "../../src/kit/bay.ts";
import type { AgentRoute } from "../../src/kit/capability.ts";
import {
  PROCESS_CLOSE_STDIN,
  PROCESS_LIST,
  PROCESS_OUTPUT,
  PROCESS_RESIZE,
  PROCESS_SIGNAL,
  PROCESS_START,
  PROCESS_STATUS,
  PROCESS_STDIN,
  PROCESS_STREAM,
  PROCESS_WAIT,
  SHELL_EXEC,
} from "./routes.ts";
import {
  SHELL_EXEC_OPERATION as EXEC,
  PROCESS_CLOSE_STDIN_OPERATION,
  PROCESS_GET_OPERATION,
  PROCESS_LIST_OPERATION,
  PROCESS_OUTPUT_OPERATION,
  PROCESS_RESIZE_OPERATION,
  PROCESS_SIGNAL_OPERATION,
  PROCESS_START_OPERATION,
  PROCESS_STDIN_OPERATION,
  PROCESS_WAIT_OPERATION,
} from "./operations.ts";
import { processCommandOf } from "./process-command.ts";
import { ProcessStreamQuery, SHELL_DEFAULT_TIMEOUT_SECONDS, type ShellExecOutcome } from "./schemas.ts";

/** Process calls answer at once, except wait (at most its own timeout) and the stream. */
const PROCESS_CALL_TIMEOUT_MS = 30_000;
const processTags = ["processes"];

/** A process lives only in a running session: asking about one never starts compute. */
const noSuchProcess = (pid: number) => () =>
  new BayError("not_found", `process ${pid} not found: the sandbox has no running session (processes end with it)`, { pid });

export default function shellRoutes({ sandboxes, auth }: CapabilityRouteContext) {
  const onAgent = agentCaller(sandboxes, "shell");
  const streamOnAgent = agentStreamer(sandboxes, "shell");
  const timeout = { timeoutMs: PROCESS_CALL_TIMEOUT_MS };
  /** A call about one existing process, whose pid its input (body or query) names: never made to a stopped sandbox, which has none. */
  const aboutProcess =
    (route: AgentRoute) =>
    (context: Parameters<typeof callerOf>[0] & { body?: unknown; query?: unknown }) => {
      const input = (context.body ?? context.query) as { pid: number };
      return onAgent(callerOf(context), (agent) => agent.call(route, input as never, timeout), noSuchProcess(input.pid));
    };

  return new Elysia()
    .use(auth)
    .post(
      operationRoute(EXEC),
      ({ principal, params, body, request, set }) => {
        checkEnvironmentNames(body.env);
        const { request: execution, echo } = splitHistoryFields(body, "command");
        const call: ExecutionCall = {
          sandboxes,
          owner: principal.owner,
          sandboxId: params.id,
          capability: "shell",
          route: SHELL_EXEC,
          body: {
            ...execution,
            cwd: execution.cwd === undefined ? undefined : normalizeWorkspacePath(execution.cwd, "cwd"),
            timeout: execution.timeout ?? SHELL_DEFAULT_TIMEOUT_SECONDS,
          },
          responseHeaders: set.headers as Record<string, string>,
          maxStartWaitMs: maxStartWaitMs(request),
          echo,
        };
        return respondToExecution<ShellExecOutcome>(request, call);
      },
      bodyOperationHook(EXEC, {
        tags: ["shell"],
        description:
          "The command runs as the sandbox user in its own process group, in `cwd` (relative to /workspace). " +
          "On timeout the whole group is killed, exit_code is -1 and the output so far is returned. " +
          "A non-zero exit is a 200 with success=false. " +
          EXECUTION_STREAM_DESCRIPTION,
      }),
    )
    .post(
      operationRoute(PROCESS_START_OPERATION),
      (context) => {
        const { body, request } = context;
        checkEnvironmentNames(body.env);
        processCommandOf(body);
        const input = { ...body, cwd: body.cwd === undefined ? undefined : normalizeWorkspacePath(body.cwd, "cwd") };
        if (!wantsEventStream(request)) return onAgent(callerOf(context), (agent) => agent.call(PROCESS_START, input, timeout));
        return streamOnAgent(callerOf(context), async (agent) =>
          relayedEventStream(await agent.openRoute(PROCESS_START, input, { ...timeout, headers: { accept: "text/event-stream" } }), context.set.headers),
        );
      },
      bodyOperationHook(PROCESS_START_OPERATION, {
        tags: processTags,
        description:
          "Starts `command` (by the shell) or `argv` (no shell) as the sandbox user in a process group of its own (with `pty`: in a terminal) and answers at once. " +
          "It runs until it exits, its `timeout` passes, or the sandbox's session ends (stop, idle timeout, delete). " +
          "Its output is kept (the last ship.max_output_bytes of it) for …/processes/output and …/processes/stream. " +
          "With Accept: text/event-stream the answer follows it instead: a `start` event with the process, then the events of " +
          "…/processes/stream until `exit`. Leaving the stream does not stop the process.",
      }),
    )
    .get(
      operationRoute(PROCESS_LIST_OPERATION),
      (context) => answerWhenStopped((notRunning) => onAgent(callerOf(context), (agent) => agent.call(PROCESS_LIST, {}, timeout), notRunning), { items: [] }),
      queryOperationHook(PROCESS_LIST_OPERATION, { tags: processTags, description: "A sandbox without a running session has none (and none is started)." }),
    )
    .get(
      operationRoute(PROCESS_GET_OPERATION),
      aboutProcess(PROCESS_STATUS),
      queryOperationHook(PROCESS_GET_OPERATION, { tags: processTags }),
    )
    .get(
      operationRoute(PROCESS_OUTPUT_OPERATION),
      aboutProcess(PROCESS_OUTPUT),
      queryOperationHook(PROCESS_OUTPUT_OPERATION, { tags: processTags }),
    )
    .post(
      operationRoute(PROCESS_STDIN_OPERATION),
      aboutProcess(PROCESS_STDIN),
      bodyOperationHook(PROCESS_STDIN_OPERATION, { tags: processTags, description: "409 conflict when the process has exited or its stdin is closed." }),
    )
    .post(
      operationRoute(PROCESS_CLOSE_STDIN_OPERATION),
      aboutProcess(PROCESS_CLOSE_STDIN),
      bodyOperationHook(PROCESS_CLOSE_STDIN_OPERATION, { tags: processTags }),
    )
    .post(
      operationRoute(PROCESS_SIGNAL_OPERATION),
      aboutProcess(PROCESS_SIGNAL),
      bodyOperationHook(PROCESS_SIGNAL_OPERATION, { tags: processTags, description: "409 conflict when the process has already exited." }),
    )
    .post(
      operationRoute(PROCESS_RESIZE_OPERATION),
      aboutProcess(PROCESS_RESIZE),
      bodyOperationHook(PROCESS_RESIZE_OPERATION, { tags: processTags, description: "409 conflict for a process without a terminal." }),
    )
    .post(
      operationRoute(PROCESS_WAIT_OPERATION),
      (context) => {
        const waitMs = (context.body.timeout ?? 30) * 1000;
        return onAgent(callerOf(context), (agent) => agent.call(PROCESS_WAIT, context.body, { timeoutMs: waitMs + PROCESS_CALL_TIMEOUT_MS }), noSuchProcess(context.body.pid));
      },
      bodyOperationHook(PROCESS_WAIT_OPERATION, { tags: processTags }),
    )
    .get(
      "/v1/sandboxes/:id/processes/stream",
      (context) => {
        const { query } = context;
        return streamOnAgent(
          callerOf(context),
          async (agent) => relayedEventStream(await agent.openRoute(PROCESS_STREAM, query, { timeoutMs: PROCESS_CALL_TIMEOUT_MS }), context.set.headers),
          noSuchProcess(query.pid),
        );
      },
      {
        params: SandboxParams,
        query: queryStringSchema(ProcessStreamQuery),
        response: { 200: t.Any({ description: "text/event-stream" }), ...capabilityRouteErrors },
        detail: {
          summary: "Follow a process's output as server-sent events",
          tags: processTags,
          description:
            "Events `stdout`, `stderr` or `pty` with `{seq, data}` (text, or base64 with encoding=base64), `dropped` `{bytes}` when " +
            "output before the first event is no longer kept, and finally `exit` with the process's state. Reconnect with " +
            "`after` set to the last seq received to resume without loss (as long as the output is still kept).",
        },
      },
    );
}
