import { Elysia } from "elysia";
import type { CapabilityRouteContext } from "../../src/api/capability-context.ts";
import { maxStartWaitMs } from "../../src/api/prefer-wait.ts";
import { respondToExecution, type ExecutionCall } from "../../src/api/execution-proxy.ts";
import { EXECUTION_STREAM_DESCRIPTION, SandboxParams, capabilityRouteErrors } from "../../src/api/schemas.ts";
import { normalizeWorkspacePath } from "../../src/shared/workspace-path.ts";
import { SHELL_DEFAULT_TIMEOUT_SECONDS, checkEnvironmentNames, ShellExecOutcome, ShellExecRequest, ShellExecResponse } from "./schemas.ts";

export default function shellRoutes({ sandboxes, auth }: CapabilityRouteContext) {
  return new Elysia().use(auth).post(
    "/v1/sandboxes/:id/shell/exec",
    ({ principal, params, body, request, set }) => {
      checkEnvironmentNames(body.env);
      const call: ExecutionCall = {
        sandboxes,
        owner: principal.owner,
        sandboxId: params.id,
        capability: "shell",
        agentPath: "/shell/exec",
        body: {
          ...body,
          cwd: body.cwd === undefined ? undefined : normalizeWorkspacePath(body.cwd, "cwd"),
          timeout: body.timeout ?? SHELL_DEFAULT_TIMEOUT_SECONDS,
        },
        responseHeaders: set.headers as Record<string, string>,
        maxStartWaitMs: maxStartWaitMs(request),
      };
      return respondToExecution<ShellExecOutcome>(request, call);
    },
    {
      params: SandboxParams,
      body: ShellExecRequest,
      response: { 200: ShellExecResponse, ...capabilityRouteErrors },
      detail: {
        summary: "Run a shell command in the sandbox",
        description:
          "The command runs as the sandbox user in its own process group, in `cwd` (relative to /workspace). " +
          "On timeout the whole group is killed, exit_code is -1 and the output so far is returned. " +
          "A non-zero exit is a 200 with success=false. " +
          EXECUTION_STREAM_DESCRIPTION,
        tags: ["shell"],
      },
    },
  );
}
