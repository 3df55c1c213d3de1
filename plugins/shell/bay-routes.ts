import { Elysia } from "elysia";
import {
  EXECUTION_STREAM_DESCRIPTION,
  bodyOperationHook,
  ValidationError,
  maxStartWaitMs,
  normalizeWorkspacePath,
  operationRoute,
  respondToExecution,
  splitHistoryFields,
  type CapabilityRouteContext,
  type ExecutionCall,
} from "../../src/kit/bay.ts";
import { SHELL_EXEC } from "./routes.ts";
import { SHELL_EXEC_OPERATION as EXEC } from "./operations.ts";
import { ENVIRONMENT_NAME, SHELL_DEFAULT_TIMEOUT_SECONDS, type ShellExecOutcome } from "./schemas.ts";

/**
 * Names that no shell could use are refused by name. (The request schema
 * says the same, but Elysia drops keys that fail a record's key pattern
 * instead of rejecting them.)
 */
function checkEnvironmentNames(env: Record<string, string> | undefined): void {
  for (const name of Object.keys(env ?? {})) {
    if (!ENVIRONMENT_NAME.test(name)) {
      throw new ValidationError(`env name ${JSON.stringify(name)} is not a valid variable name`, { field: `env.${name}` });
    }
  }
}

export default function shellRoutes({ sandboxes, auth }: CapabilityRouteContext) {
  return new Elysia().use(auth).post(
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
  );
}
