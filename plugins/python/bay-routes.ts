import { Elysia } from "elysia";
import type { CapabilityRouteContext } from "../../src/api/capability-context.ts";
import { SandboxParams, capabilityRouteErrors } from "../../src/api/schemas.ts";
import { newId } from "../../src/core/ids.ts";
import { PYTHON_DEFAULT_TIMEOUT_SECONDS, PythonExecOutcome, PythonExecRequest, PythonExecResponse } from "./schemas.ts";

/** Time the agent gets beyond the code's own timeout to interrupt it and answer. */
const ANSWER_MARGIN_MS = 10_000;

export default function pythonRoutes({ sandboxes, auth }: CapabilityRouteContext) {
  return new Elysia().use(auth).post(
    "/v1/sandboxes/:id/python/exec",
    async ({ principal, params, body }) => {
      const timeout = body.timeout ?? PYTHON_DEFAULT_TIMEOUT_SECONDS;
      const outcome = await sandboxes.withRuntime(principal.owner, params.id, "python", (ship) =>
        ship.post<PythonExecOutcome>("/ipython/exec", { ...body, timeout }, { timeoutMs: timeout * 1000 + ANSWER_MARGIN_MS }),
      );
      return { ...outcome, execution_id: newId("execution") };
    },
    {
      params: SandboxParams,
      body: PythonExecRequest,
      response: { 200: PythonExecResponse, ...capabilityRouteErrors },
      detail: {
        summary: "Run Python in the sandbox's persistent kernel",
        description:
          "Starts the sandbox's compute if needed (the call waits; no retry needed). Variables and imports persist between calls. " +
          "An exception or a timeout is a 200 with success=false and a plain-text traceback in `error`.",
        tags: ["python"],
      },
    },
  );
}
