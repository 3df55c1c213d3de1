import { sandboxOperation } from "../../src/kit/capability.ts";
import { ContextSelector, CreateContextRequest, NoInput, PythonContext, PythonContextList, PythonExecRequest, PythonExecResponse, StatusOk } from "./schemas.ts";

/** What clients can do with Python, over the API, the SDK, `bay mcp` and `bay call`. */
export const PYTHON_EXEC_OPERATION = sandboxOperation({
  name: "python.exec",
  method: "POST",
  path: "/python/exec",
  input: PythonExecRequest,
  output: PythonExecResponse,
  summary: "Run Python in the sandbox's persistent kernel",
  streams: true,
  tool: {
    name: "run_python",
    description:
      "Run Python in a persistent kernel (variables survive between calls). Returns printed output and the last expression's value.",
    present: (result) => ({ text: result.success ? result.output : `${result.output}${result.error ?? ""}`, isError: !result.success }),
  },
});

export const CONTEXT_CREATE_OPERATION = sandboxOperation({
  name: "python.context.create",
  method: "POST",
  path: "/python/contexts",
  input: CreateContextRequest,
  output: PythonContext,
  summary: "Make an independent Python kernel (its own variables and working directory); pass its id as context_id",
});

export const CONTEXT_LIST_OPERATION = sandboxOperation({
  name: "python.context.list",
  method: "GET",
  path: "/python/contexts",
  input: NoInput,
  output: PythonContextList,
  summary: "List the Python contexts of the running session (none when no session runs; nothing is started)",
  safeToRepeat: true,
});

export const CONTEXT_RESTART_OPERATION = sandboxOperation({
  name: "python.context.restart",
  method: "POST",
  path: "/python/contexts/restart",
  input: ContextSelector,
  output: PythonContext,
  summary: "Restart a context's kernel: same id and directory, variables gone",
});

export const CONTEXT_DELETE_OPERATION = sandboxOperation({
  name: "python.context.delete",
  method: "DELETE",
  path: "/python/contexts",
  input: ContextSelector,
  output: StatusOk,
  summary: "Delete a context and its kernel (the default one cannot be deleted)",
});

export const PYTHON_OPERATIONS = [
  PYTHON_EXEC_OPERATION,
  CONTEXT_CREATE_OPERATION,
  CONTEXT_LIST_OPERATION,
  CONTEXT_RESTART_OPERATION,
  CONTEXT_DELETE_OPERATION,
];
