import { Elysia } from "elysia";
import {
  EXECUTION_STREAM_DESCRIPTION,
  bodyOperationHook,
  maxStartWaitMs,
  operationRoute,
  respondToExecution,
  splitHistoryFields,
  type CapabilityRouteContext,
  type ExecutionCall,
  type SessionFacts,
} from "../../src/kit/bay.ts";
import { PYTHON_EXEC } from "./routes.ts";
import { PYTHON_EXEC_OPERATION as EXEC } from "./operations.ts";
import { PYTHON_DEFAULT_TIMEOUT_SECONDS, type PythonExecOutcome } from "./schemas.ts";

/**
 * The first cell of a session that replaced an earlier one (after stop, idle,
 * or a crash) runs in a new kernel: say that the earlier state is gone.
 */
function markKernelRestart(summary: Record<string, unknown>, session: SessionFacts): Record<string, unknown> {
  const firstCell = (summary.data as { execution_count?: number } | undefined)?.execution_count === 1;
  return session.previousSessionId && firstCell ? { ...summary, kernel_restarted: true } : summary;
}

export default function pythonRoutes({ sandboxes, auth }: CapabilityRouteContext) {
  return new Elysia().use(auth).post(
    operationRoute(EXEC),
    ({ principal, params, body, request, set }) => {
      const { request: execution, echo } = splitHistoryFields(body, "code");
      const call: ExecutionCall = {
        sandboxes,
        owner: principal.owner,
        sandboxId: params.id,
        capability: "python",
        route: PYTHON_EXEC,
        body: { ...execution, timeout: execution.timeout ?? PYTHON_DEFAULT_TIMEOUT_SECONDS },
        responseHeaders: set.headers as Record<string, string>,
        maxStartWaitMs: maxStartWaitMs(request),
        annotate: markKernelRestart,
        echo,
      };
      return respondToExecution<PythonExecOutcome>(request, call);
    },
    bodyOperationHook(EXEC, {
      tags: ["python"],
      description:
        "Starts the sandbox's compute if needed (the call waits; no retry needed). Variables and imports persist between calls. " +
        "An exception or a timeout is a 200 with success=false and a plain-text traceback in `error`. " +
        EXECUTION_STREAM_DESCRIPTION,
    }),
  );
}
