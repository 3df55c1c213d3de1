import { Elysia } from "elysia";
import {
  BayError,
  EXECUTION_STREAM_DESCRIPTION,
  answerWhenStopped,
  bodyOperationHook,
  queryOperationHook,
  maxStartWaitMs,
  normalizeWorkspacePath,
  operationRoute,
  respondToExecution,
  splitHistoryFields,
  agentCaller,
  callerOf,
  type CapabilityRouteContext,
  type ExecutionCall,
  type SessionFacts,
} from "../../src/kit/bay.ts";
import { CONTEXT_CREATE, CONTEXT_DELETE, CONTEXT_LIST, CONTEXT_RESTART, PYTHON_EXEC } from "./routes.ts";
import {
  CONTEXT_CREATE_OPERATION,
  CONTEXT_DELETE_OPERATION,
  CONTEXT_LIST_OPERATION,
  CONTEXT_RESTART_OPERATION,
  PYTHON_EXEC_OPERATION as EXEC,
} from "./operations.ts";
import { PYTHON_DEFAULT_TIMEOUT_SECONDS, type PythonExecOutcome } from "./schemas.ts";

/**
 * The first cell of a session that replaced an earlier one (after stop, idle,
 * or a crash) runs in a new kernel: say that the earlier state is gone.
 */
function markKernelRestart(summary: Record<string, unknown>, session: SessionFacts): Record<string, unknown> {
  const firstCell = (summary.data as { execution_count?: number } | undefined)?.execution_count === 1;
  return session.previousSessionId && firstCell ? { ...summary, kernel_restarted: true } : summary;
}

/** Context calls answer at once (a restart: once the old kernel is gone). */
const CONTEXT_CALL_TIMEOUT_MS = 30_000;
const tags = ["python"];

/** A context lives only in a running session: using one never starts compute. */
const noSuchContext = (id: string) => () =>
  new BayError("not_found", `python context ${id} not found: the sandbox has no running session (contexts end with it)`, { context_id: id });

export default function pythonRoutes({ sandboxes, auth }: CapabilityRouteContext) {
  const onAgent = agentCaller(sandboxes, "python");
  const timeout = { timeoutMs: CONTEXT_CALL_TIMEOUT_MS };

  return new Elysia()
    .use(auth)
    .post(
      operationRoute(EXEC),
      ({ principal, params, body, request, set }) => {
        const { request: execution, echo } = splitHistoryFields(body, "code");
        const contextId = execution.context_id;
        const call: ExecutionCall = {
          sandboxes,
          owner: principal.owner,
          sandboxId: params.id,
          capability: "python",
          route: PYTHON_EXEC,
          body: { ...execution, timeout: execution.timeout ?? PYTHON_DEFAULT_TIMEOUT_SECONDS },
          responseHeaders: set.headers as Record<string, string>,
          maxStartWaitMs: maxStartWaitMs(request),
          notRunning: contextId && contextId !== "default" ? noSuchContext(contextId) : undefined,
          annotate: markKernelRestart,
          echo,
        };
        return respondToExecution<PythonExecOutcome>(request, call);
      },
      bodyOperationHook(EXEC, {
        tags,
        description:
          "Starts the sandbox's compute if needed (the call waits; no retry needed). Variables and imports persist between calls. " +
          "An exception or a timeout is a 200 with success=false and a plain-text traceback in `error`. With `context_id`, the code runs " +
          "in that context's kernel (404 when it does not exist; it never starts a stopped sandbox). " +
          EXECUTION_STREAM_DESCRIPTION,
      }),
    )
    .post(
      operationRoute(CONTEXT_CREATE_OPERATION),
      (context) => {
        const cwd = context.body.cwd === undefined ? undefined : normalizeWorkspacePath(context.body.cwd, "cwd");
        return onAgent(callerOf(context), (agent) => agent.call(CONTEXT_CREATE, { cwd }, timeout));
      },
      bodyOperationHook(CONTEXT_CREATE_OPERATION, { tags, description: "Starts the sandbox's compute if needed. At most 16 contexts (429 quota_exceeded)." }),
    )
    .get(
      operationRoute(CONTEXT_LIST_OPERATION),
      (context) => answerWhenStopped((notRunning) => onAgent(callerOf(context), (agent) => agent.call(CONTEXT_LIST, {}, timeout), notRunning), { items: [] }),
      queryOperationHook(CONTEXT_LIST_OPERATION, { tags }),
    )
    .post(
      operationRoute(CONTEXT_RESTART_OPERATION),
      (context) => onAgent(callerOf(context), (agent) => agent.call(CONTEXT_RESTART, context.body, timeout), noSuchContext(context.body.id)),
      bodyOperationHook(CONTEXT_RESTART_OPERATION, { tags }),
    )
    .delete(
      operationRoute(CONTEXT_DELETE_OPERATION),
      (context) => onAgent(callerOf(context), (agent) => agent.call(CONTEXT_DELETE, context.query, timeout), noSuchContext(context.query.id)),
      queryOperationHook(CONTEXT_DELETE_OPERATION, { tags, description: "409 conflict for the default context." }),
    );
}
